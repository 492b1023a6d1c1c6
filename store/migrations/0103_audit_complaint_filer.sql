-- Complaints (package audit): the end user a complaint was filed for, when
-- the key that filed it belongs to one end user, so that only that user's
-- key reads it back; and the key that seals the complaint text, which may
-- hold personal data, as contact_key seals the contact ('' for text kept
-- as given, when no keyring is configured).
ALTER TABLE audit_complaints ADD COLUMN end_user TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_complaints ADD COLUMN text_key TEXT NOT NULL DEFAULT '';
