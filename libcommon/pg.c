/* pg.c — PostgreSQL: a fixed-size pool of lazily made connections, prepared
 * statements only, SQLSTATE → status mapping, and migrations at start. */
#define _GNU_SOURCE
#include "pg.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "log.h"
#include "mem.h"
#include "slots.h"

/* Without an explicit connect_timeout libpq waits for the kernel (minutes)
 * on an unreachable host; a value in the conninfo still wins. */
#define PG_DEFAULT_CONNECT_TIMEOUT_S "5"

/* Migrations run at start, possibly behind another replica holding the
 * advisory lock; waiting for a pool connection that long is fine. */
#define PG_MIGRATE_ACQUIRE_MS 30000

struct pg_conn {
    pg_pool_t *pool;
    PGconn *pg;        /* NULL until first used, or after a failed reset */
    bool doomed;       /* the server announced it is closing this session */
    char **prepared;   /* statement names prepared in this session */
    size_t nprepared;
    size_t cap_prepared;
    char constraint[128];
};

struct pg_pool {
    slots_t slots; /* which of conns[] are lent out */
    char *conninfo;
    int size;
    pg_conn_t *conns;
};

/* ---------------------------------------------------------------------------
 * Errors
 *
 * libpq and server messages help operators but tell a client nothing useful
 * (and may name tables or values), so the public message of every error made
 * here is a fixed text per code; the full message stays in the log chain. */

static const char *public_text(grpc_status_code code)
{
    switch (code) {
    case GRPC_STATUS_ALREADY_EXISTS:
        return "already exists";
    case GRPC_STATUS_FAILED_PRECONDITION:
        return "refers to missing or still referenced data";
    case GRPC_STATUS_ABORTED:
        return "conflict with a concurrent change, try again";
    default:
        return NULL; /* err_public_message derives one from the code */
    }
}

/* libpq messages end with a newline (sometimes several lines); keep the
 * first line so log lines stay one line. */
static char *first_line(const char *s)
{
    if (s == NULL || s[0] == '\0')
        s = "unknown error";
    size_t n = strcspn(s, "\n");
    return xstrndup(s, n);
}

static grpc_status_code status_for_sqlstate(const char *state)
{
    if (state == NULL)
        return GRPC_STATUS_UNAVAILABLE; /* no server answer: the connection broke */
    if (!strcmp(state, "23505"))
        return GRPC_STATUS_ALREADY_EXISTS;
    if (!strcmp(state, "23503"))
        return GRPC_STATUS_FAILED_PRECONDITION;
    if (!strcmp(state, "40001") || !strcmp(state, "40P01"))
        return GRPC_STATUS_ABORTED;
    if (!strcmp(state, "57014"))
        return GRPC_STATUS_DEADLINE_EXCEEDED;
    /* Class 08 is connection exceptions; 57P01..57P03 are the server shutting
     * down or not accepting connections yet. */
    if (!strncmp(state, "08", 2) || !strcmp(state, "57P01") || !strcmp(state, "57P02") ||
        !strcmp(state, "57P03"))
        return GRPC_STATUS_UNAVAILABLE;
    return GRPC_STATUS_INTERNAL;
}

/* Turns a failed result (or a NULL one) into an error and remembers the
 * constraint name. `what` names the operation for the message. */
static int result_fail(pg_conn_t *conn, const PGresult *r, const char *what, err_t **err)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *constraint = r ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : NULL;
    snprintf(conn->constraint, sizeof conn->constraint, "%s", constraint ? constraint : "");

    grpc_status_code code = status_for_sqlstate(state);
    if (PQstatus(conn->pg) == CONNECTION_BAD)
        code = GRPC_STATUS_UNAVAILABLE;

    cleanup_free char *text =
        first_line(r && PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r)
                                                    : PQerrorMessage(conn->pg));
    if (constraint != NULL)
        return err_set_private(err, code, public_text(code), "%s: %s (sqlstate %s, constraint %s)",
                               what, text, state ? state : "none", constraint);
    return err_set_private(err, code, public_text(code), "%s: %s (sqlstate %s)", what, text,
                           state ? state : "none");
}

/* Server texts quote names with '"', which would end a quoted log value. */
static void log_safe(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
    for (char *p = dst; *p; p++)
        if (*p == '"' || *p == '\n')
            *p = '\'';
}

static bool result_ok(const PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    return r != NULL && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
}

/* ---------------------------------------------------------------------------
 * Connections
 *
 * A pool slot owns at most one PGconn. It is made the first time the slot is
 * used, and reset when libpq reports it broken; a new session has no prepared
 * statements, so the slot forgets them. */

