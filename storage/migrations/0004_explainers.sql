-- Every explainer sent to a patient. A pushed one (scheduled or contextual) is never pushed
-- to the same patient twice; one asked for with /learn may be read any number of times.

CREATE TABLE explainer_deliveries (
    id           INTEGER PRIMARY KEY,
    patient_id   INTEGER NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    explainer_id TEXT    NOT NULL,
    how          TEXT    NOT NULL CHECK (how IN ('scheduled', 'contextual', 'requested')),
    at           INTEGER NOT NULL,
    episode_id   INTEGER REFERENCES episodes (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX explainer_pushed_once ON explainer_deliveries (patient_id, explainer_id)
    WHERE how != 'requested';
CREATE INDEX explainer_deliveries_patient ON explainer_deliveries (patient_id, at);
