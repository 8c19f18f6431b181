/* taskmsg.c — a normalised task and the messages: the file form of a Task
 * (TaskInput.task is normalised like a file), the Task, TaskView and
 * JudgeBundle built from the stored form.
 *
 * The normalised document was validated, so every field is present with its
 * type; a TaskView is built field by field and has nowhere to put a hidden
 * test or a solution. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/cleanup.h"
#include "model.h"

/* ------------------------------------------------------------------------
 * Message -> file form
 * ------------------------------------------------------------------------ */

static void set_str(json_t *o, const char *key, const char *v)
{
    if (v && v[0])
        json_object_set_new(o, key, json_string(v));
}

static void set_int(json_t *o, const char *key, int64_t v)
{
    if (v)
        json_object_set_new(o, key, json_integer(v));
}

static json_t *limits_from_message(const Dojo__Content__V1__Limits *l)
{
    json_t *o = json_object();
    set_int(o, "cpu_ms", l->cpu_ms);
    set_int(o, "wall_ms", l->wall_ms);
    set_int(o, "memory_kib", l->memory_kib);
    set_int(o, "output_kib", l->output_kib);
    return o;
}

/* An enum by its name; a value without one as its number, which the
 * validator then reports ("must be one of ..."). */
static void set_enum(json_t *o, const char *key, const check_names_t *names, int v)
{
    if (check_name(names, v))
        set_str(o, key, check_name(names, v));
    else if (v)
        json_object_set_new(o, key, json_integer(v));
}

static json_t *strings_from_message(char **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *languages_from_message(Dojo__Content__V1__LanguageOption **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *l = json_object();
        json_object_set_new(l, "language", json_string(v[i]->language));
        set_str(l, "starter_code", v[i]->starter_code);
        if (v[i]->limits)
            json_object_set_new(l, "limits", limits_from_message(v[i]->limits));
        json_array_append_new(a, l);
    }
    return a;
}

/* A PackageValidator's language, files, flags and interactive onto `o`,
 * flattened as the file form has them. */
static void validator_from_message(json_t *o, const Dojo__Content__V1__PackageValidator *v)
{
    set_str(o, "language", v->language);
    json_t *files = json_array();
    for (size_t i = 0; i < v->n_files; i++) {
        json_t *f = json_object();
        set_str(f, "name", v->files[i]->name);
        set_str(f, "content", v->files[i]->content);
        json_array_append_new(files, f);
    }
    json_object_set_new(o, "files", files);
    if (v->n_flags > 0)
        json_object_set_new(o, "flags", strings_from_message(v->flags, v->n_flags));
    if (v->interactive)
        json_object_set_new(o, "interactive", json_true());
}

static json_t *input_validators_from_message(Dojo__Content__V1__PackageInputValidator **v,
                                             size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        set_str(o, "path", v[i]->path);
        if (v[i]->validator)
            validator_from_message(o, v[i]->validator);
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *checker_from_message(const Dojo__Content__V1__Checker *m)
{
    json_t *c = json_object();
    set_enum(c, "kind", &task_checker_kinds, m->kind);
    if (m->abs_tol != 0)
        json_object_set_new(c, "abs_tol", json_real(m->abs_tol));
    if (m->rel_tol != 0)
        json_object_set_new(c, "rel_tol", json_real(m->rel_tol));
    if (m->custom) {
        json_t *cc = json_object();
        set_str(cc, "language", m->custom->language);
        set_str(cc, "source", m->custom->source);
        json_object_set_new(c, "custom", cc);
    }
    if (m->case_sensitive)
        json_object_set_new(c, "case_sensitive", json_true());
    if (m->space_change_sensitive)
        json_object_set_new(c, "space_change_sensitive", json_true());
    if (m->validator)
        validator_from_message(c, m->validator);
    return c;
}

static json_t *tests_from_message(Dojo__Content__V1__TestCase **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_object();
        json_object_set_new(x, "name", json_string(v[i]->name));
        if (v[i]->input_sha256 && v[i]->input_sha256[0])
            json_object_set_new(x, "input_sha256", json_string(v[i]->input_sha256));
        else
            json_object_set_new(x, "input", json_string(v[i]->input));
        if (v[i]->expected_sha256 && v[i]->expected_sha256[0])
            json_object_set_new(x, "expected_sha256", json_string(v[i]->expected_sha256));
        else
            json_object_set_new(x, "expected", json_string(v[i]->expected));
        if (v[i]->hidden)
            json_object_set_new(x, "hidden", json_true());
        set_int(x, "weight", v[i]->weight);
        if (v[i]->group && v[i]->group[0])
            json_object_set_new(x, "group", json_string(v[i]->group));
        if (v[i]->validator_flags)
            json_object_set_new(x, "validator_flags",
                                strings_from_message(v[i]->validator_flags->flags,
                                                     v[i]->validator_flags->n_flags));
        json_array_append_new(a, x);
    }
    return a;
}