static void conn_forget_prepared(pg_conn_t *conn)
{
    for (size_t i = 0; i < conn->nprepared; i++)
        free(conn->prepared[i]);
    conn->nprepared = 0;
}

static bool conn_has_prepared(const pg_conn_t *conn, const char *name)
{
    for (size_t i = 0; i < conn->nprepared; i++)
        if (!strcmp(conn->prepared[i], name))
            return true;
    return false;
}

static void conn_remember_prepared(pg_conn_t *conn, const char *name)
{
    if (conn->nprepared == conn->cap_prepared) {
        size_t cap = conn->cap_prepared ? conn->cap_prepared * 2 : 16;
        conn->prepared = xreallocarray(conn->prepared, cap, sizeof *conn->prepared);
        conn->cap_prepared = cap;
    }
    conn->prepared[conn->nprepared] = xstrdup(name);
    conn->nprepared++;
}

static void conn_forget_one(pg_conn_t *conn, const char *name)
{
    for (size_t i = 0; i < conn->nprepared; i++) {
        if (!strcmp(conn->prepared[i], name)) {
            free(conn->prepared[i]);
            conn->prepared[i] = conn->prepared[--conn->nprepared];
            return;
        }
    }
}

static void conn_drop(pg_conn_t *conn)
{
    if (conn->pg != NULL)
        PQfinish(conn->pg);
    conn->pg = NULL;
    conn->doomed = false;
    conn_forget_prepared(conn);
}

static PGconn *connect_new(const char *conninfo)
{
    /* expand_dbname turns the conninfo string or URI into parameters; the
     * ones it sets override the defaults listed before it. */
    static const char *const keys[] = {"connect_timeout", "dbname", NULL};
    const char *values[] = {PG_DEFAULT_CONNECT_TIMEOUT_S, conninfo, NULL};
    return PQconnectdbParams(keys, values, 1);
}

/* An idle socket that became readable means the server said something
 * unprompted — almost always a FATAL before closing (restart, terminated
 * backend). Consuming it lets libpq notice the broken connection now rather
 * than failing the caller's first statement. */
static void conn_check_idle(pg_conn_t *conn)
{
    /* The FATAL message and the end of the stream may need a read each;
     * PQconsumeInput returns 0 once it has seen the connection close. */
    for (int i = 0; i < 4; i++) {
        struct pollfd p = {.fd = PQsocket(conn->pg), .events = POLLIN};
        if (p.fd < 0 || poll(&p, 1, 0) <= 0 || !PQconsumeInput(conn->pg))
            return;
        PQisBusy(conn->pg); /* parses what arrived, so notices are reported */
    }
}

/* Server notices (NOTICE, WARNING, and the FATAL sent before a forced
 * disconnect) would otherwise go to stderr unstructured. IF NOT EXISTS
 * chatter is noise; warnings and worse are worth a log line. */
static void notice_receiver(void *arg, const PGresult *r)
{
    pg_conn_t *conn = arg;
    const char *severity = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *text = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (severity == NULL)
        severity = "NOTICE";
    /* A FATAL outside a query arrives as a notice, and the close that
     * follows may not have reached us yet: remember it. */
    if (!strcmp(severity, "FATAL") || !strcmp(severity, "PANIC"))
        conn->doomed = true;
    bool serious = strcmp(severity, "NOTICE") != 0 && strcmp(severity, "INFO") != 0 &&
                   strcmp(severity, "LOG") != 0 && strncmp(severity, "DEBUG", 5) != 0;
    char clean[256];
    log_safe(clean, sizeof clean, text);
    DOJO_LOG(serious ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG, "postgres notice",
             "severity=%s sqlstate=%s text=\"%s\"", severity, state ? state : "none", clean);
}

/* Makes sure the slot holds a working connection. */
static int conn_ensure(pg_conn_t *conn, err_t **err)
{
    if (conn->pg != NULL) {
        conn_check_idle(conn);
        if (PQstatus(conn->pg) == CONNECTION_OK && !conn->doomed)
            return 0;
        conn->doomed = false;
        conn_forget_prepared(conn);
        PQreset(conn->pg); /* keeps the notice receiver */
        if (PQstatus(conn->pg) == CONNECTION_OK) {
            LOG_INFO("postgres connection re-established", NULL);
            return 0;
        }
    } else {
        conn->pg = connect_new(conn->pool->conninfo);
        if (conn->pg == NULL)
            abort(); /* libpq returns NULL only when out of memory */
        PQsetNoticeReceiver(conn->pg, notice_receiver, conn);
        if (PQstatus(conn->pg) == CONNECTION_OK)
            return 0;
    }
    cleanup_free char *text = first_line(PQerrorMessage(conn->pg));
    conn_drop(conn);
    return err_set_private(err, GRPC_STATUS_UNAVAILABLE, NULL, "connect to postgres: %s", text);
}

