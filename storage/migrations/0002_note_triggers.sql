-- Keep "which answered check-in is the next free text a note for" in step with answers and
-- notes inside the same statement, so storing an answer or a note is one atomic write.

CREATE TRIGGER checkin_answered_awaits_note
AFTER UPDATE OF state ON checkins
WHEN NEW.state = 'answered' AND OLD.state != 'answered'
BEGIN
    UPDATE patients SET awaiting_note_checkin_id = NEW.id WHERE id = NEW.patient_id;
END;

CREATE TRIGGER note_added_stops_awaiting
AFTER INSERT ON notes
BEGIN
    UPDATE patients SET awaiting_note_checkin_id = NULL WHERE id = NEW.patient_id;
END;
