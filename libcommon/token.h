/* token.h — access tokens: compact JWTs signed with Ed25519 ("EdDSA").
 *
 * auth signs them; every other service verifies them locally with the public
 * keys auth publishes (Auth.GetPublicKeys), so no call is made per request. */
#ifndef DOJO_TOKEN_H
#define DOJO_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define TOKEN_PK_BYTES 32
#define TOKEN_SK_BYTES 64

/** A public verification key and its id (the JWT `kid`). */
typedef struct token_key {
    char kid[48];
    unsigned char pk[TOKEN_PK_BYTES];
} token_key_t;

/** The claims Dojo puts in an access token. */
typedef struct token_claims {
    char sub[48];  /* user id */
    char role[16]; /* "learner" | "teacher" | "author" | "admin" */
    char name[48]; /* username */
    char iss[64];
    int64_t iat; /* seconds since the epoch */
    int64_t exp;
} token_claims_t;

/** Signs `claims` as a JWT with header {"alg":"EdDSA","typ":"JWT","kid":kid}.
 * *out is new (free it). */
int token_sign(const char *kid, const unsigned char sk[TOKEN_SK_BYTES],
               const token_claims_t *claims, char **out, err_t **err);

/** Verifies `jwt` against `keys`: structure, algorithm, signature, issuer
 * (when `issuer` is non-NULL) and expiry at `now` (seconds; 30 s leeway for
 * clock skew). Fills *out. Errors are UNAUTHENTICATED with a short reason
 * ("access token expired", "invalid access token"). Returns -2 (with the
 * error set) when the token names a kid not in `keys`, so a caller with a
 * cache can refetch the keys and try again. */
int token_verify(const char *jwt, const token_key_t *keys, size_t nkeys, const char *issuer,
                 int64_t now, token_claims_t *out, err_t **err);

/** base64url without padding. *out is new. */
char *token_b64url_encode(const unsigned char *data, size_t len);

/** Decodes base64url (no padding) into out (cap bytes); returns the length or -1. */
int token_b64url_decode(const char *text, unsigned char *out, size_t cap);

#endif
