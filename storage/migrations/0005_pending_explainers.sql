-- A scheduled explainer that could not go out at once (outside the daytime window, or a
-- failed send) waits here with the earliest time it may be sent.

ALTER TABLE explainer_deliveries ADD COLUMN sent INTEGER NOT NULL DEFAULT 1 CHECK (sent IN (0, 1));
ALTER TABLE explainer_deliveries ADD COLUMN not_before INTEGER;
CREATE INDEX explainer_deliveries_waiting ON explainer_deliveries (not_before) WHERE sent = 0;
