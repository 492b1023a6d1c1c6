-- A key may belong to one end user (the operator's id for them): every
-- request made with it is that user's. '' is a service key.
ALTER TABLE api_keys ADD COLUMN end_user TEXT NOT NULL DEFAULT '';
