/* content.h — the content service's shared state, the task-file validator
 * and the handlers of each file. Internal to services/content. */
#ifndef DOJO_CONTENT_H
#define DOJO_CONTENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dojo/content/v1/content.pb-c.h"
#include "libcommon/err.h"
#include "libcommon/identity.h"
#include "libcommon/pg.h"
#include "libcommon/rpc.h"

/* ------------------------------------------------------------------------
 * Configuration (read once at start; see docs/operators.md)
 * ------------------------------------------------------------------------ */
typedef struct content_config {
    const char *addr;
    const char *metrics_addr;
    const char *pg_url;
    const char *auth_addr;
    const char *service_key; /* "" = no service callers accepted */
    const char *content_dir; /* tasks/ and achievements/ loaded at start */
    bool load_at_start;
} content_config_t;

typedef struct content {
    content_config_t cfg;
    pg_pool_t *pg;
    identity_verifier_t *idv;
} content_t;

/** Reads every variable content uses; exits naming a bad one. */
void content_config_load(content_config_t *cfg);

/* ------------------------------------------------------------------------
 * Validation reports (taskjson.c): every problem of one file, as
 * (path, message) pairs in the order they were found.
 * ------------------------------------------------------------------------ */
typedef struct content_issue {
    char *path;    /* "$.tests[3].expected" */
    char *message; /* "required" */
} content_issue_t;

typedef struct content_report {
    char *file; /* "two-sum.json", "" when not from a file */
    content_issue_t *errors;
    size_t n_errors, cap_errors;
    content_issue_t *warnings;
    size_t n_warnings, cap_warnings;
} content_report_t;

