/* secrets.c — passwords (argon2id through libsodium) behind the hash gate
 * (at most so many hashes at once, a bounded queue before them), and bearer
 * secrets (random tokens, stored only as their SHA-256). Functions of their
 * inputs and the configured cost, unit-tested in t/. */
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"

/* ------------------------------------------------------------------------
 * The hash gate: a slot per concurrent hash (slots.h), and a count of who is
 * in the gate so that the queue in front of it stays bounded.
 * ------------------------------------------------------------------------ */

static bool no_connection(int index, void *payload)
{
    (void)index;
    (void)payload;
    return false;
}

static void gate_publish(auth_hash_gate_t *g)
{
    int admitted = atomic_load(&g->admitted), running = atomic_load(&g->running);
    metrics_gauge_set("dojo_auth_password_hashes_running", "", running);
    metrics_gauge_set("dojo_auth_password_hashes_waiting", "",
                      admitted > running ? admitted - running : 0);
}

void auth_hash_gate_init(auth_hash_gate_t *g, int concurrency, int queue)
{
    slots_init(&g->slots, concurrency);
    g->concurrency = concurrency;
    g->queue = queue;
    atomic_init(&g->admitted, 0);
    atomic_init(&g->running, 0);
    atomic_init(&g->mean_us, 0);
    gate_publish(g);
}

void auth_hash_gate_destroy(auth_hash_gate_t *g)
{
    slots_destroy(&g->slots);
}

int auth_hash_gate_admitted(auth_hash_gate_t *g)
{
    return atomic_load(&g->admitted);
}

/* When to try again: the hashes ahead, spread over the slots, at the mean
 * time of one (at least a second). */
static int gate_retry_after_s(auth_hash_gate_t *g, int ahead)
{
    long long mean = atomic_load(&g->mean_us);
    long long us = (long long)ahead * (mean > 0 ? mean : 100000) / g->concurrency;
    long long s = (us + 999999) / 1000000;
    return (int)(s < 1 ? 1 : s > 60 ? 60 : s);
}

static int gate_refuse(auth_hash_gate_t *g, int ahead, const char *why, err_t **err)
{
    metrics_counter_add("dojo_auth_password_hashes_refused_total", why, 1);
    LOG_INFO("password hash refused", "%s in_gate=%d", why, ahead);
    err_set(err, GRPC_STATUS_UNAVAILABLE, "busy: too many sign-ins at once, try again");
    return err_set_retry_after(err, gate_retry_after_s(g, ahead));
}

int auth_hash_gate_enter(auth_hash_gate_t *g, int64_t wait_ms, err_t **err)
{
    int before = atomic_fetch_add(&g->admitted, 1);
    if (before >= g->concurrency + g->queue) {
        atomic_fetch_sub(&g->admitted, 1);
        return gate_refuse(g, before, "reason=\"queue_full\"", err);
    }
    gate_publish(g);
    int slot = slots_take(&g->slots,
                          (int)(wait_ms < 0        ? 0
                                : wait_ms > 600000 ? 600000
                                                   : wait_ms),
                          no_connection, NULL);
    if (slot < 0) {
        int ahead = atomic_fetch_sub(&g->admitted, 1) - 1;
        gate_publish(g);
        return gate_refuse(g, ahead, "reason=\"deadline\"", err);
    }
    atomic_fetch_add(&g->running, 1);
    gate_publish(g);
    return slot;
}

void auth_hash_gate_leave(auth_hash_gate_t *g, int slot, int64_t took_us)
{
    /* A moving mean over the last ~8 hashes: follows the machine's load. */
    long long mean = atomic_load(&g->mean_us);
    atomic_store(&g->mean_us, mean == 0 ? took_us : mean + (took_us - mean) / 8);
    atomic_fetch_sub(&g->running, 1);
    atomic_fetch_sub(&g->admitted, 1);
    slots_put(&g->slots, slot);
    gate_publish(g);
}

/* ------------------------------------------------------------------------
 * Passwords
 * ------------------------------------------------------------------------ */

/* How long a caller may wait for a slot: until its deadline less the time of
 * a hash, so that a hash is only started if its answer can still be read. */
static int64_t gate_wait_ms(auth_hash_gate_t *g, rpc_call_t *call)
{
    if (call == NULL)
        return 60000;
    int64_t left = rpc_call_deadline_left_ms(call) - atomic_load(&g->mean_us) / 1000;
    return left > 60000 ? 60000 : left < 0 ? 0 : left;
}

static int64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

int auth_hash_password(auth_t *auth, rpc_call_t *call, const char *password, char out[128],
                       err_t **err)
{
    int slot = auth_hash_gate_enter(&auth->hash_gate, gate_wait_ms(&auth->hash_gate, call), err);
    if (slot < 0)
        return -1;
    int64_t t0 = now_us();
    int rc = crypto_pwhash_str(out, password, strlen(password), auth->cfg.argon_ops,
                               auth->cfg.argon_mem_bytes);
    auth_hash_gate_leave(&auth->hash_gate, slot, now_us() - t0);
    if (rc != 0)
        return err_set(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "server busy, try again");
    return 0;
}

int auth_verify_password(auth_t *auth, rpc_call_t *call, const char *hash, const char *password,
                         bool *ok, err_t **err)
{
    int slot = auth_hash_gate_enter(&auth->hash_gate, gate_wait_ms(&auth->hash_gate, call), err);
    if (slot < 0)
        return -1;
    int64_t t0 = now_us();
    *ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
    auth_hash_gate_leave(&auth->hash_gate, slot, now_us() - t0);
    return 0;
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
