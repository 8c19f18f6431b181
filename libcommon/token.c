/* token.c — Ed25519 JWTs (RFC 8037) with libsodium and jansson. */
#define _GNU_SOURCE
#include "token.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "mem.h"

#define TOKEN_MAX_LEN 4096
#define TOKEN_LEEWAY_S 30

char *token_b64url_encode(const unsigned char *data, size_t len)
{
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = xmalloc(cap);
    sodium_bin2base64(out, cap, data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

int token_b64url_decode(const char *text, unsigned char *out, size_t cap)
{
    size_t len = 0;
    if (sodium_base642bin(out, cap, text, strlen(text), NULL, &len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -1;
    return (int)len;
}

static char *json_b64(json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    if (text == NULL)
        abort();
    char *out = token_b64url_encode((const unsigned char *)text, strlen(text));
    free(text);
    return out;
}

int token_sign(const char *kid, const unsigned char sk[TOKEN_SK_BYTES],
               const token_claims_t *claims, char **out, err_t **err)
{
    cleanup_json json_t *header =
        json_pack("{s:s, s:s, s:s}", "alg", "EdDSA", "typ", "JWT", "kid", kid);
    cleanup_json json_t *payload = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "sub", claims->sub, "role",
                                claims->role, "name", claims->name, "iss", claims->iss, "iat",
                                (json_int_t)claims->iat, "exp", (json_int_t)claims->exp);
    if (header == NULL || payload == NULL)
        return err_set(err, GRPC_STATUS_INTERNAL, "token: cannot encode claims");
    cleanup_free char *h = json_b64(header);
    cleanup_free char *p = json_b64(payload);

    cleanup_free char *signing_input = xasprintf("%s.%s", h, p);
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, (const unsigned char *)signing_input, strlen(signing_input),
                         sk);
    cleanup_free char *s = token_b64url_encode(sig, sizeof sig);
    *out = xasprintf("%s.%s", signing_input, s);
    return 0;
}

static int invalid(err_t **err, const char *why)
{
    err_set(err, GRPC_STATUS_UNAUTHENTICATED, "invalid access token");
    return err_wrap(err, "%s", why);
}

static int copy_claim(json_t *obj, const char *key, char *dst, size_t cap)
{
    const char *v = json_string_value(json_object_get(obj, key));
    if (v == NULL || strlen(v) >= cap)
        return -1;
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

int token_verify(const char *jwt, const token_key_t *keys, size_t nkeys, const char *issuer,
                 int64_t now, token_claims_t *out, err_t **err)
{
    size_t len = strlen(jwt);
    if (len == 0 || len > TOKEN_MAX_LEN)
        return invalid(err, "length");
    const char *dot1 = strchr(jwt, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL)
        return invalid(err, "shape");

    char part[TOKEN_MAX_LEN + 1];
    unsigned char raw[TOKEN_MAX_LEN];

    /* Header: only EdDSA, and a kid we know. */
    memcpy(part, jwt, (size_t)(dot1 - jwt));
    part[dot1 - jwt] = '\0';
    int n = token_b64url_decode(part, raw, sizeof raw);
    if (n < 0)
        return invalid(err, "header encoding");
    cleanup_json json_t *header = json_loadb((const char *)raw, (size_t)n, 0, NULL);
    if (header == NULL)
        return invalid(err, "header json");
    const char *alg = json_string_value(json_object_get(header, "alg"));
    const char *kid = json_string_value(json_object_get(header, "kid"));
    if (alg == NULL || strcmp(alg, "EdDSA") != 0 || kid == NULL)
        return invalid(err, "header alg/kid");
    const token_key_t *key = NULL;
    for (size_t i = 0; i < nkeys; i++)
        if (!strcmp(keys[i].kid, kid))
            key = &keys[i];
    if (key == NULL) {
        invalid(err, "unknown kid");
        return -2;
    }

    /* Signature over "header.payload". */
    int siglen = token_b64url_decode(dot2 + 1, raw, sizeof raw);
    if (siglen != crypto_sign_BYTES)
        return invalid(err, "signature encoding");
    if (crypto_sign_verify_detached(raw, (const unsigned char *)jwt, (size_t)(dot2 - jwt),
                                    key->pk) != 0)
        return invalid(err, "signature");

    memcpy(part, dot1 + 1, (size_t)(dot2 - dot1 - 1));
    part[dot2 - dot1 - 1] = '\0';
    n = token_b64url_decode(part, raw, sizeof raw);
    if (n < 0)
        return invalid(err, "payload encoding");
    cleanup_json json_t *payload = json_loadb((const char *)raw, (size_t)n, 0, NULL);
    if (payload == NULL)
        return invalid(err, "payload json");
    memset(out, 0, sizeof *out);
    json_t *iat = json_object_get(payload, "iat");
    json_t *exp = json_object_get(payload, "exp");
    int bad = copy_claim(payload, "sub", out->sub, sizeof out->sub) < 0 ||
              copy_claim(payload, "role", out->role, sizeof out->role) < 0 ||
              copy_claim(payload, "name", out->name, sizeof out->name) < 0 ||
              copy_claim(payload, "iss", out->iss, sizeof out->iss) < 0 || !json_is_integer(iat) ||
              !json_is_integer(exp);
    if (bad)
        return invalid(err, "claims");
    out->iat = json_integer_value(iat);
    out->exp = json_integer_value(exp);
    if (issuer && strcmp(out->iss, issuer) != 0)
        return invalid(err, "issuer");
    if (now > out->exp + TOKEN_LEEWAY_S)
        return err_set(err, GRPC_STATUS_UNAUTHENTICATED, "access token expired");
    return 0;
}
