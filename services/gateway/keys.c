/* keys.c — access tokens verified locally with auth's published keys.
 *
 * The keys come from Auth.GetPublicKeys: fetched on first use and again when a
 * token names a kid we do not know, at most once every 5 s, so a flood of
 * forged kids cannot turn into a flood of calls to auth. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"

#define GW_MAX_KEYS 16
#define GW_REFETCH_MS 5000

struct gw_keys {
    rpc_channel_t *auth;
    pthread_rwlock_t lock;
    token_key_t keys[GW_MAX_KEYS];
    size_t nkeys;
    char issuer[64];
    int64_t fetched_ms; /* monotonic; 0 = never */
    pthread_mutex_t fetch_lock;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int gw_keys_open(gw_keys_t **out, rpc_channel_t *auth, err_t **err)
{
    gw_keys_t *k = calloc(1, sizeof *k);
    if (k == NULL)
        abort();
    k->auth = auth;
    pthread_rwlock_init(&k->lock, NULL);
    pthread_mutex_init(&k->fetch_lock, NULL);
    *out = k;
    return 0;
}

void gw_keys_close(gw_keys_t *keys)
{
    if (keys == NULL)
        return;
    pthread_rwlock_destroy(&keys->lock);
    pthread_mutex_destroy(&keys->fetch_lock);
    free(keys);
}

/* Fetches the keys unless another thread did within the last 5 s. */
static int keys_refresh(gw_keys_t *k, err_t **err)
{
    pthread_mutex_lock(&k->fetch_lock);
    int64_t now = mono_ms();
    if (k->fetched_ms != 0 && now - k->fetched_ms < GW_REFETCH_MS) {
        pthread_mutex_unlock(&k->fetch_lock);
        return 0;
    }
    Dojo__Auth__V1__GetPublicKeysRequest req = DOJO__AUTH__V1__GET_PUBLIC_KEYS_REQUEST__INIT;
    cleanup_pb ProtobufCMessage *resp = NULL;
    rpc_call_opts_t opts = {.timeout_ms = 2000, .idempotent = true};
    if (rpc_client_call(k->auth, &dojo__auth__v1__auth__descriptor, "GetPublicKeys", &req.base,
                        &resp, &opts, err) < 0) {
        /* Do not hammer auth while it is down either. */
        k->fetched_ms = now;
        pthread_mutex_unlock(&k->fetch_lock);
        (*err)->code = GRPC_STATUS_UNAVAILABLE;
        return err_wrap(err, "fetch token keys");
    }
    const Dojo__Auth__V1__GetPublicKeysResponse *r =
        (const Dojo__Auth__V1__GetPublicKeysResponse *)resp;
    token_key_t fresh[GW_MAX_KEYS];
    size_t n = 0;
    for (size_t i = 0; i < r->n_keys && n < GW_MAX_KEYS; i++) {
        const Dojo__Auth__V1__Jwk *j = r->keys[i];
        if (strcmp(j->kty, "OKP") != 0 || strcmp(j->crv, "Ed25519") != 0 ||
            strlen(j->kid) >= sizeof fresh[n].kid)
            continue;
        if (token_b64url_decode(j->x, fresh[n].pk, TOKEN_PK_BYTES) != TOKEN_PK_BYTES)
            continue;
        strcpy(fresh[n].kid, j->kid);
        n++;
    }
    pthread_rwlock_wrlock(&k->lock);
    memcpy(k->keys, fresh, n * sizeof fresh[0]);
    k->nkeys = n;
    snprintf(k->issuer, sizeof k->issuer, "%s", r->issuer);
    pthread_rwlock_unlock(&k->lock);
    k->fetched_ms = now;
    pthread_mutex_unlock(&k->fetch_lock);
    LOG_INFO("token keys fetched", "keys=%zu", n);
    return 0;
}

static int verify_once(gw_keys_t *k, const char *jwt, token_claims_t *out, err_t **err)
{
    pthread_rwlock_rdlock(&k->lock);
    int rc = token_verify(jwt, k->keys, k->nkeys, k->issuer[0] ? k->issuer : NULL,
                          (int64_t)time(NULL), out, err);
    pthread_rwlock_unlock(&k->lock);
    return rc;
}

int gw_keys_verify(gw_keys_t *k, const char *jwt, token_claims_t *out, err_t **err)
{
    if (strlen(jwt) > 4096)
        return err_set(err, GRPC_STATUS_UNAUTHENTICATED, "invalid access token");
    if (k->fetched_ms == 0) {
        cleanup_err err_t *ferr = NULL;
        if (keys_refresh(k, &ferr) < 0) {
            LOG_WARN("token keys unavailable", "error=\"%s\"", log_esc(ferr->msg));
            return err_set(err, GRPC_STATUS_UNAVAILABLE, "cannot verify tokens right now");
        }
    }
    int rc = verify_once(k, jwt, out, err);
    if (rc != -2)
        return rc;
    err_clear(err);
    cleanup_err err_t *ferr = NULL;
    if (keys_refresh(k, &ferr) < 0)
        LOG_WARN("token keys unavailable", "error=\"%s\"", log_esc(ferr->msg));
    rc = verify_once(k, jwt, out, err);
    if (rc == -2)
        rc = -1;
    return rc;
}
