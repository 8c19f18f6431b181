/* keys.c — Ed25519 signing keys: stored sealed in PostgreSQL, cached in
 * memory, rotated by age or by an operator, published JWKS-shaped.
 *
 * Every replica signs with the newest unretired key it has loaded; keys are
 * reloaded every minute, so after a rotation replicas converge within a
 * minute, and the retired key stays published for an access-token lifetime
 * (plus margin) so no token it signed is refused early. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"

#define KEYRING_MAX 16
#define KEY_PUBLISH_MARGIN_S 300

typedef struct keyring_key {
    token_key_t pub;
    unsigned char sk[TOKEN_SK_BYTES];
    int64_t created_us;
    bool retired;
} keyring_key_t;

struct auth_keyring {
    auth_t *auth;
    pthread_rwlock_t lock;
    keyring_key_t keys[KEYRING_MAX]; /* newest first */
    int nkeys;
    time_t loaded_at;
    time_t forced_at; /* last reload asked for by an unknown kid */
};

static const pg_stmt_t stmt_keys_published = {
    .name = "auth_keys_published",
    .sql = "SELECT kid, public_key, sealed_secret, "
           "(extract(epoch from created_at) * 1000000)::bigint, retired_at IS NOT NULL "
           "FROM auth.signing_keys "
           "WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => $1::bigint) "
           "ORDER BY created_at DESC LIMIT 16",
    .nparams = 1,
};

static const pg_stmt_t stmt_key_newest_age = {
    .name = "auth_key_newest_age",
    .sql = "SELECT coalesce(extract(epoch from now() - max(created_at))::bigint, -1) "
           "FROM auth.signing_keys WHERE retired_at IS NULL",
    .nparams = 0,
};

static const pg_stmt_t stmt_key_lock = {
    .name = "auth_key_lock",
    .sql = "SELECT pg_advisory_xact_lock(hashtext('dojo.auth.signing_keys'))",
    .nparams = 0,
};

static const pg_stmt_t stmt_key_retire_all = {
    .name = "auth_key_retire_all",
    .sql = "UPDATE auth.signing_keys SET retired_at = now() WHERE retired_at IS NULL",
    .nparams = 0,
};

static const pg_stmt_t stmt_key_insert = {
    .name = "auth_key_insert",
    .sql = "INSERT INTO auth.signing_keys (kid, public_key, sealed_secret) VALUES ($1, $2, $3)",
    .nparams = 3,
};

static const pg_stmt_t stmt_key_prune = {
    .name = "auth_key_prune",
    .sql = "DELETE FROM auth.signing_keys "
           "WHERE retired_at < now() - make_interval(secs => $1::bigint)",
    .nparams = 1,
};

static int64_t publish_window_s(const auth_t *auth)
{
    return auth->cfg.access_ttl_s + KEY_PUBLISH_MARGIN_S;
}

static int seal_secret(const auth_t *auth, const unsigned char sk[TOKEN_SK_BYTES], char **out)
{
    unsigned char box[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + TOKEN_SK_BYTES];
    randombytes_buf(box, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, sk, TOKEN_SK_BYTES, box,
                          auth->cfg.master_key);
    *out = xmalloc(sizeof box * 2 + 1);
    sodium_bin2hex(*out, sizeof box * 2 + 1, box, sizeof box);
    return 0;
}

static int unseal_secret(const auth_t *auth, const char *hex, unsigned char sk[TOKEN_SK_BYTES],
                         err_t **err)
{
    unsigned char box[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + TOKEN_SK_BYTES];
    size_t len = 0;
    if (sodium_hex2bin(box, sizeof box, hex, strlen(hex), NULL, &len, NULL) != 0 ||
        len != sizeof box)
        return err_set(err, GRPC_STATUS_INTERNAL, "sealed signing key is malformed");
    if (crypto_secretbox_open_easy(sk, box + crypto_secretbox_NONCEBYTES,
                                   sizeof box - crypto_secretbox_NONCEBYTES, box,
                                   auth->cfg.master_key) != 0)
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                       "cannot open a signing key: DOJO_AUTH_MASTER_KEY differs from the one "
                       "that sealed it");
    return 0;
}

