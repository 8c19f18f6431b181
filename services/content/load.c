/* load.c — the content directory: DIR/tasks/ *.json, DIR/contests/ *.json,
 * DIR/achievements/ *.json and DIR/tracks/ *.json loaded into the database at
 * start and by
 * `content import`, and checked without a database by `content validate`
 * and `content normalize`.
 *
 * A bad file is reported (log, and stdout when printing) and skipped: its
 * task keeps its last good version, and nothing is archived or retired in a
 * load that rejected a file, since the file may have been meant to update
 * the definition that would go. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "content.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"

/* ------------------------------------------------------------------------
 * Files and directories
 * ------------------------------------------------------------------------ */

int content_read_file(const char *path, char **out, size_t *len, err_t **err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_errno(err, errno, "open %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return err_errno(err, errno, "stat %s", path);
    if (st.st_size > 2 * CONTENT_MAX_TASK_BYTES)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: larger than 8 MiB", path);
    char *buf = xmalloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            return err_errno(err, r < 0 ? errno : EIO, "read %s", path);
        }
        got += (size_t)r;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

void content_free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int content_list_json(const char *dir, char ***out, size_t *n, err_t **err)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? err_set(err, GRPC_STATUS_NOT_FOUND, "%s: no such directory", dir)
                               : err_errno(err, errno, "open directory %s", dir);
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len <= 5 || strcmp(e->d_name + len - 5, ".json"))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            *out = xreallocarray(*out, cap, sizeof **out);
        }
        (*out)[(*n)++] = xstrdup(e->d_name);
    }
    closedir(d);
    if (*n)
        qsort(*out, *n, sizeof **out, cmp_str);
    return 0;
}

/* ------------------------------------------------------------------------
 * Tasks
 * ------------------------------------------------------------------------ */

/* The readable files among `names` of `dir`: files[0..*m) with their texts
 * (new: free each). Unreadable ones are logged and counted. */
static void read_task_files(const char *dir, char **names, size_t n, content_import_file_t *files,
                            char **texts, size_t *m, int *unreadable)
{
    *m = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        if (!content_join(path, sizeof path, dir, names[i]))
            continue;
        size_t len = 0;
        cleanup_err err_t *rerr = NULL;
        if (content_read_file(path, &texts[*m], &len, &rerr) < 0) {
            LOG_ERROR("task file unreadable", "file=\"%s\" error=\"%s\"", log_esc(path),
                      log_esc(rerr->msg));
            (*unreadable)++;
            continue;
        }
        files[*m].name = names[i];
        files[*m].text = texts[*m];
        files[*m].len = len;
        (*m)++;
    }
}

static void report_task_file(const char *dir, const content_import_outcome_t *o, bool print)
{
    for (size_t k = 0; k < o->rep.n_errors; k++) {
        LOG_ERROR("task file rejected", "file=\"%s\" path=\"%s\" error=\"%s\"",
                  log_esc(o->rep.file), log_esc(o->rep.errors[k].path),
                  log_esc(o->rep.errors[k].message));
        if (print)
            printf("%s/%s:%s: %s\n", dir, o->rep.file, o->rep.errors[k].path,
                   o->rep.errors[k].message);
    }
    if (o->res.change != DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_REJECTED) {
        DOJO_LOG(o->res.change == DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_UNCHANGED
                     ? LOG_LEVEL_DEBUG
                     : LOG_LEVEL_INFO,
                 "task loaded", "file=\"%s\" slug=%s version=%d change=%s hash=%.12s",
                 log_esc(o->rep.file), o->slug, o->res.version, content_change_name(o->res.change),
                 o->res.content_hash);
    }
    if (print)
        printf("%s %s version=%d\n", content_change_name(o->res.change), o->rep.file,
               o->res.version);
}

