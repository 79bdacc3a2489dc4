-- Every message that carries an alert's buttons (the alert itself and each reminder), so a
-- button is only honoured on a message that really is that alert's.

CREATE TABLE alert_messages (
    chat_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    alert_id   INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    PRIMARY KEY (chat_id, message_id)
);
CREATE INDEX alert_messages_alert ON alert_messages (alert_id);

INSERT INTO alert_messages (chat_id, message_id, alert_id)
SELECT chat_id, message_id, id FROM alerts
WHERE chat_id IS NOT NULL AND message_id IS NOT NULL
ON CONFLICT DO NOTHING;
