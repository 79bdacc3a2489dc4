-- Data rights: the consent version each patient agreed to, and deletion at the patient's
-- request.
--
-- A deleted patient keeps their row (its id holds the audit entry, and the clinical record
-- when the clinic keeps it) under the pseudonymous code only: status 'stopped', no Telegram
-- identity, no label, and `deleted_at` set. The status CHECK of 0001 is left as it is:
-- rebuilding `patients` needs foreign keys off, which cannot be switched inside the
-- migration's transaction, and dropping it with them on would cascade into every child
-- table. The CHECK below makes the database itself refuse a deleted row with an identity.

ALTER TABLE patients ADD COLUMN consent_version TEXT;
-- Consent given before versions were recorded: the text they saw is not known exactly.
UPDATE patients SET consent_version = 'legacy' WHERE consent_at IS NOT NULL;

ALTER TABLE patients ADD COLUMN deleted_at INTEGER CHECK (
    deleted_at IS NULL OR (
        status = 'stopped' AND telegram_user_id IS NULL AND chat_id IS NULL AND label IS NULL
    )
);

-- The daily retention purge looks for closed check-ins and finished records by age.
CREATE INDEX checkins_closed ON checkins (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX notes_created ON notes (created_at);
CREATE INDEX safety_questions_asked ON safety_questions (asked_at);
CREATE INDEX explainer_deliveries_at ON explainer_deliveries (at);
