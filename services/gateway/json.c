/* json.c — the API's JSON shapes: typed reads of request fields, and
 * protobuf messages turned into what docs/openapi.yaml describes.
 *
 * Learner-facing shapes are built field by field (never by reflection), so a
 * field that could carry hidden test data is only ever present when we wrote
 * it here. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "libcommon/mem.h"
#include "libcommon/text.h"

/* ------------------------------------------------------------------------
 * Reading request fields
 * ------------------------------------------------------------------------ */

int gw_json_str(json_t *obj, const char *key, bool required, size_t max_bytes, const char **out,
                err_t **err)
{
    *out = NULL;
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v)) {
        if (required)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: is required", key);
        return 0;
    }
    if (!json_is_string(v))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: must be a string", key);
    if (max_bytes > 0 && json_string_length(v) > max_bytes)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: must be at most %zu bytes", key,
                       max_bytes);
    /* Bodies with NUL inside strings are refused when decoded (request.c). */
    *out = json_string_value(v);
    if (required && **out == '\0')
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: must not be empty", key);
    return 0;
}

int gw_json_bool(json_t *obj, const char *key, bool *out, err_t **err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

int gw_json_int(json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out,
                err_t **err)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: must be an integer", key);
    json_int_t i = json_integer_value(v);
    if (i < min || i > max)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "%s: must be between %" PRId64 " and %" PRId64, key, min, max);
    *out = i;
    return 0;
}

int gw_query_int(gw_req_t *r, const char *name, int64_t min, int64_t max, int64_t *out,
                 err_t **err)
{
    const char *s = gw_query(r, name);
    if (s == NULL || *s == '\0')
        return 0;
    int64_t v = 0;
    size_t n = strlen(s);
    if (n > 10)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: must be an integer between %" PRId64
                       " and %" PRId64, name, min, max);
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: must be an integer", name);
        v = v * 10 + (s[i] - '0');
    }
    if (v < min || v > max)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "%s: must be between %" PRId64 " and %" PRId64, name, min, max);
    *out = v;
    return 0;
}

int gw_query_page(gw_req_t *r, Dojo__Common__V1__PageRequest *page, int max, err_t **err)
{
    int64_t size = 0;
    const char *tok = gw_query(r, "page_token");
    if (gw_query_int(r, "page_size", 0, max, &size, err) < 0)
        return -1;
    if (tok && strlen(tok) > 64)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "page_token: is not valid");
    page->page_size = (int32_t)size;
    page->page_token = (char *)(tok ? tok : "");
    return 0;
}

/* ------------------------------------------------------------------------
 * Scalars
 * ------------------------------------------------------------------------ */

json_t *gw_json_time(const Dojo__Common__V1__Timestamp *ts)
{
    if (ts == NULL || ts->unix_micros == 0)
        return json_null();
    int64_t us = ts->unix_micros;
    time_t secs = (time_t)(us / 1000000);
    int ms = (int)((us % 1000000) / 1000);
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL)
        return json_null();
    char buf[48];
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return json_string(buf);
}

