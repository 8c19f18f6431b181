/* auth.h — the auth service's shared state and the handlers of each file.
 * Internal to services/auth. */
#ifndef DOJO_AUTH_H
#define DOJO_AUTH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dojo/auth/v1/auth.pb-c.h"
#include "libcommon/err.h"
#include "libcommon/kv.h"
#include "libcommon/pg.h"
#include "libcommon/rpc.h"
#include "libcommon/slots.h"
#include "libcommon/token.h"

/* ------------------------------------------------------------------------
 * Configuration (read once at start; see docs/operators.md)
 * ------------------------------------------------------------------------ */
typedef struct auth_config {
    const char *addr;
    const char *metrics_addr;
    const char *pg_url;
    const char *redis_addr;
    const char *issuer;
    int64_t access_ttl_s;
    int64_t refresh_ttl_s;
    int64_t reset_ttl_s;
    int64_t invite_ttl_s; /* first-password links of provisioned accounts */
    int64_t key_max_age_s;
    unsigned long long argon_ops;
    size_t argon_mem_bytes;
    int hash_concurrency; /* password hashes at once (DOJO_AUTH_HASH_CONCURRENCY) */
    int hash_queue;       /* callers waiting for one, at most (DOJO_AUTH_HASH_QUEUE) */
    int login_max_fails_account;
    int login_max_fails_ip;
    int64_t login_window_s;
    int reset_max_per_email;
    int reset_max_per_ip;
    int64_t reset_window_s;
    const char *mail_outbox;
    const char *smtp_url;
    const char *smtp_user;
    const char *smtp_password;
    const char *mail_from;
    const char *public_url;
    unsigned char master_key[32];
    const char *service_key; /* "" = no service callers accepted */
} auth_config_t;

/* ------------------------------------------------------------------------
 * Signing keys (keys.c)
 * ------------------------------------------------------------------------ */
typedef struct auth_keyring auth_keyring_t;

/* ------------------------------------------------------------------------
 * Mail (mail.c): a queue drained by one background thread
 * ------------------------------------------------------------------------ */
typedef struct auth_mailer auth_mailer_t;

/* ------------------------------------------------------------------------
 * The password-hash gate (secrets.c)
 *
 * argon2id is CPU and memory bound: hashes beyond the cores only share them,
 * so every one finishes late, and a burst of sign-ups makes every caller
 * slow. At most `concurrency` hashes run at once; up to `queue` callers wait
 * for a slot (each holds an RPC worker meanwhile); the next is refused at
 * once with UNAVAILABLE and a retry-after (the gateway's 503), before any
 * account is written, so a refused sign-up can simply be sent again.
 * ------------------------------------------------------------------------ */
typedef struct auth_hash_gate {
    slots_t slots; /* one per concurrent hash */
    int concurrency;
    int queue;
    atomic_int admitted;  /* hashing + waiting */
    atomic_int running;   /* hashing */
    atomic_llong mean_us; /* moving mean of one hash (for the retry-after) */
} auth_hash_gate_t;

/** Prepares a gate of `concurrency` (>= 1) slots and `queue` (>= 0) waiters. */
void auth_hash_gate_init(auth_hash_gate_t *g, int concurrency, int queue);
void auth_hash_gate_destroy(auth_hash_gate_t *g);
/** Takes a slot and returns its index, waiting at most `wait_ms` behind at
 * most g->queue others. Refused (-1, UNAVAILABLE "busy" with retry_after_s
 * from the queue ahead and the mean hash time) when the queue is full or no
 * slot came free in time. */
int auth_hash_gate_enter(auth_hash_gate_t *g, int64_t wait_ms, err_t **err);
/** Gives the slot back; `took_us` is the hash's time, for the mean. */
void auth_hash_gate_leave(auth_hash_gate_t *g, int slot, int64_t took_us);
/** Callers hashing or waiting now (for metrics and tests). */
int auth_hash_gate_admitted(auth_hash_gate_t *g);

typedef struct auth {
    auth_config_t cfg;
    auth_hash_gate_t hash_gate;
    pg_pool_t *pg;
    kv_pool_t *kv;
    auth_keyring_t *keys;
    auth_mailer_t *mailer;
    char dummy_hash[128]; /* verified against for unknown logins: equal timing */
} auth_t;

/** Reads every DOJO_AUTH_* / DOJO_* variable auth uses; exits naming a bad one. */
void auth_config_load(auth_config_t *cfg);

/* keys.c */
int auth_keyring_open(auth_keyring_t **out, auth_t *auth, err_t **err);
void auth_keyring_close(auth_keyring_t *kr);
/** Reloads keys from the database; creates the first key, and rotates one
 * older than cfg.key_max_age_s. */