/* Inserts a new key and retires the others, under a lock so two replicas
 * (or an operator and a replica) never rotate at once. With `only_if_stale`
 * the rotation is skipped when another process already did it. */
static int rotate(auth_t *auth, bool only_if_stale, err_t **err)
{
    cleanup_pgconn pg_conn_t *conn = NULL;
    if (pg_pool_acquire(auth->pg, &conn, 5000, err) < 0)
        return -1;
    if (pg_begin(conn, err) < 0 || pg_exec(conn, &stmt_key_lock, NULL, NULL, err) < 0)
        return err_wrap(err, "rotate signing key");
    if (only_if_stale) {
        cleanup_pgresult PGresult *r = NULL;
        if (pg_exec(conn, &stmt_key_newest_age, NULL, &r, err) < 0)
            return err_wrap(err, "rotate signing key");
        int64_t age = pg_get_int64(r, 0, 0);
        if (age >= 0 && age < auth->cfg.key_max_age_s) {
            pg_rollback(conn);
            return 0;
        }
    }
    unsigned char pk[TOKEN_PK_BYTES], sk[TOKEN_SK_BYTES], kid_raw[12];
    crypto_sign_keypair(pk, sk);
    randombytes_buf(kid_raw, sizeof kid_raw);
    cleanup_free char *kid = token_b64url_encode(kid_raw, sizeof kid_raw);
    cleanup_free char *pk_text = token_b64url_encode(pk, sizeof pk);
    cleanup_free char *sealed = NULL;
    seal_secret(auth, sk, &sealed);
    sodium_memzero(sk, sizeof sk);
    char window[32];
    snprintf(window, sizeof window, "%lld", (long long)publish_window_s(auth));
    const char *ins[] = {kid, pk_text, sealed};
    const char *prune[] = {window};
    if (pg_exec(conn, &stmt_key_retire_all, NULL, NULL, err) < 0 ||
        pg_exec(conn, &stmt_key_insert, ins, NULL, err) < 0 ||
        pg_exec(conn, &stmt_key_prune, prune, NULL, err) < 0 || pg_commit(conn, err) < 0)
        return err_wrap(err, "rotate signing key");
    LOG_INFO("signing key created", "kid=%s", kid);
    return 0;
}

int auth_keys_rotate(auth_t *auth, err_t **err) { return rotate(auth, false, err); }

int auth_keyring_refresh(auth_keyring_t *kr, err_t **err)
{
    auth_t *auth = kr->auth;
    if (rotate(auth, true, err) < 0)
        return -1;
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    char window[32];
    snprintf(window, sizeof window, "%lld", (long long)publish_window_s(auth));
    const char *params[] = {window};
    if (pg_pool_acquire(auth->pg, &conn, 5000, err) < 0 ||
        pg_exec(conn, &stmt_keys_published, params, &r, err) < 0)
        return err_wrap(err, "load signing keys");

    keyring_key_t fresh[KEYRING_MAX];
    int n = 0;
    for (int i = 0; i < PQntuples(r) && n < KEYRING_MAX; i++) {
        keyring_key_t *k = &fresh[n];
        memset(k, 0, sizeof *k);
        snprintf(k->pub.kid, sizeof k->pub.kid, "%s", pg_get(r, i, 0));
        if (token_b64url_decode(pg_get(r, i, 1), k->pub.pk, sizeof k->pub.pk) != TOKEN_PK_BYTES)
            continue;
        if (unseal_secret(auth, pg_get(r, i, 2), k->sk, err) < 0)
            return err_wrap(err, "load signing key %s", k->pub.kid);
        k->created_us = pg_get_int64(r, i, 3);
        k->retired = pg_get_bool(r, i, 4);
        n++;
    }
    pthread_rwlock_wrlock(&kr->lock);
    memcpy(kr->keys, fresh, sizeof(keyring_key_t) * (size_t)n);
    kr->nkeys = n;
    kr->loaded_at = time(NULL);
    pthread_rwlock_unlock(&kr->lock);
    sodium_memzero(fresh, sizeof fresh);
    return 0;
}