json_t *gw_json_bytes(const uint8_t *data, size_t len)
{
    char *buf = xmalloc(len * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = text_utf8_seq((const unsigned char *)data + i, len - i);
        if (n == 0 || (n == 1 && data[i] == 0)) {
            memcpy(buf + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += 1;
        } else {
            memcpy(buf + o, data + i, n);
            o += n;
            i += n;
        }
    }
    json_t *s = json_stringn(buf, o);
    free(buf);
    return s ? s : json_string("");
}

/* A JSON string for a protobuf string field (UTF-8 checked by protobuf-c? not
 * always: be safe). */
static json_t *str(const char *s)
{
    if (s == NULL)
        return json_string("");
    json_t *j = json_string(s);
    return j ? j : gw_json_bytes((const uint8_t *)s, strlen(s));
}

const char *gw_difficulty_name(int d)
{
    switch (d) {
    case DOJO__COMMON__V1__DIFFICULTY__DIFFICULTY_EASY: return "easy";
    case DOJO__COMMON__V1__DIFFICULTY__DIFFICULTY_MEDIUM: return "medium";
    case DOJO__COMMON__V1__DIFFICULTY__DIFFICULTY_HARD: return "hard";
    default: return "easy";
    }
}

int gw_difficulty_parse(const char *s)
{
    if (!strcmp(s, "easy"))
        return DOJO__COMMON__V1__DIFFICULTY__DIFFICULTY_EASY;
    if (!strcmp(s, "medium"))
        return DOJO__COMMON__V1__DIFFICULTY__DIFFICULTY_MEDIUM;
    if (!strcmp(s, "hard"))
        return DOJO__COMMON__V1__DIFFICULTY__DIFFICULTY_HARD;
    return -1;
}

const char *gw_verdict_name(int v)
{
    static const char *const names[] = {NULL, "ac", "wa", "tle", "mle", "re",
                                        "ole", "ce", "ie", "cancelled", "not_run"};
    if (v <= 0 || v >= (int)(sizeof names / sizeof names[0]))
        return NULL;
    return names[v];
}

static json_t *verdict(int v)
{
    const char *n = gw_verdict_name(v);
    return n ? json_string(n) : json_null();
}

const char *gw_role_name(int role)
{
    switch (role) {
    case DOJO__COMMON__V1__ROLE__ROLE_TEACHER: return "teacher";
    case DOJO__COMMON__V1__ROLE__ROLE_AUTHOR: return "author";
    case DOJO__COMMON__V1__ROLE__ROLE_ADMIN: return "admin";
    default: return "learner";
    }
}

const char *gw_checker_name(int kind)
{
    switch (kind) {
    case DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_EXACT: return "exact";
    case DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_TOKENS: return "tokens";
    case DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_FLOAT: return "float";
    case DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_CUSTOM: return "custom";
    case DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_DEFAULT_VALIDATOR: return "default_validator";
    case DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_PACKAGE_VALIDATOR: return "package_validator";
    default: return "ignore_trailing_ws";
    }
}

const char *gw_change_name(int change)
{
    switch (change) {
    case DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_CREATED: return "created";
    case DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_NEW_VERSION: return "new_version";
    case DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_UNCHANGED: return "unchanged";
    case DOJO__CONTENT__V1__TASK_CHANGE__TASK_CHANGE_REJECTED: return "rejected";
    default: return NULL;
    }
}

static const char *status_name(int s)
{
    return s == DOJO__CONTENT__V1__TASK_STATUS__TASK_STATUS_ARCHIVED ? "archived" : "active";
}

static const char *kind_name(int k)
{
    return k == DOJO__GAMIFICATION__V1__SUBMISSION_KIND__SUBMISSION_KIND_RUN ? "run" : "submit";
}

static const char *state_name(int s)
{
    return s == DOJO__GAMIFICATION__V1__SUBMISSION_STATE__SUBMISSION_STATE_FINISHED ? "finished"
                                                                                     : "pending";
}

static json_t *str_array(char **items, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, str(items[i]));
    return a;
}

/* ------------------------------------------------------------------------
 * Messages
 * ------------------------------------------------------------------------ */

json_t *gw_json_user(const Dojo__Auth__V1__User *u, bool with_email)
{
    if (u == NULL)
        return json_null();
    json_t *o = json_pack("{s:o,s:o,s:o,s:o,s:s,s:o,s:o}", "id", str(u->id), "username",
                          str(u->username), "display_name", str(u->display_name), "time_zone",
                          str(u->time_zone), "role", gw_role_name(u->role), "created_at",
                          gw_json_time(u->created_at), "time_zone_changed_at",
                          gw_json_time(u->time_zone_changed_at));
    if (with_email && u->email && *u->email)
        json_object_set_new(o, "email", str(u->email));
    if (with_email) {
        json_object_set_new(o, "institution_id",
                            u->institution_id && *u->institution_id ? str(u->institution_id)
                                                                    : json_null());
        json_object_set_new(o, "institution_admin", json_boolean(u->institution_admin));
    }
    return o;
}

