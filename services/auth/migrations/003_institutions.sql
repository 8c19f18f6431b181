-- Institutions (a school, a company): their admins make their own members
-- teachers. An account belongs to at most one.
CREATE TABLE auth.institutions (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug        text NOT NULL UNIQUE,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE auth.users
    ADD COLUMN institution_id uuid REFERENCES auth.institutions (id),
    ADD COLUMN institution_admin boolean NOT NULL DEFAULT false;
CREATE INDEX users_institution_idx ON auth.users (institution_id, username);

-- Password resets also carry the first-password links of accounts made for
-- someone (ProvisionAccounts); `purpose` tells the two apart in the logs.
ALTER TABLE auth.password_resets
    ADD COLUMN purpose text NOT NULL DEFAULT 'reset' CHECK (purpose IN ('reset', 'invite'));
