/* test_pg — the PostgreSQL pool, statements, errors and migrations, against
 * a real server named by DOJO_TEST_PG_URL (skipped when unset). Everything
 * happens in fresh schemas named dojo_t_<random>…, dropped at the end. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "libcommon/cleanup.h"
#include "libcommon/pg.h"
#include "testutil.h"

static const char *pg_url;
static char schema[32];    /* tables used by the statement tests */
static pg_pool_t *pool;    /* size 4 */
static PGconn *admin;      /* plain libpq: DDL, checks and sabotage */

/* Statement texts name the random schema, so they are filled in at start. */
static char sql_insert[256], sql_select[256], sql_note[256];
static pg_stmt_t stmt_insert_user = {"t_insert_user", sql_insert, 2};
static pg_stmt_t stmt_select_user = {"t_select_user", sql_select, 1};
static pg_stmt_t stmt_insert_note = {"t_insert_note", sql_note, 1};
static const pg_stmt_t stmt_backend_pid = {"t_backend_pid", "SELECT pg_backend_pid()", 0};
static const pg_stmt_t stmt_values = {
    "t_values", "SELECT 42::bigint, -7::bigint, true, false, NULL::text, 'x'::text", 0};
static const pg_stmt_t stmt_set_timeout = {
    "t_set_timeout", "SELECT set_config('statement_timeout', $1, false)", 1};
static const pg_stmt_t stmt_sleep = {"t_sleep", "SELECT pg_sleep($1::float8)", 1};

#define SKIP_WITHOUT_PG()                                                                          \
    do {                                                                                           \
        if (pg_url == NULL)                                                                        \
            skip();                                                                                \
    } while (0)

/* ---- helpers */