json_t *gw_json_limits(const Dojo__Content__V1__Limits *l)
{
    if (l == NULL)
        return json_object();
    return json_pack("{s:i,s:i,s:i,s:i}", "cpu_ms", l->cpu_ms, "wall_ms", l->wall_ms,
                     "memory_kib", l->memory_kib, "output_kib", l->output_kib);
}

json_t *gw_json_task_summary(const Dojo__Content__V1__TaskSummary *t)
{
    return json_pack("{s:o,s:o,s:s,s:i,s:o,s:o,s:s,s:i,s:o,s:o}", "slug", str(t->slug), "title",
                     str(t->title), "difficulty", gw_difficulty_name(t->difficulty), "points",
                     t->points, "tags", str_array(t->tags, t->n_tags), "languages",
                     str_array(t->languages, t->n_languages), "status", status_name(t->status),
                     "version", t->version, "content_hash", str(t->content_hash), "updated_at",
                     gw_json_time(t->updated_at));
}

json_t *gw_json_task_view(const Dojo__Content__V1__TaskView *t)
{
    json_t *langs = json_array();
    for (size_t i = 0; i < t->n_languages; i++) {
        const Dojo__Content__V1__LanguageOption *l = t->languages[i];
        json_array_append_new(langs, json_pack("{s:o,s:o,s:o}", "language", str(l->language),
                                               "starter_code", str(l->starter_code), "limits",
                                               gw_json_limits(l->limits)));
    }
    json_t *samples = json_array();
    for (size_t i = 0; i < t->n_sample_tests; i++) {
        const Dojo__Content__V1__SampleTest *s = t->sample_tests[i];
        json_array_append_new(samples, json_pack("{s:o,s:o,s:o}", "name", str(s->name), "input",
                                                 str(s->input), "expected", str(s->expected)));
    }
    json_t *o = json_pack(
        "{s:o,s:o,s:s,s:i,s:o,s:o,s:o,s:o,s:s,s:f,s:f,s:o,s:i,s:i,s:o,s:s,s:i,s:o,s:o}", "slug",
        str(t->slug), "title", str(t->title), "difficulty", gw_difficulty_name(t->difficulty),
        "points", t->points, "description", str(t->description), "tags",
        str_array(t->tags, t->n_tags), "languages", langs, "limits", gw_json_limits(t->limits),
        "checker_kind", gw_checker_name(t->checker_kind), "abs_tol", t->abs_tol, "rel_tol",
        t->rel_tol, "sample_tests", samples, "hidden_test_count", t->hidden_test_count,
        "max_score", t->max_score, "hints", str_array(t->hints, t->n_hints), "status",
        status_name(t->status), "version", t->version, "content_hash", str(t->content_hash),
        "updated_at", gw_json_time(t->updated_at));
    json_object_set_new(o, "stop_at_first_failure", json_boolean(t->stop_at_first_failure));
    json_object_set_new(o, "interactive", json_boolean(t->interactive));
    return o;
}

json_t *gw_json_test_result(const Dojo__Gamification__V1__TestResult *t)
{
    /* A hidden test never shows output, whatever upstream sent. */
    return json_pack("{s:i,s:o,s:b,s:o,s:i,s:i,s:i,s:o,s:o,s:i}", "index", t->index, "name",
                     (t->hidden && strncmp(t->name ? t->name : "", "hidden-", 7) != 0)
                         ? json_string("hidden")
                         : str(t->name),
                     "hidden", t->hidden, "verdict", verdict(t->verdict), "cpu_ms", t->cpu_ms,
                     "wall_ms", t->wall_ms, "memory_kib", t->memory_kib, "output_excerpt",
                     t->hidden ? json_string("") : str(t->output_excerpt), "message",
                     str(t->message), "weight", t->weight);
}

