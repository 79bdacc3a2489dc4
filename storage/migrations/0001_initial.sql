-- Patients, invitations, infusions, check-ins and notes.
-- Times are whole seconds since the Unix epoch, UTC.

CREATE TABLE patients (
    id                       INTEGER PRIMARY KEY,
    code                     TEXT    NOT NULL UNIQUE,
    label                    TEXT,
    status                   TEXT    NOT NULL CHECK (status IN (
                                 'invited', 'consent_pending', 'active',
                                 'paused', 'stopped', 'unreachable')),
    telegram_user_id         INTEGER UNIQUE,
    chat_id                  INTEGER,
    timezone                 TEXT    NOT NULL,
    checkin_time             TEXT    CHECK (checkin_time GLOB '[0-2][0-9]:[0-5][0-9]'),
    consent_at               INTEGER,
    created_at               INTEGER NOT NULL,
    created_by               INTEGER NOT NULL,
    created_update_id        INTEGER UNIQUE,
    awaiting_note_checkin_id INTEGER REFERENCES checkins (id) ON DELETE SET NULL
);

CREATE TABLE invites (
    id          INTEGER PRIMARY KEY,
    patient_id  INTEGER NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    used_by     INTEGER
);

CREATE TABLE infusions (
    id          INTEGER PRIMARY KEY,
    patient_id  INTEGER NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    given_at    INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    recorded_by INTEGER NOT NULL,
    update_id   INTEGER UNIQUE
);
CREATE INDEX infusions_patient ON infusions (patient_id, given_at);

CREATE TABLE checkins (
    id                INTEGER PRIMARY KEY,
    patient_id        INTEGER NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    infusion_id       INTEGER REFERENCES infusions (id) ON DELETE CASCADE,
    kind              TEXT    NOT NULL CHECK (kind IN ('planned', 'extra')),
    day               INTEGER,
    due_at            INTEGER NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN (
                          'pending', 'sent', 'answered', 'missed', 'cancelled', 'failed')),
    reason            TEXT,
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER,
    sent_at           INTEGER,
    delivery          TEXT    CHECK (delivery IN ('unconfirmed', 'confirmed', 'uncertain')),
    message_id        INTEGER,
    score             INTEGER CHECK (score BETWEEN 0 AND 10),
    answered_at       INTEGER,
    answer_update_id  INTEGER UNIQUE,
    closed_at         INTEGER,
    created_update_id INTEGER UNIQUE,
    CHECK ((state = 'answered') = (score IS NOT NULL))
);
CREATE INDEX checkins_pending_due ON checkins (due_at) WHERE state = 'pending';
CREATE INDEX checkins_open ON checkins (patient_id, due_at) WHERE state = 'sent';
CREATE INDEX checkins_open_due ON checkins (due_at) WHERE state = 'sent';
CREATE INDEX checkins_patient ON checkins (patient_id, due_at);

CREATE TABLE notes (
    id         INTEGER PRIMARY KEY,
    patient_id INTEGER NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    checkin_id INTEGER REFERENCES checkins (id) ON DELETE CASCADE,
    text       TEXT    NOT NULL CHECK (length(text) BETWEEN 1 AND 4096),
    created_at INTEGER NOT NULL,
    update_id  INTEGER UNIQUE
);
CREATE INDEX notes_patient ON notes (patient_id, created_at);
