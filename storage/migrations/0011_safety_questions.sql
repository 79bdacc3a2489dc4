-- The direct question: when words may be a signal but are not explicit, or a mood answer is
-- 0 to 2, the patient is asked whether they are having thoughts of ending their life or of
-- harming themselves, and the staff are told. The answer (yes, no, or none in time) is kept.

CREATE TABLE safety_questions (
    id              INTEGER PRIMARY KEY,
    patient_id      INTEGER NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    chat_id         INTEGER NOT NULL,
    reason          TEXT    NOT NULL CHECK (reason IN ('words', 'low_score')),
    asked_at        INTEGER NOT NULL,
    sent_at         INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    answer          TEXT    CHECK (answer IN ('yes', 'no')),
    answered_at     INTEGER,
    escalate_at     INTEGER NOT NULL,
    escalated_at    INTEGER,
    update_id       INTEGER UNIQUE
);
CREATE INDEX safety_questions_open ON safety_questions (escalate_at)
    WHERE answer IS NULL AND escalated_at IS NULL;
CREATE INDEX safety_questions_patient ON safety_questions (patient_id, asked_at);
