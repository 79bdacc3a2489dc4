-- Silence reaches the care team: when a patient's status last changed (how long they have
-- been paused, or away), and one staff message per silence event (an event key on the
-- alert, unique). URGENT alerts are escalated to the on-call staff: when, and how often.
-- The staff roster: members added by a one-time link, on call or not, removed or not.

ALTER TABLE patients ADD COLUMN status_changed_at INTEGER;
UPDATE patients SET status_changed_at = coalesce(consent_at, created_at);

ALTER TABLE alerts ADD COLUMN event_key TEXT;
CREATE UNIQUE INDEX alerts_event ON alerts (event_key) WHERE event_key IS NOT NULL;
ALTER TABLE alerts ADD COLUMN escalate_at INTEGER;
ALTER TABLE alerts ADD COLUMN escalations INTEGER NOT NULL DEFAULT 0;
CREATE INDEX alerts_escalate ON alerts (escalate_at)
    WHERE escalate_at IS NOT NULL AND acknowledged_at IS NULL;

CREATE TABLE staff_members (
    id                INTEGER PRIMARY KEY,
    name              TEXT    NOT NULL,
    telegram_user_id  INTEGER UNIQUE,
    token_hash        TEXT    UNIQUE,
    expires_at        INTEGER NOT NULL,
    on_call           INTEGER NOT NULL DEFAULT 0 CHECK (on_call IN (0, 1)),
    added_by          INTEGER NOT NULL,
    added_at          INTEGER NOT NULL,
    joined_at         INTEGER,
    removed_at        INTEGER,
    created_update_id INTEGER UNIQUE
);
CREATE UNIQUE INDEX staff_members_name ON staff_members (lower(name)) WHERE removed_at IS NULL;
