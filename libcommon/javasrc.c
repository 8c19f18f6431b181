/* javasrc.c — a Java source's top-level names, read as tokens: comments,
 * strings, text blocks and character literals skipped, braces counted.
 * Nothing is compiled; a name the scanner cannot read is left out. */
#include "javasrc.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

typedef struct scan {
    const char *p, *end;
} scan_t;

static bool ident_byte(unsigned char c, bool first)
{
    return isalpha(c) || c == '_' || c == '$' || c >= 0x80 || (!first && isdigit(c));
}

/* Past a quoted literal opened at s->p (", ' or a """ text block). */
static void skip_literal(scan_t *s)
{
    if (s->end - s->p >= 3 && !memcmp(s->p, "\"\"\"", 3)) {
        s->p += 3;
        while (s->p < s->end && !(s->end - s->p >= 3 && !memcmp(s->p, "\"\"\"", 3)))
            s->p += *s->p == '\\' && s->p + 1 < s->end ? 2 : 1;
        s->p = s->p < s->end ? s->p + 3 : s->end;
        return;
    }
    char q = *s->p++;
    while (s->p < s->end && *s->p != q && *s->p != '\n')
        s->p += *s->p == '\\' && s->p + 1 < s->end ? 2 : 1;
    if (s->p < s->end)
        s->p++;
}

/* The next token: an identifier (its bytes in *tok, *len) or one byte of
 * punctuation (*len 1, not an identifier); false at the end. */
static bool next_token(scan_t *s, const char **tok, size_t *len, bool *ident)
{
    for (;;) {
        while (s->p < s->end && isspace((unsigned char)*s->p))
            s->p++;
        if (s->p >= s->end)
            return false;
        if (s->end - s->p >= 2 && s->p[0] == '/' && s->p[1] == '/') {
            while (s->p < s->end && *s->p != '\n')
                s->p++;
        } else if (s->end - s->p >= 2 && s->p[0] == '/' && s->p[1] == '*') {
            const char *close = NULL;
            for (const char *q = s->p + 2; q + 1 < s->end && !close; q++)
                if (q[0] == '*' && q[1] == '/')
                    close = q;
            s->p = close ? close + 2 : s->end;
        } else if (*s->p == '"' || *s->p == '\'') {
            skip_literal(s);
        } else {
            break;
        }
    }
    *tok = s->p;
    *ident = ident_byte((unsigned char)*s->p, true);
    if (*ident)
        while (s->p < s->end && ident_byte((unsigned char)*s->p, false))
            s->p++;
    else
        s->p++;
    *len = (size_t)(s->p - *tok);
    return true;
}

static bool tok_is(const char *tok, size_t len, const char *word)
{
    return strlen(word) == len && !memcmp(tok, word, len);
}

/* A name usable as a file's stem and a class name: ASCII, not too long. */
static bool plain_name(const char *tok, size_t len)
{
    if (len == 0 || len >= JAVA_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)tok[i] >= 0x80 || !ident_byte((unsigned char)tok[i], i == 0))
            return false;
    return true;
}

void java_names_read(const char *code, size_t len, java_names_t *out)
{
    memset(out, 0, sizeof *out);
    scan_t s = {code, code + len};
    const char *tok, *prev = "";
    size_t n, prev_len = 0;
    bool ident;
    int depth = 0;
    bool is_public = false, is_static = false, want_name = false;
    char type[JAVA_NAME_MAX] = ""; /* the top-level type being read */
    bool type_public = false;
    while (next_token(&s, &tok, &n, &ident)) {
        if (!ident) {
            if (*tok == '{') {
                if (depth == 0 && !type[0])
                    type_public = false;
                depth++;
            } else if (*tok == '}') {
                if (depth > 0 && --depth == 0)
                    type[0] = '\0';
            } else if (*tok == '(' && depth == 1 && type[0] && tok_is(prev, prev_len, "main") &&
                       is_public && is_static && out->nmain < JAVA_MAIN_MAX) {
                /* `public static void main(`: prev was main, and void before it */
                snprintf(out->main[out->nmain++], JAVA_NAME_MAX, "%s", type);
            }
            if (*tok == ';' || *tok == '{' || *tok == '}')
                is_public = is_static = false;
            want_name = false; /* a type's name follows its keyword at once */
            prev = tok;
            prev_len = n;
            continue;
        }
        if (want_name) {
            want_name = false;
            if (plain_name(tok, n)) {
                snprintf(type, sizeof type, "%.*s", (int)n, tok);
                if (type_public && !out->public_type[0])
                    snprintf(out->public_type, sizeof out->public_type, "%s", type);
            }
        } else if (depth == 0 && (tok_is(tok, n, "class") || tok_is(tok, n, "interface") ||
                                  tok_is(tok, n, "enum") || tok_is(tok, n, "record")) &&
                   !(prev_len == 1 && (*prev == '@' || *prev == '.'))) {
            want_name = true;
            type_public = is_public;
        } else if (tok_is(tok, n, "public")) {
            is_public = true;
        } else if (tok_is(tok, n, "static")) {
            is_static = true;
        }
        prev = tok;
        prev_len = n;
    }
}
