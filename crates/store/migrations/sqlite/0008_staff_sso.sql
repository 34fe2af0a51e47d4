-- How a staff session began: 'password' (with the TOTP code when one is set up) or 'oidc'
-- (the organisation's single sign-on, whose provider owns the second factor).
ALTER TABLE staff_sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';
