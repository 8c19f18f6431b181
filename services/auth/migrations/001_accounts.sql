-- Accounts, sessions (refresh tokens), password resets and signing keys.
CREATE TABLE auth.users (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email                text NOT NULL,
    username             text NOT NULL,
    display_name         text NOT NULL,
    password_hash        text NOT NULL,
    time_zone            text NOT NULL DEFAULT 'UTC',
    time_zone_changed_at timestamptz,
    role                 text NOT NULL DEFAULT 'learner'
                         CHECK (role IN ('learner', 'author', 'admin')),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_username_key UNIQUE (username)
);

-- A refresh token is stored as the SHA-256 of its text. Tokens of one login
-- share a family; presenting a rotated token revokes the whole family.
CREATE TABLE auth.refresh_tokens (
    id          bigserial PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    family_id   uuid NOT NULL,
    token_hash  text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    rotated_at  timestamptz,
    revoked_at  timestamptz,
    client_ip   text NOT NULL DEFAULT '',
    user_agent  text NOT NULL DEFAULT ''
);
CREATE INDEX refresh_tokens_family_idx ON auth.refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON auth.refresh_tokens (user_id);

-- Password reset tokens, stored hashed, single use, expiring.
CREATE TABLE auth.password_resets (
    token_hash  text PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX password_resets_user_idx ON auth.password_resets (user_id);

-- Ed25519 signing keys. The secret half is sealed with DOJO_AUTH_MASTER_KEY
-- (crypto_secretbox: hex of nonce || ciphertext). The newest unretired key
-- signs; retired keys stay published until their tokens have expired.
CREATE TABLE auth.signing_keys (
    kid            text PRIMARY KEY,
    public_key     text NOT NULL,
    sealed_secret  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    retired_at     timestamptz
);