static json_t *solutions_from_message(Dojo__Content__V1__Solution **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        set_str(o, "name", v[i]->name);
        set_str(o, "language", v[i]->language);
        set_str(o, "code", v[i]->code);
        set_enum(o, "expected_verdict", &task_verdicts, v[i]->expected_verdict);
        json_array_append_new(a, o);
    }
    return a;
}

json_t *taskjson_from_message(const Dojo__Content__V1__Task *t)
{
    json_t *o = json_object();
    set_str(o, "slug", t->slug);
    set_str(o, "title", t->title);
    set_enum(o, "difficulty", &task_difficulties, t->difficulty);
    set_int(o, "points", t->points);
    set_str(o, "description", t->description);
    json_object_set_new(o, "tags", strings_from_message(t->tags, t->n_tags));
    json_object_set_new(o, "languages", languages_from_message(t->languages, t->n_languages));
    if (t->limits)
        json_object_set_new(o, "limits", limits_from_message(t->limits));
    if (t->checker)
        json_object_set_new(o, "checker", checker_from_message(t->checker));
    json_object_set_new(o, "tests", tests_from_message(t->tests, t->n_tests));
    json_object_set_new(o, "hints", strings_from_message(t->hints, t->n_hints));
    json_object_set_new(o, "reference_solutions",
                        solutions_from_message(t->reference_solutions, t->n_reference_solutions));
    json_object_set_new(o, "wrong_solutions",
                        solutions_from_message(t->wrong_solutions, t->n_wrong_solutions));
    set_str(o, "editorial", t->editorial);
    if (t->stop_at_first_failure)
        json_object_set_new(o, "stop_at_first_failure", json_true());
    if (t->restrict_languages)
        json_object_set_new(o, "restrict_languages", json_true());
    if (t->no_visible_tests)
        json_object_set_new(o, "no_visible_tests", json_true());
    if (t->n_input_validators > 0)
        json_object_set_new(o, "input_validators",
                            input_validators_from_message(t->input_validators,
                                                          t->n_input_validators));
    return o;
}

/* ------------------------------------------------------------------------
 * Normalised document -> messages (call's arena). The document was
 * validated, so every field is present with its type.
 * ------------------------------------------------------------------------ */

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int64_t jint(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static char *cstr(rpc_call_t *call, json_t *o, const char *key)
{
    return rpc_strdup(call, jstr(o, key));
}

static Dojo__Content__V1__Limits *limits_msg(rpc_call_t *call, json_t *l)
{
    Dojo__Content__V1__Limits *m =
        RPC_NEW(call, Dojo__Content__V1__Limits, DOJO__CONTENT__V1__LIMITS__INIT);
    m->cpu_ms = (int32_t)jint(l, "cpu_ms");
    m->wall_ms = (int32_t)jint(l, "wall_ms");
    m->memory_kib = (int32_t)jint(l, "memory_kib");
    m->output_kib = (int32_t)jint(l, "output_kib");
    return m;
}

static bool listed(json_t *langs, const char *id)
{
    size_t i;
    json_t *l;
    json_array_foreach(langs, i, l)
    {
        if (!strcmp(jstr(l, "language"), id))
            return true;
    }
    return false;
}

/* The listed languages; with `accepted`, then every other language of the
 * catalogue (empty starter code, the task's limits) unless the task
 * restricts its languages: what a learner may submit in. */
static void languages_msg(rpc_call_t *call, json_t *norm, bool accepted,
                          Dojo__Content__V1__LanguageOption ***out, size_t *n)
{
    json_t *a = json_object_get(norm, "languages");
    size_t n_all;
    const content_language_t *all = content_languages(&n_all);
    bool more = accepted && !json_is_true(json_object_get(norm, "restrict_languages"));
    *n = 0;
    *out = rpc_alloc(call, (json_array_size(a) + (more ? n_all : 0) + 1) * sizeof **out);
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *l = json_array_get(a, i);
        Dojo__Content__V1__LanguageOption *m = RPC_NEW(call, Dojo__Content__V1__LanguageOption,
                                                       DOJO__CONTENT__V1__LANGUAGE_OPTION__INIT);
        m->language = cstr(call, l, "language");
        m->starter_code = cstr(call, l, "starter_code");
        m->limits = limits_msg(call, json_object_get(l, "limits"));
        (*out)[(*n)++] = m;
    }
    for (size_t i = 0; more && i < n_all; i++) {
        if (listed(a, all[i].id))
            continue;
        Dojo__Content__V1__LanguageOption *m = RPC_NEW(call, Dojo__Content__V1__LanguageOption,
                                                       DOJO__CONTENT__V1__LANGUAGE_OPTION__INIT);
        m->language = (char *)all[i].id;
        m->starter_code = "";
        m->limits = limits_msg(call, json_object_get(norm, "limits"));
        (*out)[(*n)++] = m;
    }
}

