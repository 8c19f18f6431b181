/* model.h — what content is, without a database or a server: task and
 * achievement files read with the kit of check.h into their normalised form,
 * the messages built from a normalised task, and the languages Dojo runs.
 * Pure functions; services/content/t tests them.
 *
 * A "normalised" document is the file form with every default resolved and
 * every key in its message's field order; its canonical text (check_canonical)
 * is what is stored and hashed. */
#ifndef DOJO_CONTENT_MODEL_H
#define DOJO_CONTENT_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "dojo/content/v1/content.pb-c.h"
#include "libcommon/rpc.h"

/* Size limits of the proto's header comment. */
#define CONTENT_MAX_TASK_BYTES (8 * 1024 * 1024)
#define CONTENT_MAX_IO_BYTES (1024 * 1024)
#define CONTENT_MAX_TESTS 2000
/* Test data in blobs (content.proto "Blobs"). */
#define CONTENT_MAX_BLOB_BYTES (256LL * 1024 * 1024)
#define CONTENT_MAX_TASK_BLOB_BYTES (1024LL * 1024 * 1024)
#define CONTENT_MAX_BLOB_CHUNK_BYTES (4 * 1024 * 1024)
#define CONTENT_MAX_CODE_BYTES (64 * 1024)
/* A package validator (checker kind "package_validator"): its files. */
#define VALIDATOR_FILES_MAX 64
#define VALIDATOR_NAME_MAX 64
#define VALIDATOR_FILE_MAX (1024 * 1024)
#define VALIDATOR_TOTAL_MAX (4 * 1024 * 1024)
#define VALIDATOR_FLAGS_MAX 64
#define CONTENT_MAX_ACHIEVEMENT_BYTES (64 * 1024)
#define CONTENT_MAX_CONTEST_BYTES (1024 * 1024)

/* ------------------------------------------------------------------------
 * Task files (taskjson.c): the authority on what a task file may contain;
 * content/schema/task.schema.json documents the same rules for editors.
 * ------------------------------------------------------------------------ */

/** Enum names in files: Difficulty ("easy"), CheckerKind ("float") and
 * Verdict ("wa", every value). */
extern const check_names_t task_difficulties;
extern const check_names_t task_checker_kinds;
extern const check_names_t task_verdicts;

/** Parses and validates the text of a task file. Every problem goes to
 * `rep` (parse errors at "$"). Returns 0 with *out a new normalised
 * document (json_decref it), or -1 when rep has errors. */
int taskjson_parse(const char *text, size_t len, content_report_t *rep, json_t **out);

/** True for a blob's name: 64 lower-case hex digits. */
bool task_is_sha256(const char *s);

/** Validates a document in the file form (borrowed) and resolves defaults.
 * Returns 0 with *out new, or -1 when rep has errors. */
int taskjson_normalize(json_t *doc, content_report_t *rep, json_t **out);

/* ------------------------------------------------------------------------
 * Tasks and messages (taskmsg.c)
 * ------------------------------------------------------------------------ */

/** The file form of a Task message (output-only fields dropped, zero
 * values left out), to be normalised like a file. New reference. */
json_t *taskjson_from_message(const Dojo__Content__V1__Task *t);

/** Messages built from a normalised task, in the call's arena. A TaskView
 * has no field that could carry a hidden test or a solution. */
Dojo__Content__V1__Task *taskjson_to_task(rpc_call_t *call, json_t *norm);
Dojo__Content__V1__TaskView *taskjson_to_view(rpc_call_t *call, json_t *norm);
Dojo__Content__V1__JudgeBundle *taskjson_to_bundle(rpc_call_t *call, json_t *norm);
/** The task's input validators as messages, in the call's arena: *n of
 * them (0 when it has none). */
void taskjson_to_input_validators(rpc_call_t *call, json_t *norm,
                                  Dojo__Content__V1__PackageInputValidator ***out, size_t *n);
/** The editorial and reference solutions (version left 0 for the caller). */
Dojo__Content__V1__GetTaskSolutionsResponse *taskjson_to_solutions(rpc_call_t *call, json_t *norm);

/* ------------------------------------------------------------------------
 * Achievement files (achjson.c); content/schema/achievement.schema.json
 * documents the same rules. Gamification evaluates the rules; here they are
 * only data.
 * ------------------------------------------------------------------------ */

/** AchievementRuleKind names ("tasks_solved"). */
extern const check_names_t achievement_rule_kinds;

/** Parses and validates an achievement file: 0 with *out a new normalised
 * document, or -1 when rep has errors. */
int achievement_parse(const char *text, size_t len, content_report_t *rep, json_t **out);
/** Validates a document in the file form (borrowed): 0 with *out new, or -1. */
int achievement_normalize(json_t *doc, content_report_t *rep, json_t **out);

