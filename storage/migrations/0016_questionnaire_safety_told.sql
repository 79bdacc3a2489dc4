-- The highest answer to a questionnaire's safety item (PHQ-9 item 9) the staff were told of:
-- a worse answer given later in the same administration (after Back) is told too.

ALTER TABLE questionnaire_responses ADD COLUMN safety_told INTEGER;
