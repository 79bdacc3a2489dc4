-- Measurement-based care: one row per administration of a questionnaire (PHQ-9, GAD-7).
-- The row is stored before its first item is sent; each answer updates it. `answers` is a
-- JSON array of option scores in item order (null for a skipped optional item). Unfinished
-- administrations expire after the protocol's window and are kept as incomplete.

CREATE TABLE questionnaire_responses (
    id              INTEGER PRIMARY KEY,
    patient_id      INTEGER NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    chat_id         INTEGER NOT NULL,
    instrument      TEXT    NOT NULL,
    origin          TEXT    NOT NULL CHECK (origin IN (
                        'requested', 'baseline', 'after_infusion', 'interval')),
    status          TEXT    NOT NULL DEFAULT 'in_progress' CHECK (status IN (
                        'in_progress', 'completed', 'expired')),
    answers         TEXT    NOT NULL DEFAULT '[]',
    started_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    completed_at    INTEGER,
    total           INTEGER,
    band            TEXT,
    -- The safety item was answered above its threshold and the urgent path was taken.
    safety_alerted  INTEGER NOT NULL DEFAULT 0 CHECK (safety_alerted IN (0, 1)),
    update_id       INTEGER UNIQUE,
    CHECK ((status = 'completed') = (completed_at IS NOT NULL AND total IS NOT NULL))
);
-- At most one unfinished administration per patient at a time.
CREATE UNIQUE INDEX questionnaire_open ON questionnaire_responses (patient_id)
    WHERE status = 'in_progress';
CREATE INDEX questionnaire_patient ON questionnaire_responses (patient_id, instrument, started_at);
CREATE INDEX questionnaire_expiry ON questionnaire_responses (expires_at)
    WHERE status = 'in_progress';
