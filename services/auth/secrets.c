/* secrets.c — passwords (argon2id through libsodium) and bearer secrets
 * (random tokens, stored only as their SHA-256). Pure functions of their
 * inputs and the configured cost, unit-tested in t/. */
#include <sodium.h>
#include <string.h>

#include "auth.h"

/* ------------------------------------------------------------------------
 * Passwords
 * ------------------------------------------------------------------------ */

int auth_hash_password(auth_t *auth, const char *password, char out[128], err_t **err)
{
    if (crypto_pwhash_str(out, password, strlen(password), auth->cfg.argon_ops,
                          auth->cfg.argon_mem_bytes) != 0)
        return err_set(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "server busy, try again");
    return 0;
}

bool auth_verify_password(const char *hash, const char *password)
{
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

/* ------------------------------------------------------------------------
 * Bearer secrets
 * ------------------------------------------------------------------------ */

char *auth_random_token(void)
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    return token_b64url_encode(raw, sizeof raw);
}

void auth_token_hash(const char *token, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
    sodium_bin2hex(out, 65, h, sizeof h);
}