/* ---------------------------------------------------------------------------
 * Pool */

int pg_pool_open(pg_pool_t **out, const char *conninfo, int size, err_t **err)
{
    if (size < 1)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "postgres pool size must be >= 1");
    pg_pool_t *pool = xcalloc(1, sizeof *pool);
    slots_init(&pool->slots, size);
    pool->size = size;
    pool->conninfo = xstrdup(conninfo);
    pool->conns = xcalloc((size_t)size, sizeof *pool->conns);
    for (int i = 0; i < size; i++)
        pool->conns[i].pool = pool;

    if (conn_ensure(&pool->conns[0], err) < 0) {
        pg_pool_close(pool);
        return -1;
    }
    *out = pool;
    return 0;
}

void pg_pool_close(pg_pool_t *pool)
{
    if (pool == NULL)
        return;
    for (int i = 0; i < pool->size; i++) {
        conn_drop(&pool->conns[i]);
        free(pool->conns[i].prepared);
    }
    slots_destroy(&pool->slots);
    free(pool->conns);
    free(pool->conninfo);
    free(pool);
}

static bool conn_connected(int index, void *payload)
{
    return ((pg_pool_t *)payload)->conns[index].pg != NULL;
}

static void pool_put(pg_pool_t *pool, pg_conn_t *conn)
{
    slots_put(&pool->slots, (int)(conn - pool->conns));
}

int pg_pool_acquire(pg_pool_t *pool, pg_conn_t **out, int timeout_ms, err_t **err)
{
    int i = slots_take(&pool->slots, timeout_ms, conn_connected, pool);
    pg_conn_t *conn = i < 0 ? NULL : &pool->conns[i];
    if (conn == NULL) {
        /* Busy, not broken: the caller's caller may come back in a moment. */
        err_set_private(err, GRPC_STATUS_UNAVAILABLE, "busy: no database connection free",
                        "postgres pool: no connection free within %d ms (pool size %d)",
                        timeout_ms, pool->size);
        return err_set_retry_after(err, 1);
    }

    /* Connecting happens outside the lock: it can take a while and other
     * threads may meanwhile use the remaining connections. */
    if (conn_ensure(conn, err) < 0) {
        pool_put(pool, conn);
        return -1;
    }
    conn->constraint[0] = '\0';
    *out = conn;
    return 0;
}

void pg_conn_release(pg_conn_t *conn)
{
    if (conn == NULL)
        return;
    if (conn->pg != NULL) {
        switch (PQtransactionStatus(conn->pg)) {
        case PQTRANS_IDLE:
            break;
        case PQTRANS_INTRANS:
        case PQTRANS_INERROR:
            pg_rollback(conn);
            break;
        default:
            /* A command still running or an unknown state: the session can
             * not be trusted for the next user. */
            conn_drop(conn);
            break;
        }
    }
    pool_put(conn->pool, conn);
}

/* ---------------------------------------------------------------------------
 * Statements */

static int stmt_prepare(pg_conn_t *conn, const pg_stmt_t *stmt, err_t **err)
{
    cleanup_pgresult PGresult *r = PQprepare(conn->pg, stmt->name, stmt->sql, stmt->nparams, NULL);
    if (!result_ok(r)) {
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        /* 42P05: the session already has it (our list was lost, e.g. after an
         * error between PQprepare and remembering it); it is usable. */
        if (state == NULL || strcmp(state, "42P05") != 0)
            return result_fail(conn, r, stmt->name, err) < 0 ? err_wrap(err, "prepare") : -1;
    }
    conn_remember_prepared(conn, stmt->name);
    return 0;
}

int pg_exec(pg_conn_t *conn, const pg_stmt_t *stmt, const char *const *params, PGresult **out,
            err_t **err)
{
    return pg_exec_bin(conn, stmt, params, NULL, NULL, false, out, err);
}