static void strings_msg(rpc_call_t *call, json_t *a, char ***out, size_t *n)
{
    *n = json_array_size(a);
    *out = rpc_alloc(call, (*n + 1) * sizeof **out);
    for (size_t i = 0; i < *n; i++)
        (*out)[i] = rpc_strdup(call, json_string_value(json_array_get(a, i)));
}

static int checker_kind(json_t *norm)
{
    return check_name_index(&task_checker_kinds, jstr(json_object_get(norm, "checker"), "kind"));
}

/* The PackageValidator of `o`'s flattened language, files, flags and
 * interactive. */
static Dojo__Content__V1__PackageValidator *validator_msg(rpc_call_t *call, json_t *o)
{
    Dojo__Content__V1__PackageValidator *v = RPC_NEW(call, Dojo__Content__V1__PackageValidator,
                                                     DOJO__CONTENT__V1__PACKAGE_VALIDATOR__INIT);
    json_t *files = json_object_get(o, "files");
    v->language = cstr(call, o, "language");
    v->n_files = json_array_size(files);
    v->files = rpc_alloc(call, (v->n_files + 1) * sizeof *v->files);
    for (size_t i = 0; i < v->n_files; i++) {
        json_t *f = json_array_get(files, i);
        Dojo__Content__V1__ValidatorFile *fm = RPC_NEW(call, Dojo__Content__V1__ValidatorFile,
                                                       DOJO__CONTENT__V1__VALIDATOR_FILE__INIT);
        fm->name = cstr(call, f, "name");
        fm->content = cstr(call, f, "content");
        v->files[i] = fm;
    }
    strings_msg(call, json_object_get(o, "flags"), &v->flags, &v->n_flags);
    v->interactive = json_is_true(json_object_get(o, "interactive"));
    return v;
}

static Dojo__Content__V1__Checker *checker_msg(rpc_call_t *call, json_t *norm)
{
    json_t *c = json_object_get(norm, "checker");
    Dojo__Content__V1__Checker *m =
        RPC_NEW(call, Dojo__Content__V1__Checker, DOJO__CONTENT__V1__CHECKER__INIT);
    m->kind = checker_kind(norm);
    m->abs_tol = json_number_value(json_object_get(c, "abs_tol"));
    m->rel_tol = json_number_value(json_object_get(c, "rel_tol"));
    m->case_sensitive = json_is_true(json_object_get(c, "case_sensitive"));
    m->space_change_sensitive = json_is_true(json_object_get(c, "space_change_sensitive"));
    json_t *cc = json_object_get(c, "custom");
    if (cc) {
        m->custom = RPC_NEW(call, Dojo__Content__V1__CustomChecker,
                            DOJO__CONTENT__V1__CUSTOM_CHECKER__INIT);
        m->custom->language = cstr(call, cc, "language");
        m->custom->source = cstr(call, cc, "source");
    }
    if (m->kind == DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_PACKAGE_VALIDATOR)
        m->validator = validator_msg(call, c);
    return m;
}