int auth_keyring_open(auth_keyring_t **out, auth_t *auth, err_t **err)
{
    auth_keyring_t *kr = xcalloc(1, sizeof *kr);
    kr->auth = auth;
    pthread_rwlock_init(&kr->lock, NULL);
    if (auth_keyring_refresh(kr, err) < 0) {
        auth_keyring_close(kr);
        return -1;
    }
    *out = kr;
    return 0;
}

void auth_keyring_close(auth_keyring_t *kr)
{
    if (kr == NULL)
        return;
    sodium_memzero(kr->keys, sizeof kr->keys);
    pthread_rwlock_destroy(&kr->lock);
    free(kr);
}

/* Reloads when the cache is older than a minute; a failed reload keeps the
 * keys we have (logged), so a database blip does not stop token checks. */
static void keyring_maybe_refresh(auth_keyring_t *kr)
{
    pthread_rwlock_rdlock(&kr->lock);
    bool stale = time(NULL) - kr->loaded_at >= 60;
    pthread_rwlock_unlock(&kr->lock);
    if (!stale)
        return;
    cleanup_err err_t *err = NULL;
    if (auth_keyring_refresh(kr, &err) < 0)
        LOG_WARN("signing keys not reloaded", "error=\"%s\"", log_esc(err->msg));
}

int auth_issue_access_token(auth_t *auth, const char *user_id, const char *username,
                            const char *role, char **out, int64_t *exp_out, err_t **err)
{
    auth_keyring_t *kr = auth->keys;
    keyring_maybe_refresh(kr);
    token_claims_t c;
    memset(&c, 0, sizeof c);
    snprintf(c.sub, sizeof c.sub, "%s", user_id);
    snprintf(c.name, sizeof c.name, "%s", username);
    snprintf(c.role, sizeof c.role, "%s", role);
    snprintf(c.iss, sizeof c.iss, "%s", auth->cfg.issuer);
    c.iat = time(NULL);
    c.exp = c.iat + auth->cfg.access_ttl_s;
    pthread_rwlock_rdlock(&kr->lock);
    const keyring_key_t *signer = NULL;
    for (int i = 0; i < kr->nkeys && signer == NULL; i++)
        if (!kr->keys[i].retired)
            signer = &kr->keys[i];
    int rc = signer ? token_sign(signer->pub.kid, signer->sk, &c, out, err)
                    : err_set(err, GRPC_STATUS_UNAVAILABLE, "no signing key loaded");
    pthread_rwlock_unlock(&kr->lock);
    *exp_out = c.exp;
    return rc;
}

static bool keyring_claim_forced_reload(auth_keyring_t *kr)
{
    time_t now = time(NULL);
    pthread_rwlock_wrlock(&kr->lock);
    bool go = now - kr->forced_at >= 5;
    if (go)
        kr->forced_at = now;
    pthread_rwlock_unlock(&kr->lock);
    return go;
}

static int verify(auth_keyring_t *kr, const char *jwt, token_claims_t *out, err_t **err)
{
    token_key_t pubs[KEYRING_MAX];
    pthread_rwlock_rdlock(&kr->lock);
    int n = kr->nkeys;
    for (int i = 0; i < n; i++)
        pubs[i] = kr->keys[i].pub;
    pthread_rwlock_unlock(&kr->lock);
    return token_verify(jwt, pubs, (size_t)n, kr->auth->cfg.issuer, time(NULL), out, err);
}

