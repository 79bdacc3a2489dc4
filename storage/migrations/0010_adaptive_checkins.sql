-- An adaptive check-in: one extra check-in the day after a markedly low answer, planned by
-- the bot (not asked for by the patient). It is a planned check-in in every other way: sent
-- by the dispatcher, counted as missed when unanswered, cancelled by a new infusion.

ALTER TABLE checkins ADD COLUMN adaptive INTEGER NOT NULL DEFAULT 0 CHECK (adaptive IN (0, 1));
CREATE INDEX checkins_adaptive_open ON checkins (patient_id)
    WHERE adaptive = 1 AND state IN ('pending', 'sent');
