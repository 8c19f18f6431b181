/* languages.c — the languages Dojo can run. Languages are data: adding one
 * is a row here plus a rootfs for the executor. */
#include <string.h>

#include "model.h"

/* Ordered by display name, as ListLanguages returns them. */
static const content_language_t languages[] = {
    {.id = "c",
     .display_name = "C",
     .file_extension = "c",
     .editor_mode = "cpp",
     .version = "gcc 12.2.0 (C17)",
     .compiled = true},
    {.id = "python3",
     .display_name = "Python 3",
     .file_extension = "py",
     .editor_mode = "python",
     .version = "3.11.2",
     .compiled = false},
};

#define N_LANGUAGES (sizeof languages / sizeof languages[0])

const content_language_t *content_languages(size_t *n)
{
    *n = N_LANGUAGES;
    return languages;
}

const content_language_t *content_language_find(const char *id)
{
    for (size_t i = 0; i < N_LANGUAGES; i++)
        if (!strcmp(languages[i].id, id))
            return &languages[i];
    return NULL;
}
