/* pkgyaml.c — the YAML files of problem packages (problem.yaml,
 * testdata.yaml) read into jansson values with libyaml, so the package
 * reader looks at them like at any other document. Plain scalars become
 * null, booleans, integers or reals where YAML 1.1 would read them so;
 * quoted ones stay strings. Bounded: 32 levels, 20,000 nodes (aliases
 * count each time they are used, so an alias bomb stops there). */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "model.h"

#define YAML_MAX_DEPTH 32
#define YAML_MAX_NODES 20000

typedef struct conv {
    yaml_document_t *doc;
    size_t nodes;
    const char *why; /* set when a bound was reached */
} conv_t;

static bool plain_is(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (!strcmp(s, *words))
            return true;
    return false;
}

static json_t *scalar(const yaml_node_t *n)
{
    const char *s = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_stringn(s, len);
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes", "on", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", "no", "No", "off", NULL};
    if (plain_is(s, nulls))
        return json_null();
    if (plain_is(s, trues))
        return json_true();
    if (plain_is(s, falses))
        return json_false();
    char *end = NULL;
    errno = 0;
    long long i = strtoll(s, &end, 10);
    if (len > 0 && end == s + len && errno == 0 && (s[0] != '0' || len == 1))
        return json_integer(i);
    errno = 0;
    double d = strtod(s, &end);
    if (len > 0 && end == s + len && errno == 0 && isfinite(d) && strpbrk(s, "0123456789"))
        return json_real(d);
    return json_stringn(s, len);
}

static json_t *node_json(conv_t *c, yaml_node_t *n, int depth)
{
    if (n == NULL)
        return json_null();
    if (++c->nodes > YAML_MAX_NODES || depth > YAML_MAX_DEPTH) {
        c->why = depth > YAML_MAX_DEPTH ? "nested more than 32 levels deep"
                                        : "more than 20000 values (aliases included)";
        return NULL;
    }
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return scalar(n);
    case YAML_SEQUENCE_NODE: {
        json_t *a = json_array();
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            json_t *v = node_json(c, yaml_document_get_node(c->doc, *it), depth + 1);
            if (v == NULL) {
                json_decref(a);
                return NULL;
            }
            json_array_append_new(a, v);
        }
        return a;
    }
    case YAML_MAPPING_NODE: {
        json_t *o = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
            if (k == NULL || k->type != YAML_SCALAR_NODE) {
                c->why = "a key that is not a plain value";
                json_decref(o);
                return NULL;
            }
            json_t *v = node_json(c, yaml_document_get_node(c->doc, p->value), depth + 1);
            if (v == NULL) {
                json_decref(o);
                return NULL;
            }
            cleanup_free char *key = strndup((const char *)k->data.scalar.value,
                                             k->data.scalar.length);
            if (json_object_get(o, key)) {
                c->why = "a key given twice";
                json_decref(v);
                json_decref(o);
                return NULL;
            }
            json_object_set_new(o, key, v);
        }
        return o;
    }
    default:
        return json_null();
    }
}

int pkg_yaml_parse(const char *text, size_t len, char *why, size_t why_cap, json_t **out)
{
    *out = NULL;
    yaml_parser_t p;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&p)) {
        snprintf(why, why_cap, "out of memory");
        return -1;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, &doc)) {
        snprintf(why, why_cap, "not valid YAML: %s at line %zu, column %zu",
                 p.problem ? p.problem : "unreadable", (size_t)p.problem_mark.line + 1,
                 (size_t)p.problem_mark.column + 1);
        yaml_parser_delete(&p);
        return -1;
    }
    conv_t c = {.doc = &doc};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    json_t *j = root ? node_json(&c, root, 0) : json_object();
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    if (j == NULL) {
        snprintf(why, why_cap, "refused: %s", c.why ? c.why : "unreadable");
        return -1;
    }
    if (json_is_null(j)) {
        json_decref(j);
        j = json_object();
    }
    *out = j;
    return 0;
}
