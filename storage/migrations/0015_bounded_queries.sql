-- Indexes that keep the hot-path queries bounded by what is due or open, not by history
-- (issue 16). tests/storage/test_query_plans.py checks the plans these give.
--
-- With no ANALYZE statistics, SQLite estimates an equality on (patient_id) the same for a
-- partial index and for checkins_patient (patient_id, due_at), and took the latter, which
-- walks all of a patient's check-ins. Naming `state` among a partial index's columns makes
-- the query's equality on it part of the search, so the partial index wins on cost.

-- A patient's open (sent, unanswered) check-in: the lookup when a patient types a score,
-- the claim closing the previous one, an extra refused while one is open.
DROP INDEX checkins_open;
CREATE INDEX checkins_open ON checkins (patient_id, state, due_at) WHERE state = 'sent';

-- Pending check-ins by due time, now with their patient: housekeeping's cancel and
-- superseded statements visit only the due ones and read the patient from the index. `id`
-- after `due_at` keeps the dispatcher's claim (ORDER BY due_at, id) free of sorting.
DROP INDEX checkins_pending_due;
CREATE INDEX checkins_pending_due ON checkins (due_at, id, patient_id) WHERE state = 'pending';

-- A patient's pending check-ins due by a moment: housekeeping's superseded check and the
-- questionnaire planner's "nothing due and unsent".
CREATE INDEX checkins_pending_patient ON checkins (patient_id, state, due_at)
    WHERE state = 'pending';

-- Missed check-ins by the time they were closed (covering, which needs `state` among the
-- columns too): the start-up review of recent misses reads only the misses of the last two
-- answer windows, where checkins_closed would also read every answered one.
CREATE INDEX checkins_missed ON checkins (state, closed_at, close_reason, patient_id)
    WHERE state = 'missed';

-- The patients the questionnaire planner can plan for (covering, in id order): stopped,
-- paused and never-enrolled patients are not visited at all.
CREATE INDEX patients_plannable ON patients (status, id, chat_id, consent_at, timezone,
    checkin_time) WHERE status = 'active' AND chat_id IS NOT NULL AND consent_at IS NOT NULL;

-- Infusions by time: the planner's pre-filter of infusions recent enough to make a
-- questionnaire due.
CREATE INDEX infusions_given ON infusions (given_at, patient_id);
