/* content.h — the content service: its state, storage (store.c), the
 * content directory (load.c) and the RPC handlers of each file. What a task
 * or an achievement is lives in model.h. Internal to services/content.
 *
 * Layers, each using only the ones above it:
 *   check.c            the validation kit
 *   taskjson.c achjson.c contestjson.c taskmsg.c languages.c   the model
 *                      (model.h)
 *   store.c            PostgreSQL: task versions, imports, contests,
 *                      achievements
 *   blobs.c            PostgreSQL: test data blobs (uploads, owners,
 *                      ReadBlob) and a task's references to them
 *   load.c             files: the content directory, `content validate`
 *   tasks.c author.c contests.c achievements.c   the RPC handlers
 *   main.c             wiring */
#ifndef DOJO_CONTENT_H
#define DOJO_CONTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "libcommon/err.h"
#include "libcommon/identity.h"
#include "libcommon/pg.h"
#include "libcommon/rpc.h"
#include "model.h"

/* ------------------------------------------------------------------------
 * Configuration (read once at start; see docs/operators.md)
 * ------------------------------------------------------------------------ */
typedef struct content_config {
    const char *addr;
    const char *metrics_addr;
    const char *pg_url;
    const char *auth_addr;
    const char *service_key; /* "" = no service callers accepted */
    const char *content_dir; /* tasks/, contests/ and achievements/ loaded at start */
    const char *clock_file;  /* DOJO_CLOCK_FILE (tests): "now" for hidden tasks */
    bool load_at_start;
    /* The collector of unused blobs (blobgc.c): DOJO_CONTENT_BLOB_GC_INTERVAL
     * (0: off), _GRACE, _BATCH. */
    int64_t blob_gc_interval_ms;
    int64_t blob_gc_grace_ms;
    int64_t blob_gc_batch;
} content_config_t;

typedef struct content_blob_gc content_blob_gc_t;

typedef struct content {
    content_config_t cfg;
    pg_pool_t *pg;
    identity_verifier_t *idv;
    content_blob_gc_t *blob_gc; /* while serving */
} content_t;

/** Reads every variable content uses; exits naming a bad one. */
void content_config_load(content_config_t *cfg);

/* ------------------------------------------------------------------------
 * Storage (store.c). Every write happens inside a transaction holding the
 * writers' lock (content_lock_writers).
 * ------------------------------------------------------------------------ */

/** Serialises writers (file loads of several replicas, authors): a
 * transaction-level advisory lock. Call right after pg_begin. */
int content_lock_writers(pg_conn_t *conn, err_t **err);

typedef enum { STORE_CREATE, STORE_UPDATE, STORE_IMPORT } content_store_mode_t;

typedef struct content_store_result {
    Dojo__Content__V1__TaskChange change;
    int version;
    char content_hash[65];
} content_store_result_t;

/** Stores a normalised task inside the caller's transaction (which holds
 * the writers' lock): a new task as version 1, a changed one as the next
 * version, nothing when the hash matches. CREATE fails with ALREADY_EXISTS
 * for a taken slug, UPDATE with NOT_FOUND for an unknown one and ABORTED
 * when expected_version (non-zero) is stale. IMPORT brings back a task that
 * was archived because its file had gone. */
int content_store_task(pg_conn_t *conn, json_t *norm, content_store_mode_t mode, bool from_file,
                       int expected_version, content_store_result_t *out, err_t **err);

/** "created", "new_version", "unchanged" or "rejected". Static. */
const char *content_change_name(int change);

/** Reads the current (version 0) or given version of a task: *norm new,
 * plus its row for summaries (row may be NULL). NOT_FOUND when unknown. */
typedef struct content_task_row {
    int version;
    char content_hash[65];
    int status; /* TaskStatus */
    int64_t created_us, updated_us;
} content_task_row_t;
int content_load_task(pg_conn_t *conn, const char *slug, int version, json_t **norm,
                      content_task_row_t *row, err_t **err);
/** TaskStatus of the status column ("active", "archived"). */
int content_task_status(const char *text);

/** The file text of a stored task (`stored` borrowed, `slug` for errors):
 * normalised again, so keys come in Task's order. New, free() it. */
int content_task_file_text(json_t *stored, const char *slug, char **out, err_t **err);
/** Exports a task version as a file's text (new, free()). */
int content_export_text(content_t *c, const char *slug, int version, char **out, err_t **err);

/** Archives a task (an author's decision) or makes it active again, inside
 * the caller's transaction; no change when it already is. */
