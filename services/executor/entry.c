/* entry.c — the names a program's code gives its own entry.
 *
 * For a language whose catalogue entry says "main_class_from_source" (Java),
 * the code's top-level types (libcommon/javasrc.h) name the source file and
 * the class the JVM starts, and the arguments of the language's commands
 * that name the catalogue's source file or its stem are given those names.
 * Nothing is compiled or run here; a name the code does not give keeps the
 * catalogue's. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "libcommon/javasrc.h"
#include "services/executor/sandbox.h"

/* Whether `names` lists `type` among the types declaring main. */
static bool has_main(const java_names_t *names, const char *type)
{
    for (int i = 0; i < names->nmain; i++)
        if (!strcmp(names->main[i], type))
            return true;
    return false;
}

void sandbox_entry_of(const sandbox_lang_t *lang, const char *code, size_t len,
                      sandbox_entry_t *e)
{
    memset(e, 0, sizeof *e);
    snprintf(e->source_name, sizeof e->source_name, "%s", lang->source_name);
    const char *dot = strrchr(lang->source_name, '.');
    size_t stem_len = dot ? (size_t)(dot - lang->source_name) : strlen(lang->source_name);
    char stem[sizeof lang->source_name];
    snprintf(stem, sizeof stem, "%.*s", (int)stem_len, lang->source_name);
    char file_stem[sizeof lang->source_name], main_class[sizeof e->main_class];
    snprintf(file_stem, sizeof file_stem, "%s", stem);
    snprintf(main_class, sizeof main_class, "%s", stem);
    if (lang->main_class_from_source && code != NULL) {
        java_names_t names;
        java_names_read(code, len, &names);
        if (names.public_type[0])
            snprintf(file_stem, sizeof file_stem, "%s", names.public_type);
        if (names.public_type[0] && has_main(&names, names.public_type))
            snprintf(main_class, sizeof main_class, "%s", names.public_type);
        else if (!has_main(&names, stem) && names.nmain > 0)
            snprintf(main_class, sizeof main_class, "%s", names.main[0]);
        else if (!has_main(&names, stem) && names.public_type[0])
            snprintf(main_class, sizeof main_class, "%s", names.public_type);
        snprintf(e->source_name, sizeof e->source_name, "%s%s", file_stem, dot ? dot : "");
    }
    char default_path[sizeof e->source_path + sizeof lang->source_name];
    snprintf(default_path, sizeof default_path, "/judge/code/%s", lang->source_name);
    snprintf(e->source_path, sizeof e->source_path, "/judge/code/%s", e->source_name);
    snprintf(e->main_class, sizeof e->main_class, "%s", main_class);
    char *const *from[2] = {lang->compile_argv, lang->run_argv};
    const char **to[2] = {e->compile_argv, e->run_argv};
    for (int k = 0; k < 2; k++)
        for (int i = 0; from[k][i] && i < SANDBOX_ARGV_MAX - 1; i++)
            to[k][i] = !strcmp(from[k][i], default_path) ? e->source_path
                       : stem[0] && !strcmp(from[k][i], stem) ? e->main_class
                                                              : from[k][i];
}