int pg_exec_bin(pg_conn_t *conn, const pg_stmt_t *stmt, const char *const *params,
                const int *lengths, const int *formats, bool binary_result, PGresult **out,
                err_t **err)
{
    conn->constraint[0] = '\0';
    if (conn->pg == NULL)
        return err_set_private(err, GRPC_STATUS_UNAVAILABLE, NULL, "%s: connection lost",
                               stmt->name);

    for (int attempt = 0;; attempt++) {
        if (!conn_has_prepared(conn, stmt->name) && stmt_prepare(conn, stmt, err) < 0)
            return -1;
        cleanup_pgresult PGresult *r =
            PQexecPrepared(conn->pg, stmt->name, stmt->nparams, params, lengths, formats,
                           binary_result ? 1 : 0);
        if (result_ok(r)) {
            if (out != NULL)
                *out = DOJO_STEAL(r);
            return 0;
        }
        /* 26000: the session lost the statement (a reconnect behind libpq's
         * back, DISCARD ALL by a proxy). Prepare again and retry once — but
         * only outside a transaction, which the error has just aborted. */
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        if (attempt == 0 && state != NULL && !strcmp(state, "26000") &&
            PQtransactionStatus(conn->pg) == PQTRANS_IDLE) {
            conn_forget_one(conn, stmt->name);
            continue;
        }
        return result_fail(conn, r, stmt->name, err);
    }
}

const char *pg_last_constraint(pg_conn_t *conn) { return conn->constraint; }

/* Fixed statements without parameters (transaction control, migration
 * text). Never called with text built from input. */
static int exec_static(pg_conn_t *conn, const char *sql, const char *what, PGresult **out,
                       err_t **err)
{
    conn->constraint[0] = '\0';
    if (conn->pg == NULL)
        return err_set_private(err, GRPC_STATUS_UNAVAILABLE, NULL, "%s: connection lost", what);
    cleanup_pgresult PGresult *r = PQexec(conn->pg, sql);
    if (!result_ok(r))
        return result_fail(conn, r, what, err);
    if (out != NULL)
        *out = DOJO_STEAL(r);
    return 0;
}

int pg_begin(pg_conn_t *conn, err_t **err) { return exec_static(conn, "BEGIN", "begin", NULL, err); }

int pg_commit(pg_conn_t *conn, err_t **err)
{
    cleanup_pgresult PGresult *r = NULL;
    if (exec_static(conn, "COMMIT", "commit", &r, err) < 0)
        return -1;
    /* COMMIT of a transaction that already failed succeeds as a command but
     * reports ROLLBACK: nothing was written, and the caller must know. */
    if (!strcmp(PQcmdStatus(r), "ROLLBACK"))
        return err_set_private(err, GRPC_STATUS_ABORTED, public_text(GRPC_STATUS_ABORTED),
                               "commit: transaction had failed and was rolled back");
    return 0;
}

void pg_rollback(pg_conn_t *conn)
{
    cleanup_err err_t *err = NULL;
    if (exec_static(conn, "ROLLBACK", "rollback", NULL, &err) < 0) {
        char msg[512];
        log_safe(msg, sizeof msg, err->msg);
        LOG_WARN("postgres rollback failed", "error=\"%s\"", msg);
        /* A session that could not roll back is left in an unknown state. */
        conn_drop(conn);
    }
}

/* ---------------------------------------------------------------------------
 * Result helpers */

const char *pg_get(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return "";
    return PQgetvalue(r, row, col);
}

bool pg_is_null(const PGresult *r, int row, int col) { return PQgetisnull(r, row, col) != 0; }

int64_t pg_get_int64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

bool pg_get_bool(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

/* ---------------------------------------------------------------------------
 * Migrations
 *
 * Identifiers can not be parameters, so the schema name is checked against a
 * strict pattern and then quoted; the per-schema statements get names that
 * include the schema, since statement names are per session and one process
 * (tests) may migrate several schemas. */

static bool schema_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63) /* NAMEDATALEN - 1 */
        return false;
    if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* FNV-1a: stable across PostgreSQL versions, unlike the internal hashtext(). */
static int64_t advisory_key(const char *schema)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = "dojo.migrate:"; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    for (const char *p = schema; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return (int64_t)h;
}