int content_set_task_status(pg_conn_t *conn, const char *slug, bool archived, err_t **err);
/** Records the author who created a task through the API (its owner, for
 * the analytics of their own tasks), inside the caller's transaction. */
int content_set_task_owner(pg_conn_t *conn, const char *slug, const char *owner_id, err_t **err);

/* ------------------------------------------------------------------------
 * Blobs: test data by SHA-256 (blobs.c; content.proto "Blobs")
 * ------------------------------------------------------------------------ */

/** Stores `len` bytes (1 byte to 256 MiB) as a complete blob owned by
 * `owner_id` (NULL: no owner, for a service) — or finds them stored and
 * adds the owner — inside the caller's transaction, in 4 MiB chunks. Its
 * SHA-256 (hex) goes to sha256_out. INVALID_ARGUMENT for a bad size. */
int content_blob_put(pg_conn_t *conn, const char *owner_id, const void *data, size_t len,
                     char sha256_out[65], err_t **err);

/** Called with each piece of a blob, in order, `off` its place in the blob
 * (`data` borrowed for the call). Non-zero (with *err) stops the read. */
typedef int (*content_blob_piece_fn)(int64_t off, const unsigned char *data, size_t len,
                                     void *payload, err_t **err);
/** Reads the complete blob `sha256` from `offset` on, a few MiB per
 * statement, piece by piece into `fn` (never the whole blob in memory);
 * *size is the blob's size, set before the first piece. NOT_FOUND for a
 * blob that is not complete, OUT_OF_RANGE for an offset past its end. */
int content_blob_read(pg_conn_t *conn, const char *sha256, int64_t offset, int64_t *size,
                      content_blob_piece_fn fn, void *payload, err_t **err);

/** Writes the complete blob `sha256` to `fd` at its current offset, piece
 * by piece, whoever owns it (a task's own data, for its export); *size its
 * size. NOT_FOUND when it is not complete. */
int content_blob_copy(pg_conn_t *conn, const char *sha256, int fd, int64_t *size, err_t **err);

/** Writes the complete blob `sha256` that `owner` owns ("" : a service's
 * blob) to `fd` at its current offset, piece by piece; *size its size.
 * NOT_FOUND when `owner` owns no such complete blob. */
int content_blob_to_file(pg_conn_t *conn, const char *sha256, const char *owner, int fd,
                         int64_t *size, err_t **err);

/** Checks the blobs the tests of `norm` reference: each complete and, when
 * `owner` is not NULL, owned by `owner` or referenced by `current` (the
 * task's current version, NULL for none); all of them at most 1 GiB.
 * Problems go to `rep` at the test's path; -1 only when the database fails. */
int content_blobs_check(pg_conn_t *conn, json_t *norm, const char *owner, json_t *current,
                        content_report_t *rep, err_t **err);

/* ------------------------------------------------------------------------
 * Unused blobs (blobgc.c; migrations/006_blob_gc.sql)
 * ------------------------------------------------------------------------ */

/** One pass of the collector: drops uploads left incomplete for a day, then
 * deletes, in batches of cfg.blob_gc_batch each in its own transaction under
 * the writers' lock, the complete blobs no task version names, unused for
 * longer than cfg.blob_gc_grace_ms, of which no upload is in progress.
 * *collected and *bytes say what went (also as metrics). */
int content_blob_gc_run_once(content_t *c, int *collected, int64_t *bytes, err_t **err);
/** Starts the collector's thread, a pass every cfg.blob_gc_interval_ms
 * (*out NULL and nothing started when that is 0). */
int content_blob_gc_start(content_t *c, content_blob_gc_t **out, err_t **err);
/** Stops it (waits for a pass in progress); NULL is fine. */
void content_blob_gc_stop(content_blob_gc_t *gc);

int content_rpc_put_blob_chunk(rpc_call_t *call, const ProtobufCMessage *req,
                               ProtobufCMessage **out, err_t **err);
int content_rpc_get_blob_status(rpc_call_t *call, const ProtobufCMessage *req,
                                ProtobufCMessage **out, err_t **err);
/** Server streaming: BlobChunk messages. */
int content_rpc_read_blob(rpc_call_t *call, const ProtobufCMessage *req, err_t **err);

/** One file of an import. */
typedef struct content_import_file {
    const char *name; /* "two-sum.json" */
    const char *text;
    size_t len;
} content_import_file_t;

/** The outcome of one file; reports are owned by the batch result. */
typedef struct content_import_outcome {
    char slug[80];
    content_store_result_t res;
    content_report_t rep;
} content_import_outcome_t;

typedef struct content_import_result {
    content_import_outcome_t *files; /* n entries, in input order */
    size_t n;
    char **archived; /* slugs */
    size_t n_archived;
    int created, new_versions, unchanged, rejected;
} content_import_result_t;