/** Starts an empty report for `file` (copied; NULL = ""). */
void content_report_init(content_report_t *r, const char *file);
void content_report_free(content_report_t *r);
void content_report_error(content_report_t *r, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void content_report_warn(content_report_t *r, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void cleanup_report_fn(content_report_t *r) { content_report_free(r); }
#define cleanup_report __attribute__((cleanup(cleanup_report_fn)))

static inline void cleanup_json_fn(json_t **j)
{
    if (*j)
        json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(cleanup_json_fn)))

/* Size limits of the proto's header comment. */
#define CONTENT_MAX_TASK_BYTES (8 * 1024 * 1024)
#define CONTENT_MAX_IO_BYTES (1024 * 1024)
#define CONTENT_MAX_CODE_BYTES (64 * 1024)

/* ------------------------------------------------------------------------
 * Task files (taskjson.c). A "normalised" task is the JSON file form with
 * every default resolved and every key in Task's field order; its canonical
 * text (sorted keys, compact) is what is stored and hashed.
 * ------------------------------------------------------------------------ */

/** Parses and validates the text of a task file. Every problem goes to
 * `rep` (parse errors at "$"). Returns 0 with *out a new normalised
 * document (json_decref it), or -1 when rep has errors. */
int taskjson_parse(const char *text, size_t len, content_report_t *rep, json_t **out);

/** Validates a document in the file form (borrowed) and resolves defaults.
 * Returns 0 with *out new, or -1 when rep has errors. */
int taskjson_normalize(json_t *doc, content_report_t *rep, json_t **out);

/** The file form of a Task message (output-only fields dropped, zero
 * values left out). New reference. */
json_t *taskjson_from_message(const Dojo__Content__V1__Task *t);

/** Canonical text (sorted keys, compact): new, free() it. */
char *taskjson_canonical(json_t *norm);
/** SHA-256 hex of the canonical text. */
void taskjson_hash(json_t *norm, char out[65]);
/** The export form: two-space indent, Task's field order, trailing newline.
 * `norm` must come from taskjson_normalize. New, free() it. */
char *taskjson_pretty(json_t *norm);

/** Messages built from a normalised task, in the call's arena. */
Dojo__Content__V1__Task *taskjson_to_task(rpc_call_t *call, json_t *norm);
Dojo__Content__V1__TaskView *taskjson_to_view(rpc_call_t *call, json_t *norm);
Dojo__Content__V1__JudgeBundle *taskjson_to_bundle(rpc_call_t *call, json_t *norm);

/** Enum <-> file-form names ("easy", "float", "wa"); 0 / NULL when unknown. */
int content_difficulty_from_name(const char *s);
const char *content_difficulty_name(int d);

/** True when `s` is 1-`max` characters of [a-z0-9-] starting with a letter
 * (letter_first) or anything of the set. */
bool content_is_slug(const char *s, size_t max, bool letter_first);
/** Reads a whole file; *out is new (free), NUL-terminated. */
int content_read_file(const char *path, char **out, size_t *len, err_t **err);

/* ------------------------------------------------------------------------
 * Languages (languages.c): a small table; languages are data.
 * ------------------------------------------------------------------------ */
typedef struct content_language {
    const char *id, *display_name, *file_extension, *editor_mode, *version;
    bool compiled;
} content_language_t;

/** The language with this id, or NULL. Static. */
const content_language_t *content_language_find(const char *id);
int content_rpc_list_languages(rpc_call_t *call, const ProtobufCMessage *req,
                               ProtobufCMessage **out, err_t **err);

/* ------------------------------------------------------------------------
 * Storing tasks (author.c)
 * ------------------------------------------------------------------------ */
typedef enum { STORE_CREATE, STORE_UPDATE, STORE_IMPORT } content_store_mode_t;

typedef struct content_store_result {
    Dojo__Content__V1__TaskChange change;
    int version;
    char content_hash[65];
} content_store_result_t;

/** Stores a normalised task inside the caller's transaction (which holds
 * the writers' lock, see content_lock_writers): a new task as version 1, a
 * changed one as the next version, nothing when the hash matches. CREATE
 * fails with ALREADY_EXISTS for a taken slug, UPDATE with NOT_FOUND for an
 * unknown one and ABORTED when expected_version (non-zero) is stale. IMPORT
 * brings back a task that was archived because its file had gone. */
int content_store_task(pg_conn_t *conn, json_t *norm, content_store_mode_t mode, bool from_file,
                       int expected_version, content_store_result_t *out, err_t **err);
/** Serialises writers (file loads of several replicas, authors): a
 * transaction-level advisory lock. Call right after pg_begin. */
int content_lock_writers(pg_conn_t *conn, err_t **err);

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
 * unless a file was rejected. */
int content_import_tasks(content_t *c, const content_import_file_t *files, size_t n, bool dry_run,
                         bool archive_missing, bool only_file_tasks,
                         content_import_result_t *out, err_t **err);
void content_import_result_free(content_import_result_t *r);

/** Loads DIR/tasks/ *.json and DIR/achievements/ *.json into the database
 * (start-up and `content import`). Bad files are logged and skipped.
 * Sets *rejected to the number of rejected files (may be NULL). */
int content_load_dir(content_t *c, const char *dir, bool print, int *rejected, err_t **err);

/** Reads the current (version 0) or given version of a task: *norm new,
 * plus its row for summaries. NOT_FOUND when unknown. */
typedef struct content_task_row {
    int version;
    char content_hash[65];
    int status; /* TaskStatus */
    int64_t created_us, updated_us;
} content_task_row_t;
int content_load_task(pg_conn_t *conn, const char *slug, int version, json_t **norm,
                      content_task_row_t *row, err_t **err);

/** Exports a task version as a file's text (new, free()). */
int content_export_text(content_t *c, const char *slug, int version, char **out, err_t **err);

int content_rpc_create_task(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                            err_t **err);
int content_rpc_update_task(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                            err_t **err);
int content_rpc_validate_task(rpc_call_t *call, const ProtobufCMessage *req,
                              ProtobufCMessage **out, err_t **err);
int content_rpc_archive_task(rpc_call_t *call, const ProtobufCMessage *req,
                             ProtobufCMessage **out, err_t **err);
int content_rpc_export_task(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                            err_t **err);
int content_rpc_import_tasks(rpc_call_t *call, const ProtobufCMessage *req,
                             ProtobufCMessage **out, err_t **err);

/* ------------------------------------------------------------------------
 * Reads (tasks.c)
 * ------------------------------------------------------------------------ */
int content_rpc_list_tasks(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                           err_t **err);
int content_rpc_get_task(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                         err_t **err);
int content_rpc_get_judge_bundle(rpc_call_t *call, const ProtobufCMessage *req,
                                 ProtobufCMessage **out, err_t **err);
/** A TaskSummary of the task `slug` as it is now. */
int content_summary(rpc_call_t *call, pg_conn_t *conn, const char *slug,
                    Dojo__Content__V1__TaskSummary **out, err_t **err);

/* ------------------------------------------------------------------------
 * Achievements (achievements.c)
 * ------------------------------------------------------------------------ */

/** Validates an achievement file; *out new normalised doc, or -1. */
int achievement_parse(const char *text, size_t len, content_report_t *rep, json_t **out);
/** Loads every DIR/ *.json achievement (bad files logged and skipped);
 * definitions whose file disappeared are retired. */
int content_load_achievements(content_t *c, const char *dir, bool print, int *rejected,
                              err_t **err);
int content_rpc_list_achievements(rpc_call_t *call, const ProtobufCMessage *req,
                                  ProtobufCMessage **out, err_t **err);

/* ------------------------------------------------------------------------
 * Shared helpers (tasks.c)
 * ------------------------------------------------------------------------ */
int content_conn(content_t *c, pg_conn_t **out, err_t **err);
/** Requires a signed-in caller (UNAUTHENTICATED). */
int content_require_signed_in(content_t *c, rpc_call_t *call, identity_t *id, err_t **err);
/** Requires an author, admin or service (PERMISSION_DENIED for learners). */
int content_require_author(content_t *c, rpc_call_t *call, identity_t *id, err_t **err);
Dojo__Common__V1__Timestamp *content_timestamp(rpc_call_t *call, int64_t unix_micros);
/** Sorted list of DIR/ *.json names (not paths); *out new (free each, then
 * the array). A missing directory is NOT_FOUND. */
int content_list_json(const char *dir, char ***out, size_t *n, err_t **err);
void content_free_list(char **list, size_t n);
/** Writes "dir/name" to out; false when it does not fit in cap bytes. */
static inline bool content_join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < cap;
}

#endif