static void tests_msg(rpc_call_t *call, json_t *norm, Dojo__Content__V1__TestCase ***out, size_t *n)
{
    json_t *a = json_object_get(norm, "tests");
    *n = json_array_size(a);
    *out = rpc_alloc(call, (*n + 1) * sizeof **out);
    for (size_t i = 0; i < *n; i++) {
        json_t *t = json_array_get(a, i);
        Dojo__Content__V1__TestCase *m =
            RPC_NEW(call, Dojo__Content__V1__TestCase, DOJO__CONTENT__V1__TEST_CASE__INIT);
        m->name = cstr(call, t, "name");
        m->input = cstr(call, t, "input");
        m->expected = cstr(call, t, "expected");
        m->hidden = json_is_true(json_object_get(t, "hidden"));
        m->weight = (int32_t)jint(t, "weight");
        m->group = cstr(call, t, "group");
        m->input_sha256 = cstr(call, t, "input_sha256");
        m->expected_sha256 = cstr(call, t, "expected_sha256");
        json_t *flags = json_object_get(t, "validator_flags");
        if (flags) {
            m->validator_flags = RPC_NEW(call, Dojo__Content__V1__ValidatorFlags,
                                         DOJO__CONTENT__V1__VALIDATOR_FLAGS__INIT);
            strings_msg(call, flags, &m->validator_flags->flags, &m->validator_flags->n_flags);
        }
        (*out)[i] = m;
    }
}

static void solutions_msg(rpc_call_t *call, json_t *a, Dojo__Content__V1__Solution ***out,
                          size_t *n)
{
    *n = json_array_size(a);
    *out = rpc_alloc(call, (*n + 1) * sizeof **out);
    for (size_t i = 0; i < *n; i++) {
        json_t *s = json_array_get(a, i);
        Dojo__Content__V1__Solution *m =
            RPC_NEW(call, Dojo__Content__V1__Solution, DOJO__CONTENT__V1__SOLUTION__INIT);
        m->name = cstr(call, s, "name");
        m->language = cstr(call, s, "language");
        m->code = cstr(call, s, "code");
        m->expected_verdict = check_name_index(&task_verdicts, jstr(s, "expected_verdict"));
        (*out)[i] = m;
    }
}

static int32_t max_score(json_t *norm)
{
    int32_t sum = 0;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(norm, "tests"), i, t)
    {
        int64_t w = jint(t, "weight");
        sum += (int32_t)(w > 0 ? w : 1);
    }
    return sum;
}

Dojo__Content__V1__Task *taskjson_to_task(rpc_call_t *call, json_t *norm)
{
    Dojo__Content__V1__Task *m =
        RPC_NEW(call, Dojo__Content__V1__Task, DOJO__CONTENT__V1__TASK__INIT);
    m->slug = cstr(call, norm, "slug");
    m->title = cstr(call, norm, "title");
    m->difficulty = check_name_index(&task_difficulties, jstr(norm, "difficulty"));
    m->points = (int32_t)jint(norm, "points");
    m->description = cstr(call, norm, "description");
    strings_msg(call, json_object_get(norm, "tags"), &m->tags, &m->n_tags);
    languages_msg(call, norm, false, &m->languages, &m->n_languages);
    m->restrict_languages = json_is_true(json_object_get(norm, "restrict_languages"));
    m->no_visible_tests = json_is_true(json_object_get(norm, "no_visible_tests"));
    m->limits = limits_msg(call, json_object_get(norm, "limits"));
    m->checker = checker_msg(call, norm);
    tests_msg(call, norm, &m->tests, &m->n_tests);
    strings_msg(call, json_object_get(norm, "hints"), &m->hints, &m->n_hints);
    solutions_msg(call, json_object_get(norm, "reference_solutions"), &m->reference_solutions,
                  &m->n_reference_solutions);
    solutions_msg(call, json_object_get(norm, "wrong_solutions"), &m->wrong_solutions,
                  &m->n_wrong_solutions);
    m->editorial = json_object_get(norm, "editorial") ? cstr(call, norm, "editorial") : "";
    m->stop_at_first_failure = json_is_true(json_object_get(norm, "stop_at_first_failure"));
    taskjson_to_input_validators(call, norm, &m->input_validators, &m->n_input_validators);
    return m;
}

void taskjson_to_input_validators(rpc_call_t *call, json_t *norm,
                                  Dojo__Content__V1__PackageInputValidator ***out, size_t *n)
{
    json_t *ivs = json_object_get(norm, "input_validators");
    *n = json_array_size(ivs);
    *out = rpc_alloc(call, (*n + 1) * sizeof **out);
    for (size_t i = 0; i < *n; i++) {
        json_t *v = json_array_get(ivs, i);
        Dojo__Content__V1__PackageInputValidator *iv =
            RPC_NEW(call, Dojo__Content__V1__PackageInputValidator,
                    DOJO__CONTENT__V1__PACKAGE_INPUT_VALIDATOR__INIT);
        iv->path = cstr(call, v, "path");
        iv->validator = validator_msg(call, v);
        (*out)[i] = iv;
    }
}