int auth_keyring_refresh(auth_keyring_t *kr, err_t **err);
/** Creates a new signing key and retires the current one. */
int auth_keys_rotate(auth_t *auth, err_t **err);
/** Signs an access token for the user. *out is new. */
int auth_issue_access_token(auth_t *auth, const char *user_id, const char *username,
                            const char *role, char **out, int64_t *exp_out, err_t **err);

/** Who is calling. */
typedef enum { CALLER_ANONYMOUS, CALLER_USER, CALLER_SERVICE } caller_kind_t;
typedef struct caller {
    caller_kind_t kind;
    token_claims_t claims; /* CALLER_USER */
} caller_t;

/** Reads the caller from metadata: a Bearer access token (verified with our
 * keys) or the service key. A present but invalid token is UNAUTHENTICATED. */
int auth_caller(auth_t *auth, rpc_call_t *call, caller_t *out, err_t **err);
/** Like auth_caller but requires a signed-in user (UNAUTHENTICATED otherwise). */
int auth_require_user(auth_t *auth, rpc_call_t *call, caller_t *out, err_t **err);

int auth_rpc_get_public_keys(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                             err_t **err);

/* validate.c (time zones and display names: libcommon/text.h) — each returns
 * 0 or INVALID_ARGUMENT naming the field. The normalised value (lower-cased,
 * trimmed) is written to `out` (cap bytes). */
int auth_validate_email(const char *in, char *out, size_t cap, err_t **err);
int auth_validate_username(const char *in, char *out, size_t cap, err_t **err);
int auth_validate_password(const char *field, const char *in, err_t **err);
/** The Role of a stored role name (unknown names are learners), and back
 * (NULL for a value that is not a role). */
int auth_role_from_text(const char *role);
const char *auth_role_text(int role);

/* secrets.c: passwords. Both pass the hash gate, waiting at most until the
 * call's deadline (`call` NULL: the command line, up to a minute). */
int auth_hash_password(auth_t *auth, rpc_call_t *call, const char *password, char out[128],
                       err_t **err);
/** Sets *ok to whether `password` matches `hash`; fails only when the gate
 * refuses (UNAVAILABLE). */
int auth_verify_password(auth_t *auth, rpc_call_t *call, const char *hash, const char *password,
                         bool *ok, err_t **err);

/** Fills a User message (in the call's arena) from a users row read with the
 * columns of AUTH_USER_COLUMNS starting at column 0. */
#define AUTH_USER_COLUMNS                                                                          \
    "u.id::text, u.username, u.email, u.display_name, u.time_zone, u.role, "                       \
    "(extract(epoch from u.created_at) * 1000000)::bigint, "                                       \
    "coalesce((extract(epoch from u.time_zone_changed_at) * 1000000)::bigint, 0), "              \
    "coalesce(u.institution_id::text, ''), u.institution_admin"
#define AUTH_USER_NCOLS 10
Dojo__Auth__V1__User *auth_user_from_row(rpc_call_t *call, const PGresult *r, int row,
                                         bool with_email);
/** A Timestamp message in the call's arena. */
Dojo__Common__V1__Timestamp *auth_timestamp(rpc_call_t *call, int64_t unix_micros);
/** The sentinel password hash of an account made for someone (ProvisionAccounts)
 * whose owner has not chosen a password yet: no password verifies against it. */
#define AUTH_NO_PASSWORD "!"

/* accounts.c */
int auth_rpc_sign_up(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                     err_t **err);
int auth_rpc_get_user(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                      err_t **err);
int auth_rpc_update_profile(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                            err_t **err);
int auth_rpc_set_role(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                      err_t **err);
int auth_rpc_change_password(rpc_call_t *call, const ProtobufCMessage *req,
                             ProtobufCMessage **out, err_t **err);
/** Creates an account (used by SignUp and the operator command line). The
 * password is hashed first; then *conn is used, or when NULL a connection is
 * taken into it (the caller releases it). */
int auth_create_user(auth_t *auth, rpc_call_t *call, pg_conn_t **conn, const char *email,
                     const char *username, const char *password, const char *time_zone,
                     const char *display_name, const char *role, PGresult **out, err_t **err);
/** Issues an access token and a new refresh token (in `family`, or a new
 * family when NULL) for the user in row 0 of `user_row` (AUTH_USER_COLUMNS);
 * *out lives in the call's arena. */
