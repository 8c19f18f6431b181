/* identity.c — caller identity from metadata, with a cache of auth's keys. */
#define _GNU_SOURCE
#include "identity.h"

#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cleanup.h"
#include "dojo/auth/v1/auth.pb-c.h"
#include "log.h"
#include "mem.h"

#define IDENTITY_MAX_KEYS 16
#define IDENTITY_REFRESH_S 300
#define IDENTITY_FORCED_GAP_S 5

/* Verifying is the hot path (every signed-in request of every service): it
 * takes the keys under a read lock. Fetching is rare and slow (a call to
 * auth): one thread at a time under fetch_mu, the others keep verifying with
 * the keys they have. */
struct identity_verifier {
    rpc_channel_t *auth;
    char *service_key;
    const char *md[3];
    pthread_rwlock_t keys_lock; /* guards keys, nkeys, issuer, fetched_at */
    token_key_t keys[IDENTITY_MAX_KEYS];
    int nkeys;
    char issuer[64];
    time_t fetched_at;        /* last successful fetch; 0 = never */
    pthread_mutex_t fetch_mu; /* one fetch at a time; guards the times below */
    time_t failed_at;         /* last failed fetch; 0 = none */
    time_t forced_at;         /* last fetch for an unknown kid; 0 = none */
};

int identity_verifier_open(identity_verifier_t **out, const char *auth_addr,
                           const char *service_key, err_t **err)
{
    identity_verifier_t *v = xcalloc(1, sizeof *v);
    v->service_key = xstrdup(service_key);
    if (rpc_channel_open(&v->auth, auth_addr, err) < 0) {
        free(v->service_key);
        free(v);
        return err_wrap(err, "identity: channel to auth");
    }
    v->md[0] = "x-dojo-service-key";
    v->md[1] = v->service_key;
    v->md[2] = NULL;
    pthread_rwlock_init(&v->keys_lock, NULL);
    pthread_mutex_init(&v->fetch_mu, NULL);
    *out = v;
    return 0;
}

void identity_verifier_close(identity_verifier_t *v)
{
    if (v == NULL)
        return;
    rpc_channel_close(v->auth);
    pthread_rwlock_destroy(&v->keys_lock);
    pthread_mutex_destroy(&v->fetch_mu);
    free(v->service_key);
    free(v);
}

const char *const *identity_service_metadata(identity_verifier_t *v) { return v->md; }

/* Why a fetch is wanted. */
typedef enum {
    FETCH_STALE,       /* no keys yet, or the periodic refresh is due */
    FETCH_UNKNOWN_KID, /* a token names a kid we do not know */
} fetch_reason_t;

/* True when there are no keys or they are due for a refresh; *have (if
 * non-NULL) says whether there are any. */
static bool keys_stale(identity_verifier_t *v, time_t now, bool *have)
{
    pthread_rwlock_rdlock(&v->keys_lock);
    bool any = v->nkeys > 0;
    bool stale = !any || v->fetched_at == 0 || now - v->fetched_at >= IDENTITY_REFRESH_S;
    pthread_rwlock_unlock(&v->keys_lock);
    if (have)
        *have = any;
    return stale;
}

/* Fetches the keys when due: when there are none yet or they are older than
 * IDENTITY_REFRESH_S, or for a kid we do not know. At most one fetch per
 * IDENTITY_FORCED_GAP_S after a failed one (an auth outage) and one per gap
 * for unknown kids (forged kids), so neither turns into a flood of calls to
 * auth; a routine fetch does not delay one for a kid auth just rotated in.
 * Unless `wait`, gives up at once when another thread is fetching. Returns 1
 * when the keys were fetched, 0 when no fetch was due, -1 when it failed. */