static void sha256_hex(const char *text, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
        abort();
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static const pg_stmt_t stmt_lock = {
    .name = "dojo_migrate_lock", .sql = "SELECT pg_advisory_lock($1::bigint)", .nparams = 1};
static const pg_stmt_t stmt_unlock = {
    .name = "dojo_migrate_unlock", .sql = "SELECT pg_advisory_unlock($1::bigint)", .nparams = 1};

/* The part of pg_migrate that runs while holding the advisory lock. */
static int migrate_locked(pg_conn_t *conn, const char *schema, const pg_migration_t *migrations,
                          size_t count, err_t **err)
{
    cleanup_free char *ddl = xasprintf("CREATE SCHEMA IF NOT EXISTS \"%s\";"
                                       "CREATE TABLE IF NOT EXISTS \"%s\".schema_migrations ("
                                       " name text PRIMARY KEY,"
                                       " checksum text NOT NULL,"
                                       " applied_at timestamptz NOT NULL DEFAULT now())",
                                       schema, schema);
    cleanup_free char *select_name = xasprintf("dojo_migrate_select_%s", schema);
    cleanup_free char *select_sql =
        xasprintf("SELECT name, checksum FROM \"%s\".schema_migrations", schema);
    cleanup_free char *insert_name = xasprintf("dojo_migrate_insert_%s", schema);
    cleanup_free char *insert_sql = xasprintf(
        "INSERT INTO \"%s\".schema_migrations (name, checksum) VALUES ($1, $2)", schema);
    const pg_stmt_t select_stmt = {.name = select_name, .sql = select_sql, .nparams = 0};
    const pg_stmt_t insert_stmt = {.name = insert_name, .sql = insert_sql, .nparams = 2};

    if (exec_static(conn, ddl, "create schema_migrations", NULL, err) < 0)
        return -1;
    cleanup_pgresult PGresult *applied = NULL;
    if (pg_exec(conn, &select_stmt, NULL, &applied, err) < 0)
        return err_wrap(err, "read schema_migrations");

    int napplied = 0;
    for (size_t i = 0; i < count; i++) {
        const pg_migration_t *m = &migrations[i];
        char sum[65];
        sha256_hex(m->sql, sum);

        const char *recorded = NULL;
        for (int row = 0; row < PQntuples(applied); row++)
            if (!strcmp(pg_get(applied, row, 0), m->name))
                recorded = pg_get(applied, row, 1);
        if (recorded != NULL) {
            if (strcmp(recorded, sum) != 0)
                return err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                               "migration %s.%s was changed after it was applied "
                               "(recorded sha256 %s, embedded %s); add a new migration instead",
                               schema, m->name, recorded, sum);
            continue;
        }

        if (pg_begin(conn, err) < 0)
            return err_wrap(err, "apply %s", m->name);
        const char *params[] = {m->name, sum};
        if (exec_static(conn, m->sql, m->name, NULL, err) < 0 ||
            pg_exec(conn, &insert_stmt, params, NULL, err) < 0 || pg_commit(conn, err) < 0) {
            pg_rollback(conn);
            return err_wrap(err, "apply %s.%s", schema, m->name);
        }
        napplied++;
        LOG_INFO("migration applied", "schema=%s migration=%s sha256=%.12s", schema, m->name, sum);
    }
    LOG_INFO("migrations up to date", "schema=%s applied_now=%d known=%zu", schema, napplied, count);
    return 0;
}

int pg_migrate(pg_pool_t *pool, const char *schema, const pg_migration_t *migrations, size_t count,
               err_t **err)
{
    if (!schema_name_valid(schema))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "migrate: schema name \"%s\" must match ^[a-z_][a-z0-9_]*$ (max 63)",
                       schema);
    for (size_t i = 1; i < count; i++)
        if (strcmp(migrations[i - 1].name, migrations[i].name) >= 0)
            return err_set(err, GRPC_STATUS_INTERNAL,
                           "migrate %s: migrations not sorted or duplicated at %s", schema,
                           migrations[i].name);

    cleanup_pgconn pg_conn_t *conn = NULL;
    if (pg_pool_acquire(pool, &conn, PG_MIGRATE_ACQUIRE_MS, err) < 0)
        return err_wrap(err, "migrate %s", schema);

    char key[32];
    snprintf(key, sizeof key, "%" PRId64, advisory_key(schema));
    const char *key_param[] = {key};
    /* Session-level, not transaction-level: each migration commits on its
     * own while the lock must span all of them. */
    if (pg_exec(conn, &stmt_lock, key_param, NULL, err) < 0)
        return err_wrap(err, "migrate %s: advisory lock", schema);

    int rc = migrate_locked(conn, schema, migrations, count, err);

    cleanup_err err_t *unlock_err = NULL;
    if (pg_exec(conn, &stmt_unlock, key_param, NULL, &unlock_err) < 0) {
        /* The lock would outlive us in this pooled session: end the session,
         * which releases it. */
        char msg[512];
        log_safe(msg, sizeof msg, unlock_err->msg);
        LOG_WARN("migration unlock failed", "schema=%s error=\"%s\"", schema, msg);
        conn_drop(conn);
    }
    if (rc < 0)
        return err_wrap(err, "migrate %s", schema);
    return 0;
}
