-- Episodes of concern, staff alerts with their delivery state, clinic-level values that
-- change at run time (the staff chat after a supergroup migration), and the audit log.

CREATE TABLE episodes (
    id          INTEGER PRIMARY KEY,
    patient_id  INTEGER NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL,
    since       INTEGER NOT NULL,
    detected_at INTEGER NOT NULL,
    explanation TEXT    NOT NULL,
    ended_at    INTEGER,
    end_reason  TEXT,
    ended_by    INTEGER
);
-- One open episode per patient and kind: the database itself prevents alert storms.
CREATE UNIQUE INDEX episodes_one_open ON episodes (patient_id, kind) WHERE ended_at IS NULL;
CREATE INDEX episodes_patient ON episodes (patient_id, detected_at);

CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY,
    patient_id      INTEGER NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    episode_id      INTEGER REFERENCES episodes (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL,
    urgent          INTEGER NOT NULL DEFAULT 0 CHECK (urgent IN (0, 1)),
    text            TEXT    NOT NULL,
    with_chart      INTEGER NOT NULL DEFAULT 0 CHECK (with_chart IN (0, 1)),
    created_at      INTEGER NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER,
    chat_id         INTEGER,
    message_id      INTEGER,
    photo           INTEGER NOT NULL DEFAULT 0 CHECK (photo IN (0, 1)),
    acknowledged_at INTEGER,
    acknowledged_by INTEGER,
    resolved_at     INTEGER,
    remind_at       INTEGER,
    remind_every    INTEGER,
    reminders_sent  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX alerts_pending ON alerts (urgent DESC, next_attempt_at) WHERE state = 'pending';
CREATE INDEX alerts_remind ON alerts (remind_at) WHERE state = 'sent' AND acknowledged_at IS NULL;
CREATE INDEX alerts_patient ON alerts (patient_id, created_at);

CREATE TABLE clinic_values (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor      INTEGER NOT NULL,
    action     TEXT    NOT NULL,
    patient_id INTEGER REFERENCES patients (id) ON DELETE SET NULL,
    detail     TEXT
);
CREATE INDEX audit_patient ON audit_log (patient_id, at);