static void admin_exec(const char *sql)
{
    PGresult *r = PQexec(admin, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

/* The first field of `sql` as a number (-1 for NULL / no row). */
static long long admin_int(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cleanup_free char *sql = NULL;
    assert_true(vasprintf(&sql, fmt, ap) >= 0);
    va_end(ap);
    cleanup_pgresult PGresult *r = PQexec(admin, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    if (PQntuples(r) == 0 || PQgetisnull(r, 0, 0))
        return -1;
    return strtoll(PQgetvalue(r, 0, 0), NULL, 10);
}

/* Takes err by address: reading it as an argument next to the call that
 * sets it would be unsequenced. */
static void must(int rc, err_t **err, const char *what)
{
    if (rc < 0)
        fail_msg("%s: %s", what, *err ? (*err)->msg : "(no error)");
}

static void drop_schema(const char *s)
{
    char sql[128];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS \"%s\" CASCADE", s);
    admin_exec(sql);
}

/* ---- migration sets, built for a given schema */

typedef struct {
    char *sql[4];
    pg_migration_t m[4];
} mset_t;

static void mset_build(mset_t *ms, const char *s)
{
    assert_true(asprintf(&ms->sql[0], "CREATE TABLE \"%s\".counter (n int NOT NULL);\n"
                                      "INSERT INTO \"%s\".counter VALUES (1);\n",
                         s, s) >= 0);
    /* The sleep widens the window in which concurrent migrators would
     * overlap without the advisory lock. */
    assert_true(asprintf(&ms->sql[1], "SELECT pg_sleep(0.2);\n"
                                      "UPDATE \"%s\".counter SET n = n + 1;\n",
                         s) >= 0);
    assert_true(asprintf(&ms->sql[2], "UPDATE \"%s\".counter SET n = n + 10;", s) >= 0);
    assert_true(asprintf(&ms->sql[3], "CREATE TABLE \"%s\".half (x int);\n"
                                      "SELECT no_such_function();\n",
                         s) >= 0);
    static const char *const names[] = {"001_counter.sql", "002_bump.sql", "003_bump_more.sql",
                                        "004_broken.sql"};
    for (size_t i = 0; i < 4; i++)
        ms->m[i] = (pg_migration_t){names[i], ms->sql[i]};
}

static void mset_free(mset_t *ms)
{
    for (size_t i = 0; i < 4; i++)
        free(ms->sql[i]);
}

static void migration_schema(char *out, size_t cap, const char *suffix)
{
    snprintf(out, cap, "%s_%s", schema, suffix);
}

/* ---- fixtures */

static int setup(void **state)
{
    if (pg_url == NULL)
        return 0;
    char hex[13];
    random_hex(hex, 12);
    snprintf(schema, sizeof schema, "dojo_t_%s", hex);
    admin = PQconnectdb(pg_url);
    if (PQstatus(admin) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect to DOJO_TEST_PG_URL: %s", PQerrorMessage(admin));
        return -1;
    }
    PQclear(PQexec(admin, "SET client_min_messages = warning"));

    snprintf(sql_insert, sizeof sql_insert,
             "INSERT INTO \"%s\".users (email, name) VALUES ($1, $2) RETURNING id", schema);
    snprintf(sql_select, sizeof sql_select,
             "SELECT id, email, name, active FROM \"%s\".users WHERE email = $1", schema);
    snprintf(sql_note, sizeof sql_note, "INSERT INTO \"%s\".notes (user_id) VALUES ($1::bigint)",
             schema);

    cleanup_err err_t *err = NULL;
    if (pg_pool_open(&pool, pg_url, 4, &err) < 0) {
        fprintf(stderr, "pg_pool_open: %s\n", err->msg);
        return -1;
    }
    cleanup_free char *ddl = NULL;
    assert_true(asprintf(&ddl,
                         "CREATE TABLE \"%s\".users (id bigserial PRIMARY KEY,"
                         " email text NOT NULL CONSTRAINT users_email_key UNIQUE,"
                         " name text, active bool NOT NULL DEFAULT true);"
                         "CREATE TABLE \"%s\".notes (id bigserial PRIMARY KEY,"
                         " user_id bigint NOT NULL CONSTRAINT notes_user_id_fkey"
                         " REFERENCES \"%s\".users (id));",
                         schema, schema, schema) >= 0);
    const pg_migration_t tables[] = {{"001_tables.sql", ddl}};
    if (pg_migrate(pool, schema, tables, 1, &err) < 0) {
        fprintf(stderr, "pg_migrate: %s\n", err->msg);
        return -1;
    }
    printf("using schema %s\n", schema);
    return 0;
}

static int teardown(void **state)
{
    if (pg_url == NULL)
        return 0;
    pg_pool_close(pool);
    static const char *const suffixes[] = {"", "_m1", "_m2", "_m3", "_m4", "_m5"};
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        char s[64];
        snprintf(s, sizeof s, "%s%s", schema, suffixes[i]);
        drop_schema(s);
    }
    PQfinish(admin);
    return 0;
}

/* ---- statements */

static void test_statement_with_parameters_returns_rows(void **state)
{
    SKIP_WITHOUT_PG();
    cleanup_err err_t *err = NULL;
    cleanup_pgconn pg_conn_t *c = NULL;
    must(pg_pool_acquire(pool, &c, 1000, &err), &err, "acquire");

    const char *params[] = {"ann@example.org", "Ann O'Neil; DROP TABLE users"};
    cleanup_pgresult PGresult *ins = NULL;
    must(pg_exec(c, &stmt_insert_user, params, &ins, &err), &err, "insert");
    assert_int_equal(PQntuples(ins), 1);
    assert_true(pg_get_int64(ins, 0, 0) > 0);

    const char *key[] = {"ann@example.org"};
    cleanup_pgresult PGresult *r = NULL;
    must(pg_exec(c, &stmt_select_user, key, &r, &err), &err, "select");
    assert_int_equal(PQntuples(r), 1);
    assert_int_equal(pg_get_int64(r, 0, 0), pg_get_int64(ins, 0, 0));
    assert_string_equal(pg_get(r, 0, 1), "ann@example.org");
    assert_string_equal(pg_get(r, 0, 2), "Ann O'Neil; DROP TABLE users");
    assert_true(pg_get_bool(r, 0, 3));

    /* Run again: the statement is already prepared on this connection. */
    PGresult *again = NULL;
    must(pg_exec(c, &stmt_select_user, key, &again, &err), &err, "select again");
    assert_int_equal(PQntuples(again), 1);
    PQclear(again);
}

static void test_null_parameter_is_sql_null(void **state)
{
    SKIP_WITHOUT_PG();
    cleanup_err err_t *err = NULL;
    cleanup_pgconn pg_conn_t *c = NULL;
    must(pg_pool_acquire(pool, &c, 1000, &err), &err, "acquire");
    const char *params[] = {"nameless@example.org", NULL};
    must(pg_exec(c, &stmt_insert_user, params, NULL, &err), &err, "insert");
    const char *key[] = {"nameless@example.org"};
    cleanup_pgresult PGresult *r = NULL;
    must(pg_exec(c, &stmt_select_user, key, &r, &err), &err, "select");
    assert_true(pg_is_null(r, 0, 2));
    assert_string_equal(pg_get(r, 0, 2), "");
    assert_false(pg_is_null(r, 0, 1));
}

static void test_unique_violation_maps_to_already_exists(void **state)
{
    SKIP_WITHOUT_PG();
    cleanup_err err_t *err = NULL;
    cleanup_pgconn pg_conn_t *c = NULL;
    must(pg_pool_acquire(pool, &c, 1000, &err), &err, "acquire");
    const char *params[] = {"dup@example.org", "first"};
    must(pg_exec(c, &stmt_insert_user, params, NULL, &err), &err, "first insert");

    assert_int_equal(pg_exec(c, &stmt_insert_user, params, NULL, &err), -1);
    assert_int_equal(err->code, GRPC_STATUS_ALREADY_EXISTS);
    assert_string_equal(pg_last_constraint(c), "users_email_key");
    assert_non_null(strstr(err->msg, "users_email_key"));
    /* The client sees a fixed text, not the server's. */
    assert_string_equal(err_public_message(err), "already exists");

    err_clear(&err);
    const char *key[] = {"dup@example.org"};
    must(pg_exec(c, &stmt_select_user, key, NULL, &err), &err, "select after error");
    assert_string_equal(pg_last_constraint(c), "");
}

static void test_foreign_key_violation_maps_to_failed_precondition(void **state)
{
    SKIP_WITHOUT_PG();
    cleanup_err err_t *err = NULL;
    cleanup_pgconn pg_conn_t *c = NULL;
    must(pg_pool_acquire(pool, &c, 1000, &err), &err, "acquire");
    const char *params[] = {"999999999"};
    assert_int_equal(pg_exec(c, &stmt_insert_note, params, NULL, &err), -1);
    assert_int_equal(err->code, GRPC_STATUS_FAILED_PRECONDITION);
    assert_string_equal(pg_last_constraint(c), "notes_user_id_fkey");
}

static void test_other_errors_are_internal_with_private_message(void **state)
{
    SKIP_WITHOUT_PG();
    cleanup_err err_t *err = NULL;
    cleanup_pgconn pg_conn_t *c = NULL;
    must(pg_pool_acquire(pool, &c, 1000, &err), &err, "acquire");
    static const pg_stmt_t bad = {"t_bad", "SELECT * FROM no_such_table_anywhere", 0};
    assert_int_equal(pg_exec(c, &bad, NULL, NULL, &err), -1);
    assert_int_equal(err->code, GRPC_STATUS_INTERNAL);
    assert_non_null(strstr(err->msg, "no_such_table_anywhere"));
    assert_non_null(strstr(err->msg, "42P01"));
    assert_string_equal(err_public_message(err), "internal error");
}

static void test_result_helpers_convert_values(void **state)
{
    SKIP_WITHOUT_PG();
    cleanup_err err_t *err = NULL;
    cleanup_pgconn pg_conn_t *c = NULL;
    must(pg_pool_acquire(pool, &c, 1000, &err), &err, "acquire");
    cleanup_pgresult PGresult *r = NULL;
    must(pg_exec(c, &stmt_values, NULL, &r, &err), &err, "values");
    assert_int_equal(pg_get_int64(r, 0, 0), 42);
    assert_int_equal(pg_get_int64(r, 0, 1), -7);
    assert_true(pg_get_bool(r, 0, 2));
    assert_false(pg_get_bool(r, 0, 3));
    assert_true(pg_is_null(r, 0, 4));
    assert_int_equal(pg_get_int64(r, 0, 4), 0);
    assert_false(pg_get_bool(r, 0, 4));
    assert_string_equal(pg_get(r, 0, 5), "x");
}

static void test_statement_timeout_maps_to_deadline_exceeded(void **state)
{
    SKIP_WITHOUT_PG();
    cleanup_err err_t *err = NULL;
    cleanup_pgconn pg_conn_t *c = NULL;
    must(pg_pool_acquire(pool, &c, 1000, &err), &err, "acquire");
    const char *ms50[] = {"50"}, *off[] = {"0"}, *one_s[] = {"1"};
    must(pg_exec(c, &stmt_set_timeout, ms50, NULL, &err), &err, "set timeout");
    int rc = pg_exec(c, &stmt_sleep, one_s, NULL, &err);
    cleanup_err err_t *reset_err = NULL;
    must(pg_exec(c, &stmt_set_timeout, off, NULL, &reset_err), &reset_err, "reset timeout");
    assert_int_equal(rc, -1);
    assert_int_equal(err->code, GRPC_STATUS_DEADLINE_EXCEEDED);
}

/* ---- transactions */

static long long count_users(const char *email)
{
    return admin_int("SELECT count(*) FROM \"%s\".users WHERE email = '%s'", schema, email);
}

static void test_commit_makes_changes_visible(void **state)
{
    SKIP_WITHOUT_PG();
    cleanup_err err_t *err = NULL;
    cleanup_pgconn pg_conn_t *c = NULL;
    must(pg_pool_acquire(pool, &c, 1000, &err), &err, "acquire");
    must(pg_begin(c, &err), &err, "begin");
    const char *params[] = {"tx@example.org", "tx"};
    must(pg_exec(c, &stmt_insert_user, params, NULL, &err), &err, "insert");
    assert_int_equal(count_users("tx@example.org"), 0);
    must(pg_commit(c, &err), &err, "commit");
    assert_int_equal(count_users("tx@example.org"), 1);
}

static void test_rollback_discards_changes(void **state)
{
    SKIP_WITHOUT_PG();
    cleanup_err err_t *err = NULL;
    cleanup_pgconn pg_conn_t *c = NULL;
    must(pg_pool_acquire(pool, &c, 1000, &err), &err, "acquire");
    must(pg_begin(c, &err), &err, "begin");
    const char *params[] = {"rolled@example.org", "r"};
    must(pg_exec(c, &stmt_insert_user, params, NULL, &err), &err, "insert");
    pg_rollback(c);
    assert_int_equal(count_users("rolled@example.org"), 0);
}

static void test_commit_after_failed_statement_is_aborted(void **state)
{
    SKIP_WITHOUT_PG();
    cleanup_err err_t *err = NULL;
    cleanup_pgconn pg_conn_t *c = NULL;
    must(pg_pool_acquire(pool, &c, 1000, &err), &err, "acquire");
    const char *params[] = {"half@example.org", "h"};
    const char *missing[] = {"999999998"};
    must(pg_begin(c, &err), &err, "begin");
    must(pg_exec(c, &stmt_insert_user, params, NULL, &err), &err, "insert");
    assert_int_equal(pg_exec(c, &stmt_insert_note, missing, NULL, &err), -1);
    err_clear(&err);
    assert_int_equal(pg_commit(c, &err), -1);
    assert_int_equal(err->code, GRPC_STATUS_ABORTED);
    assert_int_equal(count_users("half@example.org"), 0);
}

static void test_release_rolls_back_an_open_transaction(void **state)
{
    SKIP_WITHOUT_PG();
    cleanup_err err_t *err = NULL;
    pg_conn_t *c = NULL;
    must(pg_pool_acquire(pool, &c, 1000, &err), &err, "acquire");
    must(pg_begin(c, &err), &err, "begin");
    const char *params[] = {"forgotten@example.org", "f"};
    must(pg_exec(c, &stmt_insert_user, params, NULL, &err), &err, "insert");
    pg_conn_release(c);
    assert_int_equal(count_users("forgotten@example.org"), 0);

    /* The next user of the connection is outside any transaction. */
    cleanup_pgconn pg_conn_t *c2 = NULL;
    must(pg_pool_acquire(pool, &c2, 1000, &err), &err, "acquire again");
    must(pg_exec(c2, &stmt_insert_user, params, NULL, &err), &err, "insert again");
    assert_int_equal(count_users("forgotten@example.org"), 1);
}

/* ---- pool */

static void test_pool_acquire_timeout_is_unavailable_busy_with_a_retry_after(void **state)
{
    SKIP_WITHOUT_PG();
    cleanup_err err_t *err = NULL;
    pg_pool_t *small = NULL;
    must(pg_pool_open(&small, pg_url, 1, &err), &err, "open");
    pg_conn_t *held = NULL;
    must(pg_pool_acquire(small, &held, 1000, &err), &err, "acquire");

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pg_conn_t *second = NULL;
    assert_int_equal(pg_pool_acquire(small, &second, 150, &err), -1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(err->code, GRPC_STATUS_UNAVAILABLE);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms >= 140); /* it waited its 150 ms (an upper bound would only hold when idle) */
    /* Busy, not broken, and it says so: callers answer "come back soon". */
    assert_string_equal(err_public_message(err), "busy: no database connection free");
    assert_int_equal(err->retry_after_s, 1);
    assert_null(strstr(err_public_message(err), "pool size"));

    pg_conn_release(held);
    err_clear(&err);
    must(pg_pool_acquire(small, &second, 150, &err), &err, "acquire after release");
    pg_conn_release(second);
    pg_pool_close(small);
}

static void *acquire_later(void *arg)
{
    pg_conn_t *held = arg;
    usleep(100 * 1000);
    pg_conn_release(held);
    return NULL;
}

static void test_waiting_acquire_gets_a_released_connection(void **state)
{
    SKIP_WITHOUT_PG();
    cleanup_err err_t *err = NULL;
    pg_pool_t *small = NULL;
    must(pg_pool_open(&small, pg_url, 1, &err), &err, "open");
    pg_conn_t *held = NULL;
    must(pg_pool_acquire(small, &held, 1000, &err), &err, "acquire");
    pthread_t t;
    pthread_create(&t, NULL, acquire_later, held);
    pg_conn_t *second = NULL;
    must(pg_pool_acquire(small, &second, 5000, &err), &err, "waiting acquire");
    pthread_join(t, NULL);
    pg_conn_release(second);
    pg_pool_close(small);
}

static void test_open_with_wrong_address_is_unavailable(void **state)
{
    SKIP_WITHOUT_PG();
    char url[128];
    snprintf(url, sizeof url, "postgresql://postgres@127.0.0.1:%d/postgres", free_port());
    cleanup_err err_t *err = NULL;
    pg_pool_t *p = NULL;
    assert_int_equal(pg_pool_open(&p, url, 2, &err), -1);
    assert_null(p);
    assert_int_equal(err->code, GRPC_STATUS_UNAVAILABLE);
    assert_non_null(strstr(err->msg, "connect to postgres"));
}

static int64_t backend_pid(pg_conn_t *c)
{
    cleanup_err err_t *err = NULL;
    cleanup_pgresult PGresult *r = NULL;
    must(pg_exec(c, &stmt_backend_pid, NULL, &r, &err), &err, "backend pid");
    return pg_get_int64(r, 0, 0);
}

static void terminate(int64_t pid)
{
    assert_int_equal(admin_int("SELECT pg_terminate_backend(%lld)::int", (long long)pid), 1);
    /* pg_terminate_backend only signals; wait until the backend is gone. */
    for (int i = 0; i < 100; i++) {
        if (admin_int("SELECT count(*) FROM pg_stat_activity WHERE pid = %lld", (long long)pid) ==
            0)
            return;
        usleep(20 * 1000);
    }
    fail_msg("backend %lld did not exit", (long long)pid);
}

static void test_lost_connection_is_unavailable_then_reestablished(void **state)
{
    SKIP_WITHOUT_PG();
    cleanup_err err_t *err = NULL;
    pg_pool_t *small = NULL;
    must(pg_pool_open(&small, pg_url, 1, &err), &err, "open");
    pg_conn_t *c = NULL;
    must(pg_pool_acquire(small, &c, 1000, &err), &err, "acquire");
    int64_t pid = backend_pid(c);
    terminate(pid);

    assert_int_equal(pg_exec(c, &stmt_values, NULL, NULL, &err), -1);
    assert_int_equal(err->code, GRPC_STATUS_UNAVAILABLE);
    pg_conn_release(c);
    err_clear(&err);

    /* Same slot, new session: statements are prepared again. */
    must(pg_pool_acquire(small, &c, 1000, &err), &err, "acquire after loss");
    assert_int_not_equal(backend_pid(c), pid);
    must(pg_exec(c, &stmt_values, NULL, NULL, &err), &err, "statement after reconnect");
    pg_conn_release(c);
    pg_pool_close(small);
}

static void test_connection_lost_while_idle_is_replaced_before_use(void **state)
{
    SKIP_WITHOUT_PG();
    cleanup_err err_t *err = NULL;
    pg_pool_t *small = NULL;
    must(pg_pool_open(&small, pg_url, 1, &err), &err, "open");
    pg_conn_t *c = NULL;
    must(pg_pool_acquire(small, &c, 1000, &err), &err, "acquire");
    int64_t pid = backend_pid(c);
    pg_conn_release(c);
    terminate(pid);

    must(pg_pool_acquire(small, &c, 1000, &err), &err, "acquire after idle loss");
    must(pg_exec(c, &stmt_values, NULL, NULL, &err), &err, "first statement");
    assert_int_not_equal(backend_pid(c), pid);
    pg_conn_release(c);
    pg_pool_close(small);
}

/* ---- migrations */

static long long counter_of(const char *s)
{
    return admin_int("SELECT n FROM \"%s\".counter", s);
}

static void test_migrations_are_applied_once_and_recorded(void **state)
{
    SKIP_WITHOUT_PG();
    char s[64];
    migration_schema(s, sizeof s, "m1");
    mset_t ms;
    mset_build(&ms, s);
    cleanup_err err_t *err = NULL;
    must(pg_migrate(pool, s, ms.m, 2, &err), &err, "migrate");
    assert_int_equal(counter_of(s), 2);

    /* Recorded with the sha256 of the exact text. */
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT name, checksum = encode(sha256(convert_to($1, 'UTF8')), 'hex'),"
             " applied_at IS NOT NULL FROM \"%s\".schema_migrations ORDER BY name",
             s);
    for (int i = 0; i < 2; i++) {
        const char *p[] = {ms.sql[i]};
        cleanup_pgresult PGresult *r = PQexecParams(admin, sql, 1, NULL, p, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        assert_int_equal(PQntuples(r), 2);
        assert_string_equal(PQgetvalue(r, i, 0), ms.m[i].name);
        assert_string_equal(PQgetvalue(r, i, 1), "t");
        assert_string_equal(PQgetvalue(r, i, 2), "t");
    }

    /* Running again applies nothing. */
    long long before = admin_int("SELECT extract(epoch FROM max(applied_at)) * 1e6 FROM "
                                 "\"%s\".schema_migrations",
                                 s);
    must(pg_migrate(pool, s, ms.m, 2, &err), &err, "migrate again");
    assert_int_equal(counter_of(s), 2);
    assert_int_equal(admin_int("SELECT count(*) FROM \"%s\".schema_migrations", s), 2);
    assert_int_equal(admin_int("SELECT extract(epoch FROM max(applied_at)) * 1e6 FROM "
                               "\"%s\".schema_migrations",
                               s),
                     before);

    /* A new migration is applied on top of the recorded ones. */
    must(pg_migrate(pool, s, ms.m, 3, &err), &err, "migrate with a new one");
    assert_int_equal(counter_of(s), 12);
    mset_free(&ms);
}

static void test_changed_checksum_is_refused(void **state)
{
    SKIP_WITHOUT_PG();
    char s[64];
    migration_schema(s, sizeof s, "m2");
    mset_t ms;
    mset_build(&ms, s);
    cleanup_err err_t *err = NULL;
    must(pg_migrate(pool, s, ms.m, 2, &err), &err, "migrate");

    cleanup_free char *edited = NULL;
    assert_true(asprintf(&edited, "%s-- an innocent comment\n", ms.sql[1]) >= 0);
    pg_migration_t changed[3] = {ms.m[0], {ms.m[1].name, edited}, ms.m[2]};
    assert_int_equal(pg_migrate(pool, s, changed, 3, &err), -1);
    assert_int_equal(err->code, GRPC_STATUS_FAILED_PRECONDITION);
    assert_non_null(strstr(err->msg, "002_bump.sql"));
    /* Nothing after the refused one ran. */
    assert_int_equal(counter_of(s), 2);
    mset_free(&ms);
}

static void test_failed_migration_is_rolled_back_and_not_recorded(void **state)
{
    SKIP_WITHOUT_PG();
    char s[64];
    migration_schema(s, sizeof s, "m3");
    mset_t ms;
    mset_build(&ms, s);
    pg_migration_t list[] = {ms.m[0], ms.m[3]};
    cleanup_err err_t *err = NULL;
    assert_int_equal(pg_migrate(pool, s, list, 2, &err), -1);
    assert_non_null(strstr(err->msg, "004_broken.sql"));
    assert_non_null(strstr(err->msg, "no_such_function"));
    assert_int_equal(admin_int("SELECT count(*) FROM \"%s\".schema_migrations", s), 1);
    assert_int_equal(admin_int("SELECT count(*) FROM pg_tables WHERE schemaname = '%s' AND "
                               "tablename = 'half'",
                               s),
                     0);
    /* The advisory lock was released: another migrate can run. */
    err_clear(&err);
    must(pg_migrate(pool, s, ms.m, 1, &err), &err, "migrate after failure");
    mset_free(&ms);
}

typedef struct {
    const char *schema;
    const pg_migration_t *m;
    int rc;
    char msg[256];
} migrator_t;

static void *migrate_in_thread(void *arg)
{
    migrator_t *job = arg;
    cleanup_err err_t *err = NULL;
    pg_pool_t *own = NULL; /* a pool per replica, as separate processes would have */
    job->rc = pg_pool_open(&own, pg_url, 1, &err);
    if (job->rc == 0)
        job->rc = pg_migrate(own, job->schema, job->m, 2, &err);
    if (err)
        snprintf(job->msg, sizeof job->msg, "%s", err->msg);
    pg_pool_close(own);
    return NULL;
}

static void test_concurrent_migrations_from_threads_apply_each_once(void **state)
{
    SKIP_WITHOUT_PG();
    char s[64];
    migration_schema(s, sizeof s, "m4");
    mset_t ms;
    mset_build(&ms, s);
    migrator_t jobs[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (migrator_t){.schema = s, .m = ms.m};
        pthread_create(&t[i], NULL, migrate_in_thread, &jobs[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        if (jobs[i].rc != 0)
            fail_msg("migrator %d: %s", i, jobs[i].msg);
    }
    assert_int_equal(counter_of(s), 2);
    assert_int_equal(admin_int("SELECT count(*) FROM \"%s\".schema_migrations", s), 2);
    mset_free(&ms);
}

static void test_concurrent_migrations_from_processes_apply_each_once(void **state)
{
    SKIP_WITHOUT_PG();
    char s[64];
    /* A schema nobody created yet: creating it is part of the race. */
    migration_schema(s, sizeof s, "m5");
    mset_t ms;
    mset_build(&ms, s);
    pid_t pids[3];
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < 3; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            migrator_t job = {.schema = s, .m = ms.m};
            migrate_in_thread(&job);
            if (job.rc != 0)
                fprintf(stderr, "child migrator: %s\n", job.msg);
            _exit(job.rc == 0 ? 0 : 1);
        }
    }
    for (int i = 0; i < 3; i++) {
        int status = 0;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(counter_of(s), 2);
    assert_int_equal(admin_int("SELECT count(*) FROM \"%s\".schema_migrations", s), 2);
    drop_schema(s);
    mset_free(&ms);
}

static void test_invalid_schema_name_is_rejected(void **state)
{
    SKIP_WITHOUT_PG();
    static const char *const bad[] = {"", "Auth", "9lives", "a-b", "x\"; DROP SCHEMA public; --",
                                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cleanup_err err_t *err = NULL;
        assert_int_equal(pg_migrate(pool, bad[i], NULL, 0, &err), -1);
        assert_int_equal(err->code, GRPC_STATUS_INVALID_ARGUMENT);
    }
}

static void test_unsorted_migrations_are_refused(void **state)
{
    SKIP_WITHOUT_PG();
    const pg_migration_t m[] = {{"002_b.sql", "SELECT 1"}, {"001_a.sql", "SELECT 1"}};
    cleanup_err err_t *err = NULL;
    assert_int_equal(pg_migrate(pool, "dojo_t_never_created", m, 2, &err), -1);
    assert_int_equal(err->code, GRPC_STATUS_INTERNAL);
}

int main(void)
{
    pg_url = test_env_or_null("DOJO_TEST_PG_URL");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statement_with_parameters_returns_rows),
        cmocka_unit_test(test_null_parameter_is_sql_null),
        cmocka_unit_test(test_unique_violation_maps_to_already_exists),
        cmocka_unit_test(test_foreign_key_violation_maps_to_failed_precondition),
        cmocka_unit_test(test_other_errors_are_internal_with_private_message),
        cmocka_unit_test(test_result_helpers_convert_values),
        cmocka_unit_test(test_statement_timeout_maps_to_deadline_exceeded),
        cmocka_unit_test(test_commit_makes_changes_visible),
        cmocka_unit_test(test_rollback_discards_changes),
        cmocka_unit_test(test_commit_after_failed_statement_is_aborted),
        cmocka_unit_test(test_release_rolls_back_an_open_transaction),
        cmocka_unit_test(test_pool_acquire_timeout_is_unavailable_busy_with_a_retry_after),
        cmocka_unit_test(test_waiting_acquire_gets_a_released_connection),
        cmocka_unit_test(test_open_with_wrong_address_is_unavailable),
        cmocka_unit_test(test_lost_connection_is_unavailable_then_reestablished),
        cmocka_unit_test(test_connection_lost_while_idle_is_replaced_before_use),
        cmocka_unit_test(test_migrations_are_applied_once_and_recorded),
        cmocka_unit_test(test_changed_checksum_is_refused),
        cmocka_unit_test(test_failed_migration_is_rolled_back_and_not_recorded),
        cmocka_unit_test(test_concurrent_migrations_from_threads_apply_each_once),
        cmocka_unit_test(test_concurrent_migrations_from_processes_apply_each_once),
        cmocka_unit_test(test_invalid_schema_name_is_rejected),
        cmocka_unit_test(test_unsorted_migrations_are_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