Dojo__Content__V1__TaskView *taskjson_to_view(rpc_call_t *call, json_t *norm)
{
    Dojo__Content__V1__TaskView *m =
        RPC_NEW(call, Dojo__Content__V1__TaskView, DOJO__CONTENT__V1__TASK_VIEW__INIT);
    m->slug = cstr(call, norm, "slug");
    m->title = cstr(call, norm, "title");
    m->difficulty = check_name_index(&task_difficulties, jstr(norm, "difficulty"));
    m->points = (int32_t)jint(norm, "points");
    m->description = cstr(call, norm, "description");
    strings_msg(call, json_object_get(norm, "tags"), &m->tags, &m->n_tags);
    languages_msg(call, norm, true, &m->languages, &m->n_languages);
    m->limits = limits_msg(call, json_object_get(norm, "limits"));
    m->checker_kind = checker_kind(norm);
    if (m->checker_kind == DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_FLOAT ||
        m->checker_kind == DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_DEFAULT_VALIDATOR) {
        json_t *c = json_object_get(norm, "checker");
        m->abs_tol = json_number_value(json_object_get(c, "abs_tol"));
        m->rel_tol = json_number_value(json_object_get(c, "rel_tol"));
    }
    json_t *tests = json_object_get(norm, "tests");
    m->sample_tests = rpc_alloc(call, (json_array_size(tests) + 1) * sizeof *m->sample_tests);
    size_t i;
    json_t *t;
    json_array_foreach(tests, i, t)
    {
        if (json_is_true(json_object_get(t, "hidden"))) {
            m->hidden_test_count++;
            continue;
        }
        Dojo__Content__V1__SampleTest *s =
            RPC_NEW(call, Dojo__Content__V1__SampleTest, DOJO__CONTENT__V1__SAMPLE_TEST__INIT);
        s->name = cstr(call, t, "name");
        s->input = cstr(call, t, "input");
        s->expected = cstr(call, t, "expected");
        m->sample_tests[m->n_sample_tests++] = s;
    }
    m->max_score = max_score(norm);
    strings_msg(call, json_object_get(norm, "hints"), &m->hints, &m->n_hints);
    m->stop_at_first_failure = json_is_true(json_object_get(norm, "stop_at_first_failure"));
    m->interactive = json_is_true(json_object_get(json_object_get(norm, "checker"), "interactive"));
    return m;
}

Dojo__Content__V1__JudgeBundle *taskjson_to_bundle(rpc_call_t *call, json_t *norm)
{
    Dojo__Content__V1__JudgeBundle *m =
        RPC_NEW(call, Dojo__Content__V1__JudgeBundle, DOJO__CONTENT__V1__JUDGE_BUNDLE__INIT);
    m->slug = cstr(call, norm, "slug");
    m->difficulty = check_name_index(&task_difficulties, jstr(norm, "difficulty"));
    m->points = (int32_t)jint(norm, "points");
    m->limits = limits_msg(call, json_object_get(norm, "limits"));
    m->checker = checker_msg(call, norm);
    tests_msg(call, norm, &m->tests, &m->n_tests);
    languages_msg(call, norm, true, &m->languages, &m->n_languages);
    m->max_score = max_score(norm);
    m->stop_at_first_failure = json_is_true(json_object_get(norm, "stop_at_first_failure"));
    return m;
}

Dojo__Content__V1__GetTaskSolutionsResponse *taskjson_to_solutions(rpc_call_t *call, json_t *norm)
{
    Dojo__Content__V1__GetTaskSolutionsResponse *m =
        RPC_NEW(call, Dojo__Content__V1__GetTaskSolutionsResponse,
                DOJO__CONTENT__V1__GET_TASK_SOLUTIONS_RESPONSE__INIT);
    m->slug = cstr(call, norm, "slug");
    m->editorial = json_object_get(norm, "editorial") ? cstr(call, norm, "editorial") : "";
    solutions_msg(call, json_object_get(norm, "reference_solutions"), &m->reference_solutions,
                  &m->n_reference_solutions);
    return m;
}
