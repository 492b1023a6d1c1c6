-- The labels of an answer (package label): the AIGC object as issued, the
-- hash of the delivered text, where the explicit label went and, for output
-- delivered unlabelled on the end user's request, the recipient and their
-- agreement. JSON; '' for records without an answer. Covered by the record
-- hash when not empty (see audit/row.go, canonical).
ALTER TABLE audit_records ADD COLUMN label TEXT NOT NULL DEFAULT '';
