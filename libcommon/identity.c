/* identity.c — caller identity from metadata, with a cache of auth's keys. */
#define _GNU_SOURCE
#include "identity.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cleanup.h"
#include "dojo/auth/v1/auth.pb-c.h"
#include "log.h"

#define IDENTITY_MAX_KEYS 16
#define IDENTITY_REFRESH_S 300
#define IDENTITY_FORCED_GAP_S 5

struct identity_verifier {
    rpc_channel_t *auth;
    char *service_key;
    const char *md[3];
    pthread_mutex_t mu;
    token_key_t keys[IDENTITY_MAX_KEYS];
    int nkeys;
    char issuer[64];
    time_t fetched_at;
    time_t forced_at;
};

int identity_verifier_open(identity_verifier_t **out, const char *auth_addr,
                           const char *service_key, err_t **err)
{
    identity_verifier_t *v = calloc(1, sizeof *v);
    if (v == NULL || (v->service_key = strdup(service_key)) == NULL)
        abort();
    if (rpc_channel_open(&v->auth, auth_addr, err) < 0) {
        free(v->service_key);
        free(v);
        return err_wrap(err, "identity: channel to auth");
    }
    v->md[0] = "x-dojo-service-key";
    v->md[1] = v->service_key;
    v->md[2] = NULL;
    pthread_mutex_init(&v->mu, NULL);
    *out = v;
    return 0;
}

void identity_verifier_close(identity_verifier_t *v)
{
    if (v == NULL)
        return;
    rpc_channel_close(v->auth);
    pthread_mutex_destroy(&v->mu);
    free(v->service_key);
    free(v);
}

const char *const *identity_service_metadata(identity_verifier_t *v) { return v->md; }

/* Fetches the keys; called with v->mu held (a fetch is rare and short). */
static int fetch_keys(identity_verifier_t *v, err_t **err)
{
    Dojo__Auth__V1__GetPublicKeysRequest req = DOJO__AUTH__V1__GET_PUBLIC_KEYS_REQUEST__INIT;
    cleanup_pb ProtobufCMessage *out = NULL;
    rpc_call_opts_t opts = {.timeout_ms = 2000, .idempotent = true};
    if (rpc_client_call(v->auth, &dojo__auth__v1__auth__descriptor, "GetPublicKeys", &req.base,
                        &out, &opts, err) < 0)
        return err_wrap(err, "fetch auth's public keys");
    const Dojo__Auth__V1__GetPublicKeysResponse *resp = (const void *)out;
    int n = 0;
    for (size_t i = 0; i < resp->n_keys && n < IDENTITY_MAX_KEYS; i++) {
        const Dojo__Auth__V1__Jwk *k = resp->keys[i];
        if (strcmp(k->kty, "OKP") || strcmp(k->crv, "Ed25519") || strlen(k->kid) >= 48)
            continue;
        if (token_b64url_decode(k->x, v->keys[n].pk, TOKEN_PK_BYTES) != TOKEN_PK_BYTES)
            continue;
        snprintf(v->keys[n].kid, sizeof v->keys[n].kid, "%s", k->kid);
        n++;
    }
    v->nkeys = n;
    snprintf(v->issuer, sizeof v->issuer, "%s", resp->issuer);
    v->fetched_at = time(NULL);
    return 0;
}

static int verify_token(identity_verifier_t *v, const char *jwt, token_claims_t *out, err_t **err)
{
    pthread_mutex_lock(&v->mu);
    time_t now = time(NULL);
    if (v->nkeys == 0 || now - v->fetched_at >= IDENTITY_REFRESH_S) {
        cleanup_err err_t *fetch_err = NULL;
        if (fetch_keys(v, &fetch_err) < 0) {
            if (v->nkeys == 0) {
                pthread_mutex_unlock(&v->mu);
                err_set(err, GRPC_STATUS_UNAVAILABLE, "cannot verify tokens yet: auth unreachable");
                return err_wrap(err, "%s", fetch_err->msg);
            }
            LOG_WARN("auth keys not refreshed; using cached keys", "error=\"%s\"",
                     log_esc(fetch_err->msg));
        }
    }
    int rc = token_verify(jwt, v->keys, (size_t)v->nkeys, v->issuer, now, out, err);
    if (rc == -2 && now - v->forced_at >= IDENTITY_FORCED_GAP_S) {
        v->forced_at = now;
        cleanup_err err_t *fetch_err = NULL;
        if (fetch_keys(v, &fetch_err) == 0) {
            err_clear(err);
            rc = token_verify(jwt, v->keys, (size_t)v->nkeys, v->issuer, now, out, err);
        }
    }
    pthread_mutex_unlock(&v->mu);
    return rc < 0 ? -1 : 0;
}

int identity_of_call(identity_verifier_t *v, rpc_call_t *call, identity_t *out, err_t **err)
{
    memset(out, 0, sizeof *out);
    const char *key = rpc_call_metadata(call, "x-dojo-service-key");
    if (key) {
        size_t a = strlen(key), b = strlen(v->service_key);
        if (b > 0 && a == b && sodium_memcmp(key, v->service_key, a) == 0) {
            out->kind = IDENTITY_SERVICE;
            rpc_call_set_log_user(call, "service");
            return 0;
        }
        return err_set(err, GRPC_STATUS_UNAUTHENTICATED, "invalid service key");
    }
    const char *authz = rpc_call_metadata(call, "authorization");
    if (authz == NULL || authz[0] == '\0')
        return 0;
    if (strncasecmp(authz, "Bearer ", 7) != 0)
        return err_set(err, GRPC_STATUS_UNAUTHENTICATED,
                       "authorization must be \"Bearer <access token>\"");
    if (verify_token(v, authz + 7, &out->claims, err) < 0)
        return -1;
    out->kind = IDENTITY_USER;
    rpc_call_set_log_user(call, out->claims.sub);
    return 0;
}

int identity_require_signed_in(identity_verifier_t *v, rpc_call_t *call, identity_t *out,
                               err_t **err)
{
    if (identity_of_call(v, call, out, err) < 0)
        return -1;
    if (out->kind == IDENTITY_ANONYMOUS)
        return err_set(err, GRPC_STATUS_UNAUTHENTICATED, "sign in first: no access token sent");
    return 0;
}

bool identity_is_admin(const identity_t *id)
{
    return id->kind == IDENTITY_USER && !strcmp(id->claims.role, "admin");
}

bool identity_is_author(const identity_t *id)
{
    return id->kind == IDENTITY_SERVICE ||
           (id->kind == IDENTITY_USER &&
            (!strcmp(id->claims.role, "author") || !strcmp(id->claims.role, "admin")));
}