static int fetch_keys(identity_verifier_t *v, fetch_reason_t why, bool wait, err_t **err)
{
    if (wait)
        pthread_mutex_lock(&v->fetch_mu);
    else if (pthread_mutex_trylock(&v->fetch_mu) != 0)
        return 0;
    time_t now = time(NULL);
    bool due = why == FETCH_UNKNOWN_KID
                   ? v->forced_at == 0 || now - v->forced_at >= IDENTITY_FORCED_GAP_S
                   : keys_stale(v, now, NULL);
    if (!due || (v->failed_at != 0 && now - v->failed_at < IDENTITY_FORCED_GAP_S)) {
        pthread_mutex_unlock(&v->fetch_mu);
        return 0;
    }
    if (why == FETCH_UNKNOWN_KID)
        v->forced_at = now;
    Dojo__Auth__V1__GetPublicKeysRequest req = DOJO__AUTH__V1__GET_PUBLIC_KEYS_REQUEST__INIT;
    cleanup_pb ProtobufCMessage *out = NULL;
    rpc_call_opts_t opts = {.timeout_ms = 2000, .idempotent = true};
    if (rpc_client_call(v->auth, &dojo__auth__v1__auth__descriptor, "GetPublicKeys", &req.base,
                        &out, &opts, err) < 0) {
        v->failed_at = now;
        pthread_mutex_unlock(&v->fetch_mu);
        return err_wrap(err, "fetch auth's public keys");
    }
    const Dojo__Auth__V1__GetPublicKeysResponse *resp = (const void *)out;
    token_key_t fresh[IDENTITY_MAX_KEYS];
    int n = 0;
    for (size_t i = 0; i < resp->n_keys && n < IDENTITY_MAX_KEYS; i++) {
        const Dojo__Auth__V1__Jwk *k = resp->keys[i];
        if (strcmp(k->kty, "OKP") || strcmp(k->crv, "Ed25519") ||
            strlen(k->kid) >= sizeof fresh[n].kid)
            continue;
        if (token_b64url_decode(k->x, fresh[n].pk, TOKEN_PK_BYTES) != TOKEN_PK_BYTES)
            continue;
        snprintf(fresh[n].kid, sizeof fresh[n].kid, "%s", k->kid);
        n++;
    }
    pthread_rwlock_wrlock(&v->keys_lock);
    memcpy(v->keys, fresh, (size_t)n * sizeof fresh[0]);
    v->nkeys = n;
    snprintf(v->issuer, sizeof v->issuer, "%s", resp->issuer);
    v->fetched_at = now;
    pthread_rwlock_unlock(&v->keys_lock);
    v->failed_at = 0;
    pthread_mutex_unlock(&v->fetch_mu);
    LOG_INFO("auth keys fetched", "keys=%d", n);
    return 1;
}

/* token_verify with the cached keys: 0, -1, or -2 for an unknown kid. */
static int verify_cached(identity_verifier_t *v, const char *jwt, token_claims_t *out, err_t **err)
{
    pthread_rwlock_rdlock(&v->keys_lock);
    int rc = token_verify(jwt, v->keys, (size_t)v->nkeys, v->issuer, (int64_t)time(NULL), out, err);
    pthread_rwlock_unlock(&v->keys_lock);
    return rc;
}

int identity_verify_token(identity_verifier_t *v, const char *jwt, token_claims_t *out, err_t **err)
{
    cleanup_err err_t *fetch_err = NULL;
    bool have = false;
    if (keys_stale(v, time(NULL), &have)) {
        /* With keys in hand nobody waits for a refresh another thread runs. */
        if (fetch_keys(v, FETCH_STALE, !have, &fetch_err) < 0 && have)
            LOG_WARN("auth keys not refreshed; using cached keys", "error=\"%s\"",
                     log_esc(fetch_err->msg));
        keys_stale(v, time(NULL), &have);
    }
    if (!have) {
        if (fetch_err != NULL)
            return err_set_private(err, GRPC_STATUS_UNAVAILABLE,
                                   "cannot verify tokens yet: auth unreachable", "%s",
                                   fetch_err->msg);
        return err_set(err, GRPC_STATUS_UNAVAILABLE, "cannot verify tokens yet: auth unreachable");
    }
    int rc = verify_cached(v, jwt, out, err);
    if (rc == -2) {
        err_clear(&fetch_err);
        int fetched = fetch_keys(v, FETCH_UNKNOWN_KID, true, &fetch_err);
        if (fetched < 0)
            LOG_WARN("auth keys not refetched for an unknown kid", "error=\"%s\"",
                     log_esc(fetch_err->msg));
        if (fetched > 0) {
            err_clear(err);
            rc = verify_cached(v, jwt, out, err);
        }
    }
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
    if (identity_verify_token(v, authz + 7, &out->claims, err) < 0)
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

bool identity_is_teacher(const identity_t *id)
{
    return identity_is_author(id) ||
           (id->kind == IDENTITY_USER && !strcmp(id->claims.role, "teacher"));
}