/** Imports a batch of task files, each on its own; one transaction for the
 * batch, rolled back for a dry run. archive_missing archives active tasks
 * not in the batch (only_file_tasks: only tasks that came from files),
 * unless a file was rejected. A file whose tests name blobs that are not
 * complete — or, with `blob_owner` (an author's import), neither theirs nor
 * the task's current version's — is rejected. */
int content_import_tasks(content_t *c, const content_import_file_t *files, size_t n, bool dry_run,
                         bool archive_missing, bool only_file_tasks, const char *blob_owner,
                         content_import_result_t *out, err_t **err);
void content_import_result_free(content_import_result_t *r);

/** What storing an achievement definition did. */
typedef enum { ACH_UNCHANGED, ACH_CREATED, ACH_UPDATED } content_ach_change_t;

/** Stores achievement definitions in one transaction: each normalised one
 * (NULL entries are skipped) is written when it is new or changed, or was
 * retired (changes[i]). With retire_missing, active definitions not among
 * them are retired; *retired then has their slugs, one per row (PQclear it;
 * NULL otherwise). */
int content_store_achievements(content_t *c, json_t *const *norms, size_t n, bool retire_missing,
                               content_ach_change_t *changes, PGresult **retired, err_t **err);

/** Stores a normalised contest inside the caller's transaction (which holds
 * the writers' lock). Problems naming unknown tasks are reported to `rep`
 * (out->change REJECTED, nothing written, return 0). expected_version: 0
 * creates (ALREADY_EXISTS when taken), > 0 updates that version (ABORTED
 * when stale, NOT_FOUND when unknown), -1 creates or updates (files). The
 * tasks the contest hides until its start are recorded with it. */
int content_store_contest(pg_conn_t *conn, json_t *norm, bool from_file, int expected_version,
                          content_report_t *rep, content_store_result_t *out, err_t **err);

/** A stored contest: its normalised definition (new: json_decref, or free
 * the rows with content_contest_rows_free) and row. */
typedef struct content_contest_row {
    json_t *norm;
    int version;
    char content_hash[65];
    int64_t created_us, updated_us;
} content_contest_row_t;

/** One contest; NOT_FOUND when unknown. */
int content_load_contest(pg_conn_t *conn, const char *slug, content_contest_row_t *out,
                         err_t **err);
/** Every contest, latest start first; *out new (content_contest_rows_free). */
int content_list_contests(pg_conn_t *conn, content_contest_row_t **out, size_t *n, err_t **err);
void content_contest_rows_free(content_contest_row_t *rows, size_t n);

/** Replaces the stored tracks with `norms` (normalised, n of them) in one
 * transaction. */
int content_store_tracks(content_t *c, json_t *const *norms, size_t n, err_t **err);
/** The slugs of the active tasks a track may name (none a contest hides) as
 * the keys of a new object (json_decref). */
int content_active_task_slugs(content_t *c, json_t **out, err_t **err);

/* ------------------------------------------------------------------------
 * The content directory (load.c)
 * ------------------------------------------------------------------------ */

/** Reads a whole file; *out is new (free), NUL-terminated. */
int content_read_file(const char *path, char **out, size_t *len, err_t **err);

/** `content package FILE.zip [SLUG]`: reads a problem package and prints
 * the task file it makes (stdout) and its problems (stderr). 0, or 1 when
 * the package was refused. No database. */
int content_package_file(const char *path, const char *slug);
/** Sorted list of DIR/ *.json names (not paths); *out new (free it with
 * content_free_list). A missing directory is NOT_FOUND. */
int content_list_json(const char *dir, char ***out, size_t *n, err_t **err);
void content_free_list(char **list, size_t n);
/** Writes "dir/name" to out; false when it does not fit in cap bytes. */
static inline bool content_join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < cap;
}

/** Loads DIR/tasks/ *.json, DIR/contests/ *.json, DIR/achievements/ *.json
 * and DIR/tracks/ *.json into the database (start-up and `content import`).
 * Bad files are logged and skipped; definitions whose file disappeared are
 * archived (tasks) or retired (achievements) unless a file was rejected; the
 * tracks are replaced as a set unless a track file was rejected. With `print`, one line per
 * file goes to stdout. Sets *rejected to the number of rejected files (may
 * be NULL). */
int content_load_dir(content_t *c, const char *dir, bool print, int *rejected, err_t **err);

