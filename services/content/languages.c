/* languages.c — the languages Dojo can run, read from the language catalogue
 * (services/executor/languages/<id>.json, embedded at build time): the one
 * place a language is defined. The executor reads the same files for its
 * compile and run commands; content serves the learner-facing fields. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/mem.h"
#include "model.h"
#include "services/content/language_catalogue.h"

#define MAX_LANGUAGES 32

static content_language_t languages[MAX_LANGUAGES];
static size_t n_languages;
static pthread_once_t loaded = PTHREAD_ONCE_INIT;

static bool id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n < 1 || n > 32)
        return false;
    for (const char *c = id; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || strchr("_+.-", *c)))
            return false;
    return true;
}

static const char *field(json_t *j, const char *key, const char *file)
{
    const char *v = json_string_value(json_object_get(j, key));
    if (v == NULL || !*v) {
        /* The catalogue is build-time data checked by the unit tests: a
         * broken file is a build mistake, not a run-time condition. */
        fprintf(stderr, "content: language catalogue %s: \"%s\" must be a non-empty string\n",
                file, key);
        abort();
    }
    return xstrdup(v);
}

static int by_display_name(const void *a, const void *b)
{
    const content_language_t *x = a, *y = b;
    int c = strcmp(x->display_name, y->display_name);
    return c ? c : strcmp(x->id, y->id);
}

static void load(void)
{
    for (size_t i = 0; i < language_catalogue_files_count && n_languages < MAX_LANGUAGES; i++) {
        const embed_file_t *f = &language_catalogue_files[i];
        json_error_t jerr;
        json_t *j = json_loads(f->text, 0, &jerr);
        if (j == NULL) {
            fprintf(stderr, "content: language catalogue %s:%d: %s\n", f->name, jerr.line,
                    jerr.text);
            abort();
        }
        content_language_t *l = &languages[n_languages++];
        l->id = field(j, "id", f->name);
        l->display_name = field(j, "display_name", f->name);
        l->file_extension = field(j, "file_extension", f->name);
        l->editor_mode = field(j, "editor_mode", f->name);
        l->version = field(j, "version", f->name);
        json_t *compile = json_object_get(j, "compile");
        l->compiled = json_is_array(compile) && json_array_size(compile) > 0;
        json_decref(j);
        if (!id_ok(l->id)) {
            fprintf(stderr, "content: language catalogue %s: bad id \"%s\"\n", f->name, l->id);
            abort();
        }
    }
    qsort(languages, n_languages, sizeof languages[0], by_display_name);
}

const content_language_t *content_languages(size_t *n)
{
    pthread_once(&loaded, load);
    *n = n_languages;
    return languages;
}

const content_language_t *content_language_find(const char *id)
{
    size_t n;
    const content_language_t *all = content_languages(&n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(all[i].id, id))
            return &all[i];
    return NULL;
}