static int load_tasks(content_t *c, const char *dir, bool print, int *rejected, err_t **err)
{
    char **names = NULL;
    size_t n = 0, m = 0;
    if (content_list_json(dir, &names, &n, err) < 0)
        return -1;
    content_import_file_t *files = xcalloc(n + 1, sizeof *files);
    char **texts = xcalloc(n + 1, sizeof *texts);
    int rc = -1, unreadable = 0;
    content_import_result_t res;
    memset(&res, 0, sizeof res);
    read_task_files(dir, names, n, files, texts, &m, &unreadable);
    /* An unreadable file counts as rejected: nothing gets archived then. */
    if (content_import_tasks(c, files, m, false, unreadable == 0, true, NULL, &res, err) < 0)
        goto cleanup;
    for (size_t i = 0; i < res.n; i++)
        report_task_file(dir, &res.files[i], print);
    for (size_t i = 0; i < res.n_archived; i++) {
        LOG_INFO("task archived: its file is gone", "slug=%s", res.archived[i]);
        if (print)
            printf("archived %s\n", res.archived[i]);
    }
    LOG_INFO("tasks loaded",
             "dir=\"%s\" files=%zu created=%d new_versions=%d unchanged=%d "
             "rejected=%d archived=%zu",
             log_esc(dir), n, res.created, res.new_versions, res.unchanged,
             res.rejected + unreadable, res.n_archived);
    if (rejected)
        *rejected += res.rejected + unreadable;
    rc = 0;
cleanup:
    content_import_result_free(&res);
    content_free_list(texts, m);
    free(files);
    content_free_list(names, n);
    return rc;
}

/* ------------------------------------------------------------------------
 * Achievements
 * ------------------------------------------------------------------------ */

/* One file of the achievements directory. */
typedef struct ach_file {
    char path[4096];
    bool skipped; /* its path does not fit */
    content_report_t rep;
    json_t *norm; /* NULL when rejected */
} ach_file_t;

static void read_achievement(const char *dir, const char *name, ach_file_t *f)
{
    if (!content_join(f->path, sizeof f->path, dir, name)) {
        f->skipped = true;
        return;
    }
    content_report_init(&f->rep, name);
    cleanup_free char *text = NULL;
    size_t len = 0;
    cleanup_err err_t *rerr = NULL;
    if (content_read_file(f->path, &text, &len, &rerr) < 0)
        content_report_error(&f->rep, "$", "cannot read the file");
    else
        achievement_parse(text, len, &f->rep, &f->norm);
}

static void report_achievement(const ach_file_t *f, const char *name, content_ach_change_t change,
                               bool print)
{
    for (size_t k = 0; k < f->rep.n_errors; k++) {
        LOG_ERROR("achievement file rejected", "file=\"%s\" path=\"%s\" error=\"%s\"",
                  log_esc(f->path), log_esc(f->rep.errors[k].path),
                  log_esc(f->rep.errors[k].message));
        if (print)
            printf("%s:%s: %s\n", f->path, f->rep.errors[k].path, f->rep.errors[k].message);
    }
    if (f->norm == NULL)
        return;
    static const char *const change_names[] = {"unchanged", "created", "updated"};
    if (change != ACH_UNCHANGED)
        LOG_INFO("achievement loaded", "slug=%s change=%s",
                 json_string_value(json_object_get(f->norm, "slug")), change_names[change]);
    if (print)
        printf("%s %s\n", change_names[change], name);
}

static void free_achievements(ach_file_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i].skipped)
            continue;
        content_report_free(&v[i].rep);
        if (v[i].norm)
            json_decref(v[i].norm);
    }
    free(v);
}

/* Loads every DIR/ *.json achievement (bad files logged and skipped);
 * definitions whose file disappeared are retired. */