int auth_caller(auth_t *auth, rpc_call_t *call, caller_t *out, err_t **err)
{
    memset(out, 0, sizeof *out);
    const char *service_key = rpc_call_metadata(call, "x-dojo-service-key");
    if (service_key && auth->cfg.service_key[0]) {
        size_t a = strlen(service_key), b = strlen(auth->cfg.service_key);
        if (a == b && sodium_memcmp(service_key, auth->cfg.service_key, a) == 0) {
            out->kind = CALLER_SERVICE;
            return 0;
        }
        return err_set(err, GRPC_STATUS_UNAUTHENTICATED, "invalid service key");
    }
    const char *authz = rpc_call_metadata(call, "authorization");
    if (authz == NULL || authz[0] == '\0') {
        out->kind = CALLER_ANONYMOUS;
        return 0;
    }
    if (strncasecmp(authz, "Bearer ", 7) != 0)
        return err_set(err, GRPC_STATUS_UNAUTHENTICATED,
                       "authorization must be \"Bearer <access token>\"");
    int rc = verify(auth->keys, authz + 7, &out->claims, err);
    if (rc == -2 && keyring_claim_forced_reload(auth->keys)) {
        /* A key we have not loaded yet (rotated by another replica). At most
         * one such reload every 5 s: made-up kids must not buy database work. */
        err_clear(err);
        cleanup_err err_t *reload_err = NULL;
        if (auth_keyring_refresh(auth->keys, &reload_err) < 0)
            LOG_WARN("signing keys not reloaded", "error=\"%s\"", log_esc(reload_err->msg));
        rc = verify(auth->keys, authz + 7, &out->claims, err);
    }
    if (rc < 0)
        return -1;
    out->kind = CALLER_USER;
    rpc_call_set_log_user(call, out->claims.sub);
    return 0;
}

int auth_require_user(auth_t *auth, rpc_call_t *call, caller_t *out, err_t **err)
{
    if (auth_caller(auth, call, out, err) < 0)
        return -1;
    if (out->kind != CALLER_USER)
        return err_set(err, GRPC_STATUS_UNAUTHENTICATED, "sign in first: no access token sent");
    return 0;
}

int auth_rpc_get_public_keys(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                             err_t **err)
{
    auth_t *auth = rpc_call_payload(call);
    auth_keyring_t *kr = auth->keys;
    keyring_maybe_refresh(kr);
    Dojo__Auth__V1__GetPublicKeysResponse *resp = RPC_NEW(
        call, Dojo__Auth__V1__GetPublicKeysResponse, DOJO__AUTH__V1__GET_PUBLIC_KEYS_RESPONSE__INIT);
    pthread_rwlock_rdlock(&kr->lock);
    resp->n_keys = (size_t)kr->nkeys;
    resp->keys = rpc_alloc(call, sizeof *resp->keys * (size_t)(kr->nkeys ? kr->nkeys : 1));
    for (int i = 0; i < kr->nkeys; i++) {
        Dojo__Auth__V1__Jwk *k = RPC_NEW(call, Dojo__Auth__V1__Jwk, DOJO__AUTH__V1__JWK__INIT);
        char *x = token_b64url_encode(kr->keys[i].pub.pk, TOKEN_PK_BYTES);
        k->kty = "OKP";
        k->crv = "Ed25519";
        k->alg = "EdDSA";
        k->use = "sig";
        k->kid = rpc_strdup(call, kr->keys[i].pub.kid);
        k->x = rpc_strdup(call, x);
        free(x);
        k->created_at = auth_timestamp(call, kr->keys[i].created_us);
        resp->keys[i] = k;
    }
    pthread_rwlock_unlock(&kr->lock);
    resp->issuer = rpc_strdup(call, auth->cfg.issuer);
    resp->access_token_ttl_seconds = auth->cfg.access_ttl_s;
    *out = &resp->base;
    return 0;
}