/* ------------------------------------------------------------------------
 * Contest files (contestjson.c); content/schema/contest.schema.json
 * documents the same rules. Who takes part and how they rank is
 * gamification's; here a contest is only data.
 * ------------------------------------------------------------------------ */

/** ScoringKind ("icpc"), IoiMode ("best") and Registration ("invite") names. */
extern const check_names_t contest_scorings;
extern const check_names_t contest_ioi_modes;
extern const check_names_t contest_registrations;

/** Parses and validates a contest file: 0 with *out a new normalised
 * document, or -1 when rep has errors. Whether its tasks exist is the
 * store's to check. */
int contestjson_parse(const char *text, size_t len, content_report_t *rep, json_t **out);
/** Validates a document in the file form (borrowed): 0 with *out new, or -1. */
int contestjson_normalize(json_t *doc, content_report_t *rep, json_t **out);
/** The file form of a Contest message (output-only fields dropped). New. */
json_t *contestjson_from_message(const Dojo__Content__V1__Contest *c);
/** A Contest message of a normalised contest, in the call's arena (problem
 * names are left "": the store knows the tasks' titles). */
Dojo__Content__V1__Contest *contestjson_to_message(rpc_call_t *call, json_t *norm);

/** CLICS relative times "h:mm:ss" <-> seconds: 0 or -1. */
int contest_parse_reltime(const char *s, int64_t *out);
void contest_format_reltime(int64_t secs, char *out, size_t cap);
/** RFC 3339 UTC, whole seconds without a fraction ("2026-03-08T09:00:00Z"). */
void contest_format_time(int64_t us, char *out, size_t cap);

/* ------------------------------------------------------------------------
 * Track files (trackjson.c); content/schema/track.schema.json documents the
 * same rules.
 * ------------------------------------------------------------------------ */

/** Parses and validates a track file. `known_tasks` (borrowed; NULL: not
 * checked) is an object whose keys are the task slugs a track may name.
 * Returns 0 with *out a new normalised document, or -1 when rep has errors. */
int track_parse(const char *text, size_t len, json_t *known_tasks, content_report_t *rep,
                json_t **out);
/** Validates a document in the file form (borrowed): 0 with *out new, or -1. */
int track_normalize(json_t *doc, json_t *known_tasks, content_report_t *rep, json_t **out);
/** The Track message of a normalised track, in the call's arena. */
Dojo__Content__V1__Track *track_to_message(rpc_call_t *call, json_t *norm);

/* ------------------------------------------------------------------------
 * Problem packages (package.c reads, pkgwrite.c writes, pkgyaml.c reads
 * their YAML): the Kattis / ICPC problem package format as a .zip.
 * docs/packages.md says what maps to what.
 * ------------------------------------------------------------------------ */

#define PKG_MAX_ZIP_BYTES (8 * 1024 * 1024)         /* a zip sent inline */
#define PKG_MAX_BLOB_ZIP_BYTES CONTENT_MAX_BLOB_BYTES /* a zip sent as a blob */
#define PKG_MAX_FILE_BYTES (1024 * 1024)            /* one file, uncompressed */
#define PKG_MAX_TOTAL_BYTES CONTENT_MAX_TASK_BLOB_BYTES /* every file, uncompressed */
#define PKG_MAX_ENTRIES 6000 /* 2000 tests' .in and .ans, and the rest */
#define PKG_MAX_PATH 256
/* Hidden test data kept inline in the task: a file up to PKG_INLINE_MAX,
 * while the inline test data stays under PKG_INLINE_BUDGET (so the task
 * stays far below its 8 MiB); the rest goes to blobs. */
#define PKG_INLINE_MAX (64 * 1024)
#define PKG_INLINE_BUDGET (4 * 1024 * 1024)

/** Stores `len` bytes (borrowed, 1 byte to 256 MiB) as a blob the task may
 * reference and writes its SHA-256 (hex) to sha256_out; -1 with *err when
 * it cannot (the read stops and fails with that error). */
typedef int (*pkg_blob_fn)(void *payload, const void *data, size_t len, char sha256_out[65],
                           err_t **err);

/** What pkg_read_task reads: the zip in memory (`zip`, `len` bytes;
 * borrowed), or, when `fd` is >= 0, the zip in that file (borrowed; read
 * from offset 0, `len` unused). With `blob` set, large hidden test data
 * (PKG_INLINE_MAX, PKG_INLINE_BUDGET) goes through it; without, every test
 * stays inline (each file at most 1 MiB). */
typedef struct pkg_source {
    const void *zip;
    size_t len;
    int fd;
    pkg_blob_fn blob;
    void *blob_payload;
} pkg_source_t;