static int load_achievements(content_t *c, const char *dir, bool print, int *rejected, err_t **err)
{
    char **names = NULL;
    size_t n = 0;
    if (content_list_json(dir, &names, &n, err) < 0)
        return -1;
    ach_file_t *files = xcalloc(n + 1, sizeof *files);
    json_t **norms = xcalloc(n + 1, sizeof *norms);
    content_ach_change_t *changes = xcalloc(n + 1, sizeof *changes);
    int bad = 0, changed = 0, rc = -1;
    for (size_t i = 0; i < n; i++) {
        read_achievement(dir, names[i], &files[i]);
        norms[i] = files[i].norm;
        bad += !files[i].skipped && files[i].norm == NULL;
    }
    cleanup_pgresult PGresult *retired = NULL;
    if (content_store_achievements(c, norms, n, bad == 0, changes, &retired, err) < 0)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        if (!files[i].skipped)
            report_achievement(&files[i], names[i], changes[i], print);
        changed += files[i].norm && changes[i] != ACH_UNCHANGED;
    }
    for (int i = 0; retired && i < PQntuples(retired); i++) {
        LOG_INFO("achievement retired: its file is gone", "slug=%s", pg_get(retired, i, 0));
        if (print)
            printf("retired %s\n", pg_get(retired, i, 0));
    }
    LOG_INFO("achievements loaded", "dir=\"%s\" files=%zu changed=%d rejected=%d", log_esc(dir), n,
             changed, bad);
    if (rejected)
        *rejected += bad;
    rc = 0;
cleanup:
    free(changes);
    free(norms);
    free_achievements(files, n);
    content_free_list(names, n);
    return rc;
}

/* ------------------------------------------------------------------------
 * Tracks
 * ------------------------------------------------------------------------ */

/* Loads every DIR/ *.json track, checked against the active tasks (so load
 * the tasks first); the set replaces the stored one unless a file was
 * rejected, since a broken file may have been meant to change a track. */
static int load_tracks(content_t *c, const char *dir, bool print, int *rejected, err_t **err)
{
    char **names = NULL;
    size_t n = 0;
    if (content_list_json(dir, &names, &n, err) < 0)
        return -1;
    cleanup_json json_t *known = NULL;
    json_t **norms = calloc(n + 1, sizeof *norms);
    if (norms == NULL)
        abort();
    int bad = 0, rc = -1;
    size_t m = 0;
    if (content_active_task_slugs(c, &known, err) < 0)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        if (!content_join(path, sizeof path, dir, names[i]))
            continue;
        cleanup_report content_report_t rep;
        content_report_init(&rep, names[i]);
        cleanup_free char *text = NULL;
        size_t len = 0;
        cleanup_err err_t *rerr = NULL;
        if (content_read_file(path, &text, &len, &rerr) < 0)
            content_report_error(&rep, "$", "cannot read the file");
        else if (track_parse(text, len, known, &rep, &norms[m]) == 0)
            m++;
        for (size_t k = 0; k < rep.n_errors; k++) {
            LOG_ERROR("track file rejected", "file=\"%s\" path=\"%s\" error=\"%s\"", log_esc(path),
                      log_esc(rep.errors[k].path), log_esc(rep.errors[k].message));
            if (print)
                printf("%s:%s: %s\n", path, rep.errors[k].path, rep.errors[k].message);
        }
        bad += rep.n_errors > 0;
    }
    if (bad) {
        LOG_WARN("tracks left as they are: a track file was rejected", "dir=\"%s\" rejected=%d",
                 log_esc(dir), bad);
    } else {
        if (content_store_tracks(c, norms, m, err) < 0)
            goto cleanup;
        LOG_INFO("tracks loaded", "dir=\"%s\" tracks=%zu", log_esc(dir), m);
        if (print)
            printf("tracks %zu\n", m);
    }
    if (rejected)
        *rejected += bad;
    rc = 0;
cleanup:
    for (size_t i = 0; i < m; i++)
        json_decref(norms[i]);
    free(norms);
    content_free_list(names, n);
    return rc;
}

/* ------------------------------------------------------------------------
 * The whole directory
 * ------------------------------------------------------------------------ */

typedef int (*load_fn)(content_t *c, const char *dir, bool print, int *rejected, err_t **err);

/* Loads DIR/sub with `load`; a missing folder is only a warning. */
static int load_sub(content_t *c, const char *dir, const char *sub, load_fn load, const char *what,
                    bool print, int *rejected, err_t **err)
{
    char path[4096];
    if (!content_join(path, sizeof path, dir, sub))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%.64s...: path too long", dir);
    cleanup_err err_t *lerr = NULL;
    if (load(c, path, print, rejected, &lerr) == 0)
        return 0;
    if (lerr->code != GRPC_STATUS_NOT_FOUND) {
        *err = DOJO_STEAL(lerr);
        return err_wrap(err, "load %s", sub);
    }
    LOG_WARN(what, "dir=\"%s\"", log_esc(path));
    return 0;
}