json_t *gw_json_streak(const Dojo__Gamification__V1__Streak *s)
{
    if (s == NULL)
        return json_pack("{s:i,s:i,s:i,s:b,s:s}", "current_days", 0, "longest_days", 0,
                         "freezes", 0, "extended_today", 0, "last_active_date", "");
    return json_pack("{s:i,s:i,s:i,s:b,s:o}", "current_days", s->current_days, "longest_days",
                     s->longest_days, "freezes", s->freezes, "extended_today", s->extended_today,
                     "last_active_date", str(s->last_active_date));
}

json_t *gw_json_unlocked(const Dojo__Gamification__V1__UnlockedAchievement *a)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o}", "slug", str(a->slug), "title", str(a->title),
                     "description", str(a->description), "icon", str(a->icon), "unlocked_at",
                     gw_json_time(a->unlocked_at));
}

json_t *gw_json_awards(const Dojo__Gamification__V1__Awards *a)
{
    if (a == NULL)
        return json_null();
    json_t *ach = json_array();
    for (size_t i = 0; i < a->n_achievements_unlocked; i++)
        json_array_append_new(ach, gw_json_unlocked(a->achievements_unlocked[i]));
    return json_pack("{s:i,s:I,s:o,s:o,s:b}", "points_awarded", a->points_awarded, "total_points",
                     (json_int_t)a->total_points, "streak", gw_json_streak(a->streak),
                     "achievements_unlocked", ach, "first_solve", a->first_solve);
}

json_t *gw_json_submission(const Dojo__Gamification__V1__Submission *s)
{
    json_t *tests = json_array();
    for (size_t i = 0; i < s->n_tests; i++)
        json_array_append_new(tests, gw_json_test_result(s->tests[i]));
    json_t *o = json_pack(
        "{s:o,s:o,s:o,s:i,s:o,s:o,s:o,s:s,s:s,s:o,s:i,s:i,s:o,s:o,s:I,s:I,s:i,s:o,s:o,s:o,s:o}",
        "id", str(s->id), "user_id", str(s->user_id), "task_slug", str(s->task_slug),
        "task_version", s->task_version, "language", str(s->language), "code_hash",
        str(s->code_hash), "code", str(s->code), "kind", kind_name(s->kind), "state",
        state_name(s->state), "verdict", verdict(s->verdict), "score", s->score, "max_score",
        s->max_score, "tests", tests, "compile_output", str(s->compile_output), "cpu_ms",
        (json_int_t)s->cpu_ms, "wall_ms", (json_int_t)s->wall_ms, "memory_kib", s->memory_kib,
        "created_at", gw_json_time(s->created_at), "started_at", gw_json_time(s->started_at),
        "finished_at", gw_json_time(s->finished_at), "awards", gw_json_awards(s->awards));
    return o;
}

json_t *gw_json_submission_summary(const Dojo__Gamification__V1__SubmissionSummary *s)
{
    return json_pack("{s:o,s:o,s:o,s:i,s:o,s:s,s:s,s:o,s:i,s:i,s:i,s:o,s:o}", "id", str(s->id),
                     "user_id", str(s->user_id), "task_slug", str(s->task_slug), "task_version",
                     s->task_version, "language", str(s->language), "kind", kind_name(s->kind),
                     "state", state_name(s->state), "verdict", verdict(s->verdict), "score",
                     s->score, "max_score", s->max_score, "points_awarded", s->points_awarded,
                     "created_at", gw_json_time(s->created_at), "finished_at",
                     gw_json_time(s->finished_at));
}