/** Reads a package into a task document in the file form, to be
 * normalised by the caller. `file_name` and `slug` choose the slug (see
 * ParsePackageRequest). Every problem goes to `rep` with the package file
 * as its path. Returns 0 with *doc (new; the package's input validators
 * are its input_validators) and *side (new: what the task does not hold —
 * "solutions": solution name -> package path, "tests": test name -> its
 * .in's path),
 * or -1 when rep has errors, or with *err set (new) when the blob callback
 * failed. */
int pkg_read_task(const pkg_source_t *src, const char *file_name, const char *slug,
                  content_report_t *rep, json_t **doc, json_t **side, err_t **err);

/** taskjson_normalize for a document pkg_read_task made, its problems
 * added to the package's report. */
int pkg_normalize(json_t *doc, content_report_t *rep, json_t **norm);

/** Appends the bytes of blob `sha256` to `fd` (from its current offset)
 * and sets *size; -1 with *err when it cannot. */
typedef int (*pkg_blob_copy_fn)(void *payload, const char *sha256, int fd, int64_t *size,
                                err_t **err);

/** Writes a normalised task (borrowed) as a package into the file `path`
 * (made or replaced). A test whose data is a blob gets the blob's bytes
 * through `copy` into `scratch` (a file open for reading and writing, its
 * contents the writer's: each blob once, read back while the archive is
 * written), so no blob is ever in memory. 0; -1 with *why (static text) when
 * libzip fails, and with *err too when `copy` failed. */
int pkg_write_task(json_t *norm, const char *path, int scratch, pkg_blob_copy_fn copy,
                   void *payload, const char **why, err_t **err);

/** A zip opened with the problem package's checks (names, links,
 * encryption, counts and sizes; one top directory stripped), for other
 * package formats. */
typedef struct pkg pkg_t;
/** Opens `zip` (borrowed until pkg_zip_close): 0 with *out (new), or -1
 * with the problems in `rep`. */
int pkg_zip_open(const void *zip, size_t len, content_report_t *rep, pkg_t **out);
void pkg_zip_close(pkg_t *p);
/** The stripped top directory, or "" (borrowed). */
const char *pkg_zip_top(const pkg_t *p);
/** The file `path` parsed (JSON when it ends in ".json", else YAML): new;
 * NULL when absent (*bad false) or unreadable (*bad true, reported). */
json_t *pkg_zip_doc(pkg_t *p, const char *path, bool *bad);

/** Writes a zip whose files sit under the directory `top`: new, or NULL
 * when libzip cannot start one. */
typedef struct pkg_writer pkg_writer_t;
pkg_writer_t *pkg_writer_new(const char *top);
/** Adds `path` (below top) with a copy of `text`. */
void pkg_writer_add_text(pkg_writer_t *w, const char *path, const char *text);
/** The archive: 0 with *zip (new, free() it) of *len bytes, or -1 with
 * *why (static text). The writer is freed either way. */
int pkg_writer_finish(pkg_writer_t *w, char **zip, size_t *len, const char **why);

/** Reads a CLICS contest package (contestpkg.c; `zip` borrowed) into a
 * contest document in the file form under `slug`, to be normalised by the
 * caller, and the teams of teams.json (a JSON array of {id, name,
 * organization_id, group_ids, hidden}). 0 with both new, or -1 when rep has
 * errors. */
int contestpkg_read(const void *zip, size_t len, const char *slug, content_report_t *rep,
                    json_t **doc, json_t **teams);
/** Writes a normalised contest (borrowed) as a CLICS contest package, with
 * `names` (task slug -> problem name) and `teams` (teams.json's array; both
 * borrowed): 0 with *zip (new, free() it) of *len bytes, or -1 with *why. */
int contestpkg_write(json_t *norm, json_t *names, json_t *teams, char **zip, size_t *len,
                     const char **why);

/** The Dojo language of a package file, by its extension ("a.cpp" ->
 * "cpp"), or NULL. Static. */
const char *pkg_language_of(const char *file);

/** Parses a YAML document into JSON (see pkgyaml.c): 0 with *out new, or
 * -1 with the reason in `why`. */
int pkg_yaml_parse(const char *text, size_t len, char *why, size_t why_cap, json_t **out);

/* ------------------------------------------------------------------------
 * Languages (languages.c): the language catalogue
 * (services/executor/languages/<id>.json), embedded at build time.
 * ------------------------------------------------------------------------ */

typedef struct content_language {
    const char *id, *display_name, *file_extension, *editor_mode, *version;
    bool compiled;
} content_language_t;

/** The languages, ordered by display name (as ListLanguages returns them);
 * *n is their number. Static (parsed once, thread-safe; a malformed
 * catalogue aborts: it is build-time data the unit tests check). */
const content_language_t *content_languages(size_t *n);
/** The language with this id, or NULL. Static. */
const content_language_t *content_language_find(const char *id);

#endif
