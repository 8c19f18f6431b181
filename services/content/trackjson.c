/* trackjson.c — the rules of track files (content/tracks/, one JSON file
 * each): an ordered set of tasks for learners to follow, read with the
 * validation kit section by section. Which tasks exist is the caller's
 * knowledge (the database, or the task files beside the tracks).
 * content/schema/track.schema.json documents the same rules. */
#include <string.h>

#include "libcommon/cleanup.h"
#include "model.h"

typedef struct track_state {
    json_t *known; /* object whose keys are the task slugs, or NULL */
} track_state_t;

static json_t *read_slug(const check_obj_t *doc, void *state)
{
    (void)state;
    const char *slug = check_slug(doc, "slug", 64, CHECK_REQUIRED | CHECK_LETTER_FIRST);
    if (slug)
        check_file_name(doc->rep, slug);
    return json_string(slug ? slug : "");
}

static json_t *read_title(const check_obj_t *doc, void *state)
{
    (void)state;
    const char *s = check_text(doc, "title", CHECK_REQUIRED, 120);
    return json_string(s ? s : "");
}

static json_t *read_description(const check_obj_t *doc, void *state)
{
    (void)state;
    const char *s = check_string(doc, "description", CHECK_REQUIRED, 1, 4 * 1024);
    return json_string(s ? s : "");
}

static json_t *read_tasks(const check_obj_t *doc, void *state)
{
    const track_state_t *st = state;
    json_t *out = json_array();
    json_t *tasks = check_array(doc, "tasks", CHECK_REQUIRED, 1, 100, "tasks");
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t)
    {
        char p[CHECK_PATH_MAX];
        check_path_index(p, "$.tasks", i);
        const char *slug = check_slug_value(doc->rep, p, t, 64, CHECK_LETTER_FIRST);
        if (slug == NULL)
            continue;
        bool seen = false;
        for (size_t j = 0; j < json_array_size(out) && !seen; j++)
            seen = !strcmp(json_string_value(json_array_get(out, j)), slug);
        if (seen)
            content_report_error(doc->rep, p, "task \"%s\" is already in the track", slug);
        else if (st->known && !json_object_get(st->known, slug))
            content_report_error(doc->rep, p, "no active task \"%s\" in the catalogue", slug);
        else
            json_array_append(out, t);
    }
    return out;
}

static json_t *read_sort_order(const check_obj_t *doc, void *state)
{
    (void)state;
    json_int_t v = 0;
    check_int(doc, "sort_order", 0, -1000000, 1000000, &v);
    return json_integer(v);
}

/* In Track's field order. */
/* clang-format off */
static const check_section_t track_sections[] = {
    {"slug", read_slug},
    {"title", read_title},
    {"description", read_description},
    {"tasks", read_tasks},
    {"sort_order", read_sort_order},
    {NULL, NULL},
};
/* clang-format on */

static const check_kind_t track_kind = {.sections = track_sections};

int track_normalize(json_t *doc, json_t *known_tasks, content_report_t *rep, json_t **out)
{
    track_state_t st = {.known = known_tasks};
    return check_document(doc, &track_kind, &st, rep, out);
}

int track_parse(const char *text, size_t len, json_t *known_tasks, content_report_t *rep,
                json_t **out)
{
    cleanup_json json_t *doc = NULL;
    *out = NULL;
    if (check_parse(text, len, CONTENT_MAX_ACHIEVEMENT_BYTES, rep, &doc) < 0)
        return -1;
    return track_normalize(doc, known_tasks, rep, out);
}

Dojo__Content__V1__Track *track_to_message(rpc_call_t *call, json_t *norm)
{
    Dojo__Content__V1__Track *m =
        RPC_NEW(call, Dojo__Content__V1__Track, DOJO__CONTENT__V1__TRACK__INIT);
    m->slug = rpc_strdup(call, json_string_value(json_object_get(norm, "slug")));
    m->title = rpc_strdup(call, json_string_value(json_object_get(norm, "title")));
    m->description = rpc_strdup(call, json_string_value(json_object_get(norm, "description")));
    json_t *tasks = json_object_get(norm, "tasks");
    m->n_task_slugs = json_array_size(tasks);
    m->task_slugs = rpc_alloc(call, (m->n_task_slugs + 1) * sizeof *m->task_slugs);
    for (size_t i = 0; i < m->n_task_slugs; i++)
        m->task_slugs[i] = rpc_strdup(call, json_string_value(json_array_get(tasks, i)));
    m->sort_order = (int32_t)json_integer_value(json_object_get(norm, "sort_order"));
    return m;
}