json_t *gw_json_final_result(const Dojo__Executor__V1__FinalResult *f)
{
    return json_pack("{s:o,s:i,s:i,s:i,s:i,s:I,s:I,s:i,s:i,s:i,s:o,s:b,s:o}", "verdict",
                     verdict(f->verdict), "score", f->score, "max_score", f->max_score,
                     "tests_passed", f->tests_passed, "tests_total", f->tests_total, "cpu_ms",
                     (json_int_t)f->cpu_ms, "wall_ms", (json_int_t)f->wall_ms, "memory_kib",
                     f->memory_kib, "exit_code", f->exit_code, "term_signal", f->term_signal,
                     "message", str(f->message), "recorded", f->recorded, "awards",
                     gw_json_awards(f->awards));
}

json_t *gw_json_event(const Dojo__Executor__V1__Event *e, const char *id)
{
    json_t *o = json_pack("{s:s,s:o,s:I,s:i,s:o}", "id", id ? id : "", "submission_id",
                          str(e->submission_id), "seq", (json_int_t)e->seq, "attempt", e->attempt,
                          "emitted_at", gw_json_time(e->emitted_at));
    const Dojo__Executor__V1__OutputChunk *chunk = NULL;
    switch (e->kind_case) {
    case DOJO__EXECUTOR__V1__EVENT__KIND_QUEUED:
        json_object_set_new(o, "kind", json_string("queued"));
        json_object_set_new(o, "position", json_integer(e->queued->position));
        if (e->queued->waiting_for && *e->queued->waiting_for)
            json_object_set_new(o, "waiting_for", str(e->queued->waiting_for));
        break;
    case DOJO__EXECUTOR__V1__EVENT__KIND_STARTED:
        json_object_set_new(o, "kind", json_string("started"));
        json_object_set_new(o, "executor_id", str(e->started->executor_id));
        json_object_set_new(o, "runtime", str(e->started->runtime));
        json_object_set_new(o, "test_count", json_integer(e->started->test_count));
        break;
    case DOJO__EXECUTOR__V1__EVENT__KIND_COMPILE_OUTPUT:
        json_object_set_new(o, "kind", json_string("compile_output"));
        json_object_set_new(o, "text", str(e->compile_output->text));
        json_object_set_new(o, "ok", json_boolean(e->compile_output->ok));
        break;
    case DOJO__EXECUTOR__V1__EVENT__KIND_STDOUT_CHUNK:
        chunk = e->stdout_chunk;
        json_object_set_new(o, "kind", json_string("stdout"));
        break;
    case DOJO__EXECUTOR__V1__EVENT__KIND_STDERR_CHUNK:
        chunk = e->stderr_chunk;
        json_object_set_new(o, "kind", json_string("stderr"));
        break;
    case DOJO__EXECUTOR__V1__EVENT__KIND_TEST_RESULT:
        json_object_set_new(o, "kind", json_string("test_result"));
        json_object_set_new(o, "test", gw_json_test_result(e->test_result));
        break;
    case DOJO__EXECUTOR__V1__EVENT__KIND_RESULT:
        json_object_set_new(o, "kind", json_string("result"));
        json_object_set_new(o, "result", gw_json_final_result(e->result));
        break;
    case DOJO__EXECUTOR__V1__EVENT__KIND_ERROR:
        json_object_set_new(o, "kind", json_string("error"));
        json_object_set_new(o, "message", str(e->error->message));
        json_object_set_new(o, "will_retry", json_boolean(e->error->will_retry));
        break;
    default:
        json_object_set_new(o, "kind", json_string("unknown"));
        break;
    }
    if (chunk) {
        json_object_set_new(o, "data", gw_json_bytes(chunk->data.data, chunk->data.len));
        json_object_set_new(o, "offset", json_integer(chunk->offset));
        json_object_set_new(o, "truncated", json_boolean(chunk->truncated));
    }
    return o;
}

json_t *gw_json_field_errors(Dojo__Common__V1__FieldError **errs, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_pack("{s:o,s:o}", "path", str(errs[i]->path), "message",
                              str(errs[i]->message));
        if (errs[i]->file && *errs[i]->file)
            json_object_set_new(o, "file", str(errs[i]->file));
        json_array_append_new(a, o);
    }
    return a;
}