int content_load_dir(content_t *c, const char *dir, bool print, int *rejected, err_t **err)
{
    if (rejected)
        *rejected = 0;
    if (load_sub(c, dir, "tasks", load_tasks, "no task directory: tasks left as they are", print,
                 rejected, err) < 0)
        return -1;
    /* After the tasks: a contest names tasks that must exist. */
    if (load_sub(c, dir, "contests", content_load_contests,
                 "no contest directory: contests left as they are", print, rejected, err) < 0)
        return -1;
    if (load_sub(c, dir, "achievements", load_achievements,
                 "no achievement directory: definitions left as they are", print, rejected,
                 err) < 0)
        return -1;
    /* After the tasks too: a track names tasks that must be active. */
    return load_sub(c, dir, "tracks", load_tracks, "no track directory: tracks left as they are",
                    print, rejected, err);
}

/* ------------------------------------------------------------------------
 * content validate DIR
 * ------------------------------------------------------------------------ */

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

typedef enum { KIND_TASK, KIND_ACHIEVEMENT, KIND_CONTEST, KIND_TRACK } file_kind_t;

/* Validates one file, printing its problems; returns their number, with
 * *norm (may be NULL) the new normalised document when there are none.
 * `known` (tracks only, may be NULL) holds the task slugs a track may name. */
static int check_file(const char *path, const char *name, file_kind_t kind, json_t *known,
                      json_t **norm)
{
    cleanup_free char *text = NULL;
    size_t len = 0;
    cleanup_err err_t *rerr = NULL;
    cleanup_report content_report_t rep;
    content_report_init(&rep, name);
    cleanup_json json_t *doc = NULL;
    if (content_read_file(path, &text, &len, &rerr) < 0)
        content_report_error(&rep, "$", "cannot read: %s", rerr->msg);
    else if (kind == KIND_ACHIEVEMENT)
        achievement_parse(text, len, &rep, &doc);
    else if (kind == KIND_CONTEST)
        contestjson_parse(text, len, &rep, &doc);
    else if (kind == KIND_TRACK)
        track_parse(text, len, known, &rep, &doc);
    else
        taskjson_parse(text, len, &rep, &doc);
    for (size_t k = 0; k < rep.n_errors; k++)
        printf("%s:%s: %s\n", path, rep.errors[k].path, rep.errors[k].message);
    for (size_t k = 0; k < rep.n_warnings; k++)
        fprintf(stderr, "%s:%s: warning: %s\n", path, rep.warnings[k].path,
                rep.warnings[k].message);
    if (norm)
        *norm = DOJO_STEAL(doc);
    return (int)rep.n_errors;
}

/* Files of a folder whose name starts with "achievements" are achievements,
 * with "contests" contests, with "tracks" tracks, others tasks. */
static file_kind_t dir_kind(const char *dir, size_t len)
{
    while (len > 1 && dir[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && dir[start - 1] != '/')
        start--;
    if (len - start >= 12 && !strncmp(dir + start, "achievements", 12))
        return KIND_ACHIEVEMENT;
    if (len - start >= 8 && !strncmp(dir + start, "contests", 8))
        return KIND_CONTEST;
    if (len - start >= 6 && !strncmp(dir + start, "tracks", 6))
        return KIND_TRACK;
    return KIND_TASK;
}

/* Validates every *.json of `dir`; returns the number of errors, or -1. */
static int validate_files(const char *dir, file_kind_t kind, json_t *known, int *files, err_t **err)
{
    char **names = NULL;
    size_t n = 0;
    if (content_list_json(dir, &names, &n, err) < 0)
        return -1;
    int errors = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        if (content_join(path, sizeof path, dir, names[i]))
            errors += check_file(path, names[i], kind, known, NULL);
    }
    *files += (int)n;
    content_free_list(names, n);
    return errors;
}