/** `content validate DIR`: checks every file of DIR/tasks, DIR/achievements,
 * DIR/contests and DIR/tracks, tracks against the valid task files (or of
 * DIR itself, by its name's start: "achievements", "contests", "tracks" —
 * tracks then without a task check — else tasks), printing "FILE:PATH: message" per error on stdout
 * and warnings on stderr, then a count. No database. Returns the number of
 * errors, or -1 with *err. */
int content_validate_dir(const char *dir, err_t **err);

/** `content normalize FILE`: the file (an achievement, contest or track when
 * its folder's name starts with "achievements", "contests" or "tracks", else a
 * task) in its normalised form, as
 * `content export` would print it once imported, on stdout; problems as
 * `content validate` prints them. Returns the number of errors. */
int content_normalize_file(const char *path);

/* ------------------------------------------------------------------------
 * Reads (tasks.c), and the helpers every handler shares
 * ------------------------------------------------------------------------ */
int content_rpc_list_tasks(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                           err_t **err);
int content_rpc_get_task(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                         err_t **err);
int content_rpc_get_tasks(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                          err_t **err);
int content_rpc_get_judge_bundle(rpc_call_t *call, const ProtobufCMessage *req,
                                 ProtobufCMessage **out, err_t **err);
int content_rpc_get_task_solutions(rpc_call_t *call, const ProtobufCMessage *req,
                                   ProtobufCMessage **out, err_t **err);
int content_rpc_list_languages(rpc_call_t *call, const ProtobufCMessage *req,
                               ProtobufCMessage **out, err_t **err);
/** A TaskSummary of the task `slug` as it is now. */
int content_summary(rpc_call_t *call, pg_conn_t *conn, const char *slug,
                    Dojo__Content__V1__TaskSummary **out, err_t **err);

int content_conn(content_t *c, pg_conn_t **out, err_t **err);
/** Requires a signed-in caller (UNAUTHENTICATED). */
int content_require_signed_in(content_t *c, rpc_call_t *call, identity_t *id, err_t **err);
/** Requires an author, admin or service (PERMISSION_DENIED for learners). */
int content_require_author(content_t *c, rpc_call_t *call, identity_t *id, err_t **err);
Dojo__Common__V1__Timestamp *content_timestamp(rpc_call_t *call, int64_t unix_micros);
/** The errors (or, with `warnings`, the warnings) of `rep` as FieldErrors
 * naming its file, in the call's arena: *out (NULL-terminated) and *n. */
void content_field_errors(rpc_call_t *call, const content_report_t *rep, bool warnings,
                          Dojo__Common__V1__FieldError ***out, size_t *n);

/* ------------------------------------------------------------------------
 * The author API (author.c)
 * ------------------------------------------------------------------------ */
int content_rpc_create_task(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                            err_t **err);
int content_rpc_update_task(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                            err_t **err);
int content_rpc_validate_task(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                              err_t **err);
int content_rpc_archive_task(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                             err_t **err);
int content_rpc_export_task(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                            err_t **err);
int content_rpc_import_tasks(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                             err_t **err);
int content_rpc_parse_package(rpc_call_t *call, const ProtobufCMessage *req,
                              ProtobufCMessage **out, err_t **err);
int content_rpc_export_package(rpc_call_t *call, const ProtobufCMessage *req, err_t **err);

/* ------------------------------------------------------------------------
 * Contests (contests.c)
 * ------------------------------------------------------------------------ */
int content_rpc_list_contests(rpc_call_t *call, const ProtobufCMessage *req,
                              ProtobufCMessage **out, err_t **err);
int content_rpc_get_contest(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                            err_t **err);
int content_rpc_put_contest(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                            err_t **err);
int content_rpc_export_contest(rpc_call_t *call, const ProtobufCMessage *req,
                               ProtobufCMessage **out, err_t **err);
int content_rpc_parse_contest_package(rpc_call_t *call, const ProtobufCMessage *req,
                                      ProtobufCMessage **out, err_t **err);
int content_rpc_export_contest_package(rpc_call_t *call, const ProtobufCMessage *req,
                                       ProtobufCMessage **out, err_t **err);
/** Loads DIR/ *.json contests (start-up, `content import`): bad files are
 * logged and skipped, as are contests naming unknown tasks. */
int content_load_contests(content_t *c, const char *dir, bool print, int *rejected, err_t **err);

/* ------------------------------------------------------------------------
 * Achievements (achievements.c) and tracks (tracks.c)
 * ------------------------------------------------------------------------ */
int content_rpc_list_achievements(rpc_call_t *call, const ProtobufCMessage *req,
                                  ProtobufCMessage **out, err_t **err);
int content_rpc_list_tracks(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                            err_t **err);

#endif
