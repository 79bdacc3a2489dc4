-- Messages that must get out ahead of everything and be retried until delivered: crisis
-- replies to patients, and staff messages that could not be kept as alerts (about someone
-- with no patient record, or written when an alert could not be stored). A chat id of NULL
-- means the staff chat, resolved when sent. Sent ones are purged after a day.

CREATE TABLE urgent_outbox (
    id              INTEGER PRIMARY KEY,
    chat_id         INTEGER,
    text            TEXT    NOT NULL,
    priority        INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 9),
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER
);
CREATE INDEX urgent_outbox_due ON urgent_outbox (priority, next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX urgent_outbox_sent ON urgent_outbox (sent_at) WHERE sent_at IS NOT NULL;