int auth_issue_pair(auth_t *auth, rpc_call_t *call, pg_conn_t *conn, const PGresult *user_row,
                    const char *family, const char *client_ip, const char *user_agent,
                    Dojo__Auth__V1__TokenPair **out, err_t **err);
/** Sets the role of the account with this username or email (operators). */
int auth_set_role_by_login(auth_t *auth, const char *login, const char *role, err_t **err);
bool auth_is_uuid(const char *s);

/* institutions.c */
int auth_rpc_create_institution(rpc_call_t *call, const ProtobufCMessage *req,
                                ProtobufCMessage **out, err_t **err);
int auth_rpc_list_institutions(rpc_call_t *call, const ProtobufCMessage *req,
                               ProtobufCMessage **out, err_t **err);
int auth_rpc_set_institution(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                             err_t **err);
int auth_rpc_list_institution_members(rpc_call_t *call, const ProtobufCMessage *req,
                                      ProtobufCMessage **out, err_t **err);
/** May `caller` (a user) give `target_id` the role `role` as an admin of the
 * target's institution? 0 when it may; PERMISSION_DENIED otherwise. */
int auth_institution_may_set_role(pg_conn_t *conn, const caller_t *caller, const char *target_id,
                                  const char *role, err_t **err);
/** Operators: creates an institution (prints nothing). */
int auth_create_institution(auth_t *auth, const char *slug, const char *name, err_t **err);
/** Operators: puts the account with this username or email in the institution
 * with this slug ("-" takes it out), as its admin or not. */
int auth_set_institution_by_login(auth_t *auth, const char *login, const char *slug, bool admin,
                                  err_t **err);

/* provision.c */
int auth_rpc_get_users(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                       err_t **err);
int auth_rpc_provision_accounts(rpc_call_t *call, const ProtobufCMessage *req,
                                ProtobufCMessage **out, err_t **err);
int auth_rpc_send_mail(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                       err_t **err);

/* sessions.c */
int auth_rpc_login(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                   err_t **err);
int auth_rpc_refresh(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                     err_t **err);
int auth_rpc_logout(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                    err_t **err);
/** Takes one attempt from the budget of `key` (`limit` per fixed window of
 * `window_s`, starting at the first attempt) *before* the work it guards, in
 * one atomic Redis step, so parallel attempts cannot overshoot. Once the
 * budget is spent it fails with RESOURCE_EXHAUSTED and retry_after_s set to
 * the rest of the window. Redis being away fails the attempt (UNAVAILABLE):
 * limits hold rather than open. */
int auth_throttle_take(auth_t *auth, const char *key, int limit, int64_t window_s, err_t **err);
/** Returns one attempt to the budget (an attempt that turned out fine). */
void auth_throttle_give_back(auth_t *auth, const char *key);
/** Forgets a budget altogether (a successful login clears its account's). */
void auth_throttle_forget(auth_t *auth, const char *key);
/** The Redis key of a budget: kind plus a hash of the value, so no address
 * or username is stored in clear. */
void auth_throttle_key(char *out, size_t cap, const char *kind, const char *value);
/** Revokes every refresh token of a user (in the caller's transaction). */
int auth_revoke_all_sessions(pg_conn_t *conn, const char *user_id, err_t **err);

/* reset.c */
int auth_rpc_request_password_reset(rpc_call_t *call, const ProtobufCMessage *req,
                                    ProtobufCMessage **out, err_t **err);
int auth_rpc_reset_password(rpc_call_t *call, const ProtobufCMessage *req,
                            ProtobufCMessage **out, err_t **err);

/* mail.c */
int auth_mailer_start(auth_mailer_t **out, const auth_config_t *cfg, err_t **err);
/** Queues a mail; copies everything. Never blocks on delivery. */
void auth_mailer_send(auth_mailer_t *m, const char *to, const char *subject, const char *body);
/** Delivers what is queued, then stops the thread. */
void auth_mailer_stop(auth_mailer_t *m);

/* secrets.c: bearer secrets */
/** 32 random bytes as base64url: a bearer secret. *out is new. */
char *auth_random_token(void);
/** SHA-256 of `token` as 64 hex characters. */
void auth_token_hash(const char *token, char out[65]);

/* Shared helpers */
/** Takes a connection from the pool for `call`, waiting for one until 200 ms
 * before its deadline (5 s when `call` is NULL: the operator commands).
 * Borrowed until pg_conn_release. When none came free: UNAVAILABLE "busy: no
 * database connection free" with a retry-after (the gateway's 503), counted
 * in dojo_auth_db_busy_total. */
int auth_conn(auth_t *auth, rpc_call_t *call, pg_conn_t **out, err_t **err);

#endif
