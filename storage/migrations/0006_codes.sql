-- State as codes, never sentences: check-in close reasons and delivery problems, episode
-- end reasons, alert delivery problems and audit actions become the codes of
-- bot/domain/codes.py. Existing rows are converted; a text no version of Afterglow wrote
-- becomes 'unknown' (which no rule counts as the patient's miss).

ALTER TABLE checkins ADD COLUMN close_reason TEXT CHECK (close_reason IN (
    'no_answer', 'no_answer_before_next', 'unanswered_uncertain', 'extra_left_open',
    'not_sent_in_window', 'superseded', 'patient_invited', 'patient_consent_pending',
    'patient_paused', 'patient_stopped', 'patient_unreachable', 'replaced_by_new_plan',
    'send_failed', 'unknown'));
ALTER TABLE checkins ADD COLUMN last_error TEXT CHECK (last_error IN (
    'forbidden', 'chat_not_found', 'bad_request', 'rate_limited', 'connect_failed',
    'server_error', 'read_timeout', 'connection_lost', 'telegram_error', 'sender_error',
    'process_stopped', 'unknown'));

-- The delivery problem a text names (the reason of a retry, an uncertain or failed send,
-- or the last error quoted by 'not sent within the send window (last error: ...)').
CREATE TEMP TABLE problem_texts (pattern TEXT NOT NULL, code TEXT NOT NULL);
INSERT INTO problem_texts (pattern, code) VALUES
    ('%forbidden (403)%', 'forbidden'),
    ('%chat not found%', 'chat_not_found'),
    ('%bad request (400)%', 'bad_request'),
    ('%rate limited (429)%', 'rate_limited'),
    ('%connect timeout%', 'connect_failed'),
    ('%network: Connect%', 'connect_failed'),
    ('%network: PoolTimeout%', 'connect_failed'),
    ('%server error:%', 'server_error'),
    ('%timed out waiting for Telegram%', 'read_timeout'),
    ('%network: %', 'connection_lost'),
    ('%telegram error:%', 'telegram_error'),
    ('%sender error:%', 'sender_error'),
    ('%process stopped before the send was confirmed%', 'process_stopped'),
    ('NotDelivered', 'connect_failed'),
    ('RateLimited', 'rate_limited'),
    ('Undeliverable', 'telegram_error'),
    ('Unknown', 'connection_lost');

UPDATE checkins SET close_reason = CASE
    WHEN state NOT IN ('missed', 'cancelled', 'failed') THEN NULL
    WHEN reason = 'no answer' THEN 'no_answer'
    WHEN reason = 'no answer before the next check-in' THEN 'no_answer_before_next'
    WHEN reason = 'unanswered; delivery uncertain' THEN 'unanswered_uncertain'
    WHEN reason = 'extra check-in left open' THEN 'extra_left_open'
    WHEN reason LIKE 'not sent within the send window%' THEN 'not_sent_in_window'
    WHEN reason = 'superseded by a newer due check-in' THEN 'superseded'
    WHEN reason = 'patient invited' THEN 'patient_invited'
    WHEN reason = 'patient consent pending' THEN 'patient_consent_pending'
    WHEN reason = 'patient paused' THEN 'patient_paused'
    WHEN reason = 'patient stopped' THEN 'patient_stopped'
    WHEN reason = 'patient unreachable' THEN 'patient_unreachable'
    WHEN reason = 'replaced by the plan of a newer infusion' THEN 'replaced_by_new_plan'
    WHEN state = 'failed' THEN 'send_failed'
    ELSE 'unknown' END;

UPDATE checkins SET last_error = coalesce(
    (SELECT t.code FROM problem_texts t WHERE checkins.reason LIKE t.pattern
     ORDER BY t.rowid LIMIT 1), 'unknown')
WHERE reason IS NOT NULL AND (
    state IN ('pending', 'sent', 'failed') OR reason LIKE 'not sent within the send window (%');

ALTER TABLE checkins DROP COLUMN reason;

UPDATE episodes SET end_reason = CASE end_reason
    WHEN 'recovered' THEN 'recovered'
    WHEN 'resolved by staff' THEN 'resolved_by_staff'
    WHEN 'new infusion' THEN 'new_infusion'
    ELSE end_reason END
WHERE end_reason IS NOT NULL;

UPDATE alerts SET last_error = coalesce(
    (SELECT t.code FROM problem_texts t WHERE alerts.last_error LIKE t.pattern
     ORDER BY t.rowid LIMIT 1),
    CASE WHEN last_error LIKE 'RetryAfter%' THEN 'rate_limited'
         WHEN last_error LIKE 'TimedOut%' THEN 'read_timeout'
         WHEN last_error LIKE 'NetworkError%' THEN 'connection_lost'
         WHEN last_error LIKE 'BadRequest%' THEN 'bad_request'
         ELSE 'telegram_error' END)
WHERE last_error IS NOT NULL;

UPDATE audit_log SET action = CASE action
    WHEN 'view patient' THEN 'view_patient'
    WHEN 'acknowledge alert' THEN 'acknowledge_alert'
    WHEN 'resolve alert' THEN 'resolve_alert'
    WHEN 'resolve patient' THEN 'resolve_patient'
    ELSE action END;

DROP TABLE problem_texts;
