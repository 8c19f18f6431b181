/* testkit.h — helpers shared by the content unit tests: documents from
 * JSON text, and assertions on a report's problems. Include after
 * <cmocka.h>. */
#ifndef DOJO_CONTENT_TESTKIT_H
#define DOJO_CONTENT_TESTKIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcommon/cleanup.h"
#include "services/content/model.h"

/* A JSON document from text (a test's own, so it must parse). New. */
static inline json_t *doc_of(const char *text)
{
    json_error_t e;
    json_t *doc = json_loads(text, JSON_ALLOW_NUL, &e);
    if (doc == NULL)
        fail_msg("bad test JSON at %d:%d: %s", e.line, e.column, e.text);
    return doc;
}

/* Prints a report, so a failing assertion shows what was found. */
static inline void report_print(const content_report_t *r)
{
    for (size_t i = 0; i < r->n_errors; i++)
        printf("  error %s: %s\n", r->errors[i].path, r->errors[i].message);
    for (size_t i = 0; i < r->n_warnings; i++)
        printf("  warning %s: %s\n", r->warnings[i].path, r->warnings[i].message);
}

/* The report has exactly one error, at `path`, whose message is `message`. */
#define assert_one_error(rep, path_, message_)                                                     \
    do {                                                                                           \
        if ((rep)->n_errors != 1)                                                                  \
            report_print(rep);                                                                     \
        assert_int_equal((rep)->n_errors, 1);                                                      \
        assert_string_equal((rep)->errors[0].path, (path_));                                       \
        assert_string_equal((rep)->errors[0].message, (message_));                                 \
    } while (0)

#define assert_no_errors(rep)                                                                      \
    do {                                                                                           \
        if ((rep)->n_errors != 0)                                                                  \
            report_print(rep);                                                                     \
        assert_int_equal((rep)->n_errors, 0);                                                      \
    } while (0)

/* The text of `v` at the JSON pointer-ish `path` ("limits.cpu_ms") of `doc`,
 * compact: "2000", "\"easy\"", "null" when absent. Into buf. */
static inline const char *at(json_t *doc, const char *path, char *buf, size_t cap)
{
    json_t *v = doc;
    char key[64];
    const char *p = path;
    while (v && *p) {
        size_t n = strcspn(p, ".");
        snprintf(key, sizeof key, "%.*s", (int)n, p);
        if (json_is_array(v))
            v = json_array_get(v, (size_t)strtoul(key, NULL, 10));
        else
            v = json_object_get(v, key);
        p += n + (p[n] == '.');
    }
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | CHECK_JSON_REAL) : NULL;
    snprintf(buf, cap, "%s", s ? s : "null");
    free(s);
    return buf;
}

#define assert_at(doc, path, want)                                                                 \
    do {                                                                                           \
        char buf_[256];                                                                            \
        assert_string_equal(at((doc), (path), buf_, sizeof buf_), (want));                         \
    } while (0)

/* names[v] is the proto value name of v without `prefix`, in lower case. */
static inline void expect_proto_names(const check_names_t *names, const ProtobufCEnumDescriptor *d,
                                      const char *prefix)
{
    assert_int_equal(names->n, d->n_values);
    for (unsigned i = 0; i < d->n_values; i++) {
        if (d->values[i].value == 0)
            continue;
        char want[64];
        const char *name = d->values[i].name + strlen(prefix);
        size_t k = 0;
        for (; name[k] && k < sizeof want - 1; k++)
            want[k] = (char)(name[k] >= 'A' && name[k] <= 'Z' ? name[k] + 32 : name[k]);
        want[k] = '\0';
        assert_string_equal(check_name(names, d->values[i].value), want);
    }
}

#endif