/* The slugs of the valid task files of `dir`, as the keys of a new object. */
static json_t *task_file_slugs(const char *dir)
{
    json_t *known = json_object();
    char **names = NULL;
    size_t n = 0;
    cleanup_err err_t *lerr = NULL;
    if (content_list_json(dir, &names, &n, &lerr) < 0)
        return known;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        cleanup_free char *text = NULL;
        size_t len = 0;
        cleanup_err err_t *rerr = NULL;
        cleanup_report content_report_t rep;
        content_report_init(&rep, names[i]);
        cleanup_json json_t *norm = NULL;
        if (content_join(path, sizeof path, dir, names[i]) &&
            content_read_file(path, &text, &len, &rerr) == 0 &&
            taskjson_parse(text, len, &rep, &norm) == 0)
            json_object_set(known, json_string_value(json_object_get(norm, "slug")), json_true());
    }
    content_free_list(names, n);
    return known;
}

int content_validate_dir(const char *dir, err_t **err)
{
    char tasks[4096], achs[4096], contests[4096], tracks[4096];
    if (!content_join(tasks, sizeof tasks, dir, "tasks") ||
        !content_join(achs, sizeof achs, dir, "achievements") ||
        !content_join(contests, sizeof contests, dir, "contests") ||
        !content_join(tracks, sizeof tracks, dir, "tracks"))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%.64s...: path too long", dir);
    int errors = 0, files = 0;
    if (is_dir(tasks) || is_dir(achs) || is_dir(contests) || is_dir(tracks)) {
        cleanup_json json_t *known = task_file_slugs(tasks);
        const char *subs[] = {tasks, achs, contests, tracks};
        const file_kind_t kinds[] = {KIND_TASK, KIND_ACHIEVEMENT, KIND_CONTEST, KIND_TRACK};
        for (int k = 0; k < 4; k++) {
            int e = is_dir(subs[k]) ? validate_files(subs[k], kinds[k], known, &files, err) : 0;
            if (e < 0)
                return -1;
            errors += e;
        }
    } else {
        if ((errors = validate_files(dir, dir_kind(dir, strlen(dir)), NULL, &files, err)) < 0)
            return -1;
    }
    fprintf(stderr, "%d file%s checked, %d error%s\n", files, files == 1 ? "" : "s", errors,
            errors == 1 ? "" : "s");
    return errors;
}

int content_normalize_file(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    file_kind_t kind = slash ? dir_kind(path, (size_t)(slash - path)) : KIND_TASK;
    cleanup_json json_t *norm = NULL;
    int errors = check_file(path, name, kind, NULL, &norm);
    if (norm) {
        cleanup_free char *text = check_pretty(norm);
        fputs(text, stdout);
    }
    return errors;
}

/* The operator's check stores nothing: large test data is only named by
 * its hash, as the import would reference it. */
static int hash_only(void *payload, const void *data, size_t len, char sha256_out[65],
                     err_t **err)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, len);
    sodium_bin2hex(sha256_out, 65, h, sizeof h);
    return 0;
}

int content_package_file(const char *path, const char *slug)
{
    cleanup_err err_t *err = NULL;
    /* By descriptor: a package sent as a blob may be up to 256 MiB. */
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    const char *slash = strrchr(path, '/');
    cleanup_report content_report_t rep;
    content_report_init(&rep, slash ? slash + 1 : path);
    cleanup_json json_t *doc = NULL, *paths = NULL, *norm = NULL;
    pkg_source_t src = {.fd = fd, .blob = hash_only};
    int rc = pkg_read_task(&src, rep.file, slug, &rep, &doc, &paths, &err);
    if (rc == 0)
        rc = pkg_normalize(doc, &rep, &norm);
    for (size_t i = 0; i < rep.n_warnings; i++)
        fprintf(stderr, "%s: %s: warning: %s\n", rep.file, rep.warnings[i].path,
                rep.warnings[i].message);
    for (size_t i = 0; i < rep.n_errors; i++)
        fprintf(stderr, "%s: %s: %s\n", rep.file, rep.errors[i].path, rep.errors[i].message);
    if (norm) {
        cleanup_free char *text = check_pretty(norm);
        fputs(text, stdout);
    }
    return rc == 0 ? 0 : 1;
}
