-- Several instances on one database (PostgreSQL). Each running process registers itself
-- and marks what it claims, so that a live instance's work in flight is never mistaken for
-- the work of one that died. (On SQLite one process runs at a time, and it is the only
-- live instance.)

CREATE TABLE instances (
    id         INTEGER PRIMARY KEY,
    started_at INTEGER NOT NULL,
    pid        INTEGER NOT NULL,
    -- The machine (container) it runs on, and when it last showed it was working: an
    -- instance that holds its locks but stopped working (hung) is taken for dead.
    host       TEXT NOT NULL DEFAULT '',
    seen_at    INTEGER
);

-- The instance that claimed a check-in for sending; only a dead instance's unconfirmed
-- sends are flagged uncertain.
ALTER TABLE checkins ADD COLUMN claimed_by INTEGER;
CREATE INDEX checkins_unconfirmed ON checkins (claimed_by) WHERE delivery = 'unconfirmed';

-- Which instance stored an update, and which one is handling it: a live instance's updates
-- are its own, a dead one's are adopted.
ALTER TABLE inbox ADD COLUMN received_by INTEGER;
ALTER TABLE inbox ADD COLUMN handled_by INTEGER;

-- A direct question not yet sent is claimed until this time by the dispatcher sending it.
ALTER TABLE safety_questions ADD COLUMN send_after INTEGER;
