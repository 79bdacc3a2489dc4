-- Every update Telegram delivers is committed here before Telegram is told it was received
-- (the next getUpdates offset, or the webhook's 200). Handling works from it; an update is
-- done once its handling has run. What was handled is purged after a day, text and all.

CREATE TABLE inbox (
    update_id   INTEGER PRIMARY KEY,
    chat_key    INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    payload     TEXT,
    state       TEXT    NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'done', 'poison')),
    urgent      INTEGER NOT NULL DEFAULT 0 CHECK (urgent IN (0, 1)),
    attempts    INTEGER NOT NULL DEFAULT 0,
    handled_at  INTEGER
);
CREATE INDEX inbox_pending ON inbox (update_id) WHERE state = 'pending';
CREATE INDEX inbox_handled ON inbox (handled_at) WHERE state != 'pending';
