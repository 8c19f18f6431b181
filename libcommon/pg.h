/* pg.h — PostgreSQL through libpq: a connection pool, prepared statements
 * only, transactions, and per-service SQL migrations applied at start.
 *
 * Statements are static definitions; each connection prepares a statement the
 * first time it runs it and reuses it afterwards. No SQL text is ever built
 * from input: every value travels as a parameter. */
#ifndef DOJO_PG_H
#define DOJO_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct pg_pool pg_pool_t;
typedef struct pg_conn pg_conn_t;

/** A statement definition; declare them `static const` next to their use.
 * `name` must be unique in the process. Parameters are text ($1 … $n). */
typedef struct pg_stmt {
    const char *name;
    const char *sql;
    int nparams;
} pg_stmt_t;

/** One migration: applied once, in name order, each in its own transaction. */
typedef struct pg_migration {
    const char *name; /* file name, e.g. "001_users.sql" */
    const char *sql;  /* may hold several statements */
} pg_migration_t;

static inline void cleanup_pgresult_fn(PGresult **r)
{
    if (*r)
        PQclear(*r);
}
#define cleanup_pgresult __attribute__((cleanup(cleanup_pgresult_fn)))

/** Opens a pool of `size` connections to `conninfo` (a libpq connection string
 * or URI; connect_timeout defaults to 5 s unless it sets one). Connections are
 * made lazily; the first one is made now so a wrong address fails at start
 * (UNAVAILABLE). *out is new: pg_pool_close it. */
int pg_pool_open(pg_pool_t **out, const char *conninfo, int size, err_t **err);

/** Closes every connection and frees the pool (NULL is fine). Every
 * connection must have been released; nothing may be acquired any more. */
void pg_pool_close(pg_pool_t *pool);

/** Takes a connection, waiting up to `timeout_ms` for a free one
 * (UNAVAILABLE after that: public message "busy: no database connection
 * free", retry_after_s 1). A connection that broke while idle is
 * re-established first (UNAVAILABLE when that fails). *out is borrowed from
 * the pool until pg_conn_release; use it from one thread at a time. */
int pg_pool_acquire(pg_pool_t *pool, pg_conn_t **out, int timeout_ms, err_t **err);

/** Gives a connection back to its pool; an open transaction is rolled back.
 * NULL is fine. */
void pg_conn_release(pg_conn_t *conn);

static inline void cleanup_pgconn_fn(pg_conn_t **c) { pg_conn_release(*c); }
#define cleanup_pgconn __attribute__((cleanup(cleanup_pgconn_fn)))

/** Runs a prepared statement with `stmt->nparams` text parameters (a NULL
 * element is SQL NULL; `params` may be NULL when there are none). The
 * statement is prepared on this connection the first time it runs here (and
 * again if the session lost it). On success *out (when out is non-NULL) is a
 * new result to PQclear (use cleanup_pgresult). Errors map SQLSTATE to a
 * status: unique violation → ALREADY_EXISTS, foreign key →
 * FAILED_PRECONDITION, serialization failure / deadlock → ABORTED, statement
 * timeout → DEADLINE_EXCEEDED, lost connection / server shutting down →
 * UNAVAILABLE, anything else INTERNAL. The error's message (logs) carries the
 * server's text; its public message is a fixed text per code, so a handler
 * that wants a precise client message replaces the error after checking
 * pg_last_constraint. A failed statement is not retried (it may have run). */
int pg_exec(pg_conn_t *conn, const pg_stmt_t *stmt, const char *const *params, PGresult **out,
            err_t **err);

/** pg_exec with binary data: parameter i is `lengths[i]` bytes of binary
 * data where `formats[i]` is 1 (text, NUL-terminated, where it is 0; both
 * arrays may be NULL for all text), and with `binary_result` every column
 * of the result comes in binary (bytea as its bytes, int8 as 8 bytes in
 * network order). For bytea, which text would double in size. */
int pg_exec_bin(pg_conn_t *conn, const pg_stmt_t *stmt, const char *const *params,
                const int *lengths, const int *formats, bool binary_result, PGresult **out,
                err_t **err);

/** The constraint named by the last failed pg_exec on this connection ("" if
 * none). Borrowed; valid until the next pg_exec on `conn`. */
const char *pg_last_constraint(pg_conn_t *conn);

/** BEGIN / COMMIT / ROLLBACK. pg_commit of a transaction in which a statement
 * failed fails with ABORTED (the server rolled it back). pg_rollback never
 * fails: errors are logged and the session is dropped. */
int pg_begin(pg_conn_t *conn, err_t **err);
int pg_commit(pg_conn_t *conn, err_t **err);
void pg_rollback(pg_conn_t *conn);

/** Result helpers. pg_get returns the text of a field ("" for NULL),
 * borrowed from `r`. pg_get_int64 is 0 for NULL; pg_get_bool is false for
 * NULL. */
const char *pg_get(const PGresult *r, int row, int col);
bool pg_is_null(const PGresult *r, int row, int col);
int64_t pg_get_int64(const PGresult *r, int row, int col);
bool pg_get_bool(const PGresult *r, int row, int col);

/** Applies `migrations` (sorted by name) to `schema`: creates the schema and
 * `<schema>.schema_migrations` if missing, then applies each migration not yet
 * recorded, each in its own transaction together with its record. A
 * session-level advisory lock keyed on the schema makes concurrent starts of
 * two replicas safe: the second waits, then finds nothing to do. A migration
 * whose recorded checksum (sha256 hex of the text) differs from the embedded
 * text is an error (FAILED_PRECONDITION): applied migrations are never
 * edited. Recorded migrations the binary does not know (a newer replica ran
 * them) are left alone.
 *
 * `schema` must match ^[a-z_][a-z0-9_]*$. Migration text is trusted static
 * SQL (see tools/embed/defs.bzl); it names its schema explicitly (no
 * search_path is set), must not contain BEGIN/COMMIT, and can not use
 * statements that refuse to run in a transaction (CREATE INDEX
 * CONCURRENTLY). Each applied migration is logged. */
int pg_migrate(pg_pool_t *pool, const char *schema, const pg_migration_t *migrations, size_t count,
               err_t **err);

#endif
