/* checker.c — judging output outside the sandbox: the built-in comparisons,
 * the verdict a driver record stands for, and the author's custom checker
 * (which runs in a sandbox of its own, never the learner's).
 *
 * Everything but checker_run_custom is a pure function (unit-tested in
 * t/test_checker.c). */
#define _GNU_SOURCE
#include <ctype.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "executor.h"
#include "libcommon/text.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"

/* ------------------------------------------------------------------------
 * Names
 * ------------------------------------------------------------------------ */

const char *exec_verdict_name(exec_verdict_t v)
{
    static const char *const names[] = {"?", "AC", "WA", "TLE", "MLE", "RE",
                                        "OLE", "CE", "IE", "CANCELLED", "NOT_RUN"};
    return (int)v >= 0 && (size_t)v < sizeof names / sizeof *names ? names[v] : "?";
}

const char *exec_verdict_phrase(exec_verdict_t v)
{
    static const char *const names[] = {"not judged",
                                        "accepted",
                                        "wrong answer",
                                        "time limit exceeded",
                                        "memory limit exceeded",
                                        "runtime error",
                                        "output limit exceeded",
                                        "compilation error",
                                        "internal error",
                                        "cancelled",
                                        "not run"};
    return (int)v >= 0 && (size_t)v < sizeof names / sizeof *names ? names[v] : "?";
}

/* ------------------------------------------------------------------------
 * UTF-8
 * ------------------------------------------------------------------------ */

char *exec_utf8_clean(const char *s, size_t len, size_t max)
{
    char *out = xmalloc(max + 4);
    size_t o = 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = text_utf8_seq(u + i, len - i);
        if (n == 0 || (n == 1 && u[i] == 0)) {
            if (o + 3 > max)
                break;
            memcpy(out + o, "\xef\xbf\xbd", 3); /* U+FFFD */
            o += 3;
            i += n ? n : 1;
            continue;
        }
        if (o + n > max)
            break;
        memcpy(out + o, s + i, n);
        o += n;
        i += n;
    }
    out[o] = '\0';
    return out;
}

/* A short quotable rendering of a line/token for messages: at most 40
 * bytes, control characters as '?', marked when cut. */
static void quote(char *out, size_t cap, const char *s, size_t len)
{
    char tmp[64];
    size_t n = len > 40 ? 40 : len, o = 0;
    for (size_t i = 0; i < n && o < sizeof tmp - 1; i++) {
        unsigned char c = (unsigned char)s[i];
        tmp[o++] = (c < 0x20 || c == 0x7f || c == '"') ? '?' : (char)c;
    }
    tmp[o] = '\0';
    char *clean = exec_utf8_clean(tmp, o, sizeof tmp);
    snprintf(out, cap, "\"%s%s\"", clean, len > n ? "..." : "");
    free(clean);
}

/* ------------------------------------------------------------------------
 * Built-in comparisons
 * ------------------------------------------------------------------------ */

void exec_checker_from_bundle(const Dojo__Content__V1__Checker *c, exec_checker_t *out)
{
    memset(out, 0, sizeof *out);
    out->kind = c ? c->kind : DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_UNSPECIFIED;
    if (out->kind == DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_UNSPECIFIED)
        out->kind = DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_IGNORE_TRAILING_WS;
    if (c) {
        out->abs_tol = c->abs_tol;
        out->rel_tol = c->rel_tol;
        out->case_sensitive = c->case_sensitive;
        out->space_change_sensitive = c->space_change_sensitive;
        if (c->custom) {
            out->custom_language = c->custom->language;
            out->custom_source = c->custom->source;
        }
        out->validator = c->validator;
    }
    /* The default validator compares numbers as text unless given a tolerance. */
    if (out->abs_tol <= 0 && out->rel_tol <= 0 &&
        out->kind != DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_DEFAULT_VALIDATOR)
        out->abs_tol = out->rel_tol = 1e-6;
    if (out->abs_tol < 0)
        out->abs_tol = 0;
    if (out->rel_tol < 0)
        out->rel_tol = 0;
}

bool exec_checker_with_flags(const exec_checker_t *base,
                             const Dojo__Content__V1__ValidatorFlags *flags, exec_checker_t *out)
{
    *out = *base;
    if (flags == NULL || base->kind != DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_DEFAULT_VALIDATOR)
        return true;
    exec_checker_t ck = *base;
    ck.case_sensitive = ck.space_change_sensitive = false;
    ck.abs_tol = ck.rel_tol = 0;
    for (size_t i = 0; i < flags->n_flags; i++) {
        const char *w = flags->flags[i] ? flags->flags[i] : "";
        if (!strcmp(w, "case_sensitive")) {
            ck.case_sensitive = true;
            continue;
        }
        if (!strcmp(w, "space_change_sensitive")) {
            ck.space_change_sensitive = true;
            continue;
        }
        bool abs = !strcmp(w, "float_absolute_tolerance");
        bool rel = !strcmp(w, "float_relative_tolerance");
        if (!abs && !rel && strcmp(w, "float_tolerance"))
            return false;
        const char *num = i + 1 < flags->n_flags ? flags->flags[++i] : NULL;
        char *end = NULL;
        double eps = num && *num ? strtod(num, &end) : -1;
        if (!num || !end || *end || !(eps >= 0) || !isfinite(eps))
            return false;
        if (!rel)
            ck.abs_tol = eps;
        if (!abs)
            ck.rel_tol = eps;
    }
    *out = ck;
    return true;
}

typedef struct span {
    const char *p;
    size_t n;
} span_t;

/* The next line of [*pos, end) without its terminator ("\n" or "\r\n");
 * false at the end. */
static bool next_line(const char *s, size_t len, size_t *pos, span_t *line)
{
    if (*pos >= len)
        return false;
    const char *start = s + *pos;
    const char *nl = memchr(start, '\n', len - *pos);
    size_t n = nl ? (size_t)(nl - start) : len - *pos;
    *pos += n + (nl ? 1 : 0);
    if (n > 0 && start[n - 1] == '\r')
        n--;
    line->p = start;
    line->n = n;
    return true;
}

static size_t rstrip(const char *p, size_t n)
{
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
        n--;
    return n;
}

/* Number of lines once trailing blank lines are dropped (lines stripped). */
static size_t meaningful_lines(const char *s, size_t len)
{
    size_t pos = 0, count = 0, last = 0;
    span_t l;
    while (next_line(s, len, &pos, &l)) {
        count++;
        if (rstrip(l.p, l.n) > 0)
            last = count;
    }
    return last;
}

static bool compare_lines(const char *exp, size_t elen, const char *act, size_t alen, char *msg,
                          size_t cap)
{
    size_t ne = meaningful_lines(exp, elen), na = meaningful_lines(act, alen);
    size_t pe = 0, pa = 0;
    span_t le, la;
    for (size_t i = 0; i < ne || i < na; i++) {
        bool he = i < ne && next_line(exp, elen, &pe, &le);
        bool ha = i < na && next_line(act, alen, &pa, &la);
        size_t en = he ? rstrip(le.p, le.n) : 0, an = ha ? rstrip(la.p, la.n) : 0;
        if (he && ha && en == an && memcmp(le.p, la.p, en) == 0)
            continue;
        char qe[64], qa[64];
        if (!ha) {
            quote(qe, sizeof qe, le.p, en);
            snprintf(msg, cap, "line %zu: expected %s, got end of output", i + 1, qe);
        } else if (!he) {
            quote(qa, sizeof qa, la.p, an);
            snprintf(msg, cap, "line %zu: expected end of output, got %s", i + 1, qa);
        } else {
            quote(qe, sizeof qe, le.p, en);
            quote(qa, sizeof qa, la.p, an);
            snprintf(msg, cap, "line %zu: expected %s, got %s", i + 1, qe, qa);
        }
        return false;
    }
    return true;
}

static bool compare_exact(const char *exp, size_t elen, const char *act, size_t alen, char *msg,
                          size_t cap)
{
    if (elen == alen && memcmp(exp, act, elen) == 0)
        return true;
    size_t i = 0, line = 1;
    while (i < elen && i < alen && exp[i] == act[i]) {
        if (exp[i] == '\n')
            line++;
        i++;
    }
    if (i == alen)
        snprintf(msg, cap, "line %zu: output ends early (byte %zu of %zu)", line, i, elen);
    else if (i == elen)
        snprintf(msg, cap, "line %zu: unexpected extra output after byte %zu", line, i);
    else
        snprintf(msg, cap, "line %zu: output differs at byte %zu", line, i + 1);
    return false;
}

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

static bool next_token(const char *s, size_t len, size_t *pos, span_t *tok)
{
    while (*pos < len && is_ws(s[*pos]))
        (*pos)++;
    if (*pos >= len)
        return false;
    size_t start = *pos;
    while (*pos < len && !is_ws(s[*pos]))
        (*pos)++;
    tok->p = s + start;
    tok->n = *pos - start;
    return true;
}

/* A token as a finite number (decimal or exponent form; no hex, inf, nan). */
static bool token_number(const span_t *t, double *out)
{
    char buf[128];
    if (t->n == 0 || t->n >= sizeof buf)
        return false;
    for (size_t i = 0; i < t->n; i++) {
        char c = t->p[i];
        if (!(isdigit((unsigned char)c) || c == '.' || c == '-' || c == '+' || c == 'e' ||
              c == 'E'))
            return false;
    }
    memcpy(buf, t->p, t->n);
    buf[t->n] = '\0';
    char *end = NULL;
    double v = strtod(buf, &end);
    if (end != buf + t->n || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static bool compare_tokens(const exec_checker_t *ck, bool numeric, const char *exp, size_t elen,
                           const char *act, size_t alen, char *msg, size_t cap)
{
    size_t pe = 0, pa = 0;
    span_t te, ta;
    for (size_t i = 1;; i++) {
        bool he = next_token(exp, elen, &pe, &te);
        bool ha = next_token(act, alen, &pa, &ta);
        if (!he && !ha)
            return true;
        char qe[64], qa[64];
        if (!ha) {
            quote(qe, sizeof qe, te.p, te.n);
            snprintf(msg, cap, "token %zu: expected %s, got end of output", i, qe);
            return false;
        }
        if (!he) {
            quote(qa, sizeof qa, ta.p, ta.n);
            snprintf(msg, cap, "token %zu: expected end of output, got %s", i, qa);
            return false;
        }
        if (te.n == ta.n && memcmp(te.p, ta.p, te.n) == 0)
            continue;
        double e, a;
        if (numeric && token_number(&te, &e) && token_number(&ta, &a)) {
            double d = fabs(a - e);
            if (d <= ck->abs_tol || d <= ck->rel_tol * fabs(e))
                continue;
        }
        quote(qe, sizeof qe, te.p, te.n);
        quote(qa, sizeof qa, ta.p, ta.n);
        snprintf(msg, cap, "token %zu: expected %s, got %s", i, qe, qa);
        return false;
    }
}

/* A token as the package format's default validator reads a float: a
 * decimal or exponent number, or nan / inf / infinity in any case, with an
 * optional sign. */
static bool token_float(const span_t *t, double *out)
{
    char buf[128];
    if (t->n == 0 || t->n >= sizeof buf)
        return false;
    memcpy(buf, t->p, t->n);
    buf[t->n] = '\0';
    const char *body = buf + (buf[0] == '+' || buf[0] == '-');
    if (!strcasecmp(body, "nan") || !strcasecmp(body, "inf") || !strcasecmp(body, "infinity")) {
        double v = tolower((unsigned char)body[0]) == 'n' ? NAN : INFINITY;
        *out = buf[0] == '-' ? -v : v;
        return true;
    }
    return token_number(t, out);
}

static bool same_text(const exec_checker_t *ck, const span_t *a, const span_t *b)
{
    if (a->n != b->n)
        return false;
    return ck->case_sensitive ? memcmp(a->p, b->p, a->n) == 0 : strncasecmp(a->p, b->p, a->n) == 0;
}

/* The run of whitespace at *pos (may be empty), moving past it. */
static span_t take_space(const char *s, size_t len, size_t *pos)
{
    span_t sp = {s + *pos, 0};
    while (*pos < len && is_ws(s[*pos]))
        (*pos)++;
    sp.n = (size_t)(s + *pos - sp.p);
    return sp;
}

/* The problem package format's default output validator (content.proto,
 * CHECKER_KIND_DEFAULT_VALIDATOR). */
static bool compare_default_validator(const exec_checker_t *ck, const char *exp, size_t elen,
                                      const char *act, size_t alen, char *msg, size_t cap)
{
    bool floats = ck->abs_tol > 0 || ck->rel_tol > 0;
    size_t pe = 0, pa = 0;
    for (size_t i = 1;; i++) {
        size_t se = pe, sa = pa;
        span_t we = take_space(exp, elen, &se), wa = take_space(act, alen, &sa);
        span_t te, ta;
        bool he = next_token(exp, elen, &pe, &te);
        bool ha = next_token(act, alen, &pa, &ta);
        if (ck->space_change_sensitive &&
            (we.n != wa.n || memcmp(we.p, wa.p, we.n) != 0)) {
            snprintf(msg, cap, "%s token %zu: the whitespace differs", he || ha ? "before" : "after",
                     i - (he || ha ? 0 : 1));
            return false;
        }
        if (!he && !ha)
            return true;
        char qe[64], qa[64];
        if (!ha) {
            quote(qe, sizeof qe, te.p, te.n);
            snprintf(msg, cap, "token %zu: expected %s, got end of output", i, qe);
            return false;
        }
        if (!he) {
            quote(qa, sizeof qa, ta.p, ta.n);
            snprintf(msg, cap, "token %zu: expected end of output, got %s", i, qa);
            return false;
        }
        double e, a;
        if (floats && token_float(&te, &e)) {
            if (token_float(&ta, &a)) {
                if (isnan(e) ? isnan(a)
                             : isinf(e) ? a == e
                                        : isfinite(a) && (fabs(a - e) <= ck->abs_tol ||
                                                          fabs(a - e) <= ck->rel_tol * fabs(e)))
                    continue;
            }
        } else if (same_text(ck, &te, &ta)) {
            continue;
        }
        quote(qe, sizeof qe, te.p, te.n);
        quote(qa, sizeof qa, ta.p, ta.n);
        snprintf(msg, cap, "token %zu: expected %s, got %s", i, qe, qa);
        return false;
    }
}

bool checker_compare(const exec_checker_t *ck, const char *expected, size_t elen,
                     const char *actual, size_t alen, char *msg, size_t cap)
{
    if (cap)
        msg[0] = '\0';
    switch (ck->kind) {
    case DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_EXACT:
        return compare_exact(expected, elen, actual, alen, msg, cap);
    case DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_TOKENS:
        return compare_tokens(ck, false, expected, elen, actual, alen, msg, cap);
    case DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_FLOAT:
        return compare_tokens(ck, true, expected, elen, actual, alen, msg, cap);
    case DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_DEFAULT_VALIDATOR:
        return compare_default_validator(ck, expected, elen, actual, alen, msg, cap);
    default:
        return compare_lines(expected, elen, actual, alen, msg, cap);
    }
}

/* ------------------------------------------------------------------------
 * Driver records → verdicts
 * ------------------------------------------------------------------------ */

/* What the other runtimes print when an allocation fails at the heap limit
 * they were given (-Xmx, --max-old-space-size) or the address-space limit:
 * their memory limit, not a bug of the program. */
static const char *const out_of_memory_messages[] = {
    /* the JVM (Java, Kotlin) at -Xmx; not "unable to create native thread" */
    "java.lang.OutOfMemoryError: Java heap space",
    "java.lang.OutOfMemoryError: GC overhead limit exceeded",
    "java.lang.OutOfMemoryError: Requested array size exceeds VM limit",
    "JavaScript heap out of memory",     /* Node.js */
    "fatal error: runtime: out of memory", /* Go */
    "memory allocation of ",             /* Rust: "memory allocation of N bytes failed" */
    "std::bad_alloc",                    /* C++: terminate called after throwing ... */
    NULL,
};

static bool says_out_of_memory(const char *err, size_t len)
{
    for (int i = 0; out_of_memory_messages[i]; i++)
        if (memmem(err, len, out_of_memory_messages[i], strlen(out_of_memory_messages[i])))
            return true;
    return false;
}

static bool ends_with_memory_error(const char *err, size_t len)
{
    if (says_out_of_memory(err, len))
        return true;
    while (len > 0 && is_ws(err[len - 1]))
        len--;
    /* The last line, e.g. "MemoryError" or "MemoryError: cannot allocate". */
    size_t start = len;
    while (start > 0 && err[start - 1] != '\n')
        start--;
    static const char tag[] = "MemoryError";
    return len - start >= sizeof tag - 1 && memcmp(err + start, tag, sizeof tag - 1) == 0;
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGKILL: return "SIGKILL";
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGFPE: return "SIGFPE";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGTERM: return "SIGTERM";
    case SIGPIPE: return "SIGPIPE";
    case SIGXCPU: return "SIGXCPU";
    case SIGXFSZ: return "SIGXFSZ";
    case SIGSYS: return "SIGSYS";
    case SIGTRAP: return "SIGTRAP";
    default: return NULL;
    }
}

exec_verdict_t exec_verdict_of_record(const sandbox_record_t *rec, const sandbox_limits_t *lim,
                                      char *msg, size_t cap)
{
    if (cap)
        msg[0] = '\0';
    const char *st = rec->status;
    bool memory_error = rec->err && ends_with_memory_error(rec->err, rec->err_len);

    /* MLE exactly when the program's own peak passed the limit: the driver
     * stopped it there (ML), or it ended by itself above it. The runtime's
     * own needs are provisioned outside the limit, so nothing else counts. */
    if (!strcmp(st, "ML") || (lim->memory_kib > 0 && rec->rss_kib > (long)lim->memory_kib &&
                              (strcmp(st, "OK") == 0 || strcmp(st, "SG") == 0))) {
        snprintf(msg, cap, "memory limit exceeded (%d KiB)", lim->memory_kib);
        return DOJO__COMMON__V1__VERDICT__VERDICT_MLE;
    }
    if (!strcmp(st, "TC")) {
        snprintf(msg, cap, "CPU time limit exceeded (%d ms)", lim->cpu_ms);
        return DOJO__COMMON__V1__VERDICT__VERDICT_TLE;
    }
    if (!strcmp(st, "TW")) {
        snprintf(msg, cap, "wall-clock time limit exceeded (%d ms) while the program waited",
                 lim->wall_ms);
        return DOJO__COMMON__V1__VERDICT__VERDICT_TLE;
    }
    if (!strcmp(st, "TS")) {
        snprintf(msg, cap,
                 "time limit: stopped by the wall-clock safety net after %ld ms with %ld ms of "
                 "CPU time (of %d ms allowed); the machine was too busy",
                 rec->wall_ms, rec->cpu_ms, lim->cpu_ms);
        return DOJO__COMMON__V1__VERDICT__VERDICT_TLE;
    }
    if (!strcmp(st, "PL")) {
        snprintf(msg, cap, "too many processes and threads at once");
        return DOJO__COMMON__V1__VERDICT__VERDICT_RE;
    }
    if (!strcmp(st, "OL")) {
        snprintf(msg, cap, "output limit exceeded (%d KiB)", lim->output_kib);
        return DOJO__COMMON__V1__VERDICT__VERDICT_OLE;
    }
    if (!strcmp(st, "SG")) {
        /* Python's MemoryError: an allocation the address-space limit refused. */
        if (memory_error) {
            snprintf(msg, cap, "memory limit exceeded (%d KiB)", lim->memory_kib);
            return DOJO__COMMON__V1__VERDICT__VERDICT_MLE;
        }
        if (rec->term_signal == SIGXFSZ) {
            snprintf(msg, cap, "output limit exceeded (file size)");
            return DOJO__COMMON__V1__VERDICT__VERDICT_OLE;
        }
        const char *name = signal_name(rec->term_signal);
        if (name)
            snprintf(msg, cap, "killed by signal %d (%s)", rec->term_signal, name);
        else
            snprintf(msg, cap, "killed by signal %d", rec->term_signal);
        return DOJO__COMMON__V1__VERDICT__VERDICT_RE;
    }
    if (!strcmp(st, "OK")) {
        if (rec->exit_code == 0)
            return DOJO__COMMON__V1__VERDICT__VERDICT_AC;
        if (memory_error) {
            snprintf(msg, cap, "memory limit exceeded (%d KiB)", lim->memory_kib);
            return DOJO__COMMON__V1__VERDICT__VERDICT_MLE;
        }
        snprintf(msg, cap, "exit code %d", rec->exit_code);
        return DOJO__COMMON__V1__VERDICT__VERDICT_RE;
    }
    snprintf(msg, cap, "the program could not be started");
    return DOJO__COMMON__V1__VERDICT__VERDICT_IE;
}

/* ------------------------------------------------------------------------
 * Custom checkers
 *
 * content.proto's CustomChecker is called as `prog INPUT EXPECTED ACTUAL`
 * (three file paths). The sandbox gives a program only its code and stdin,
 * so the checker runs inside a small wrapper in its own language: the
 * wrapper reads a bundle of the four byte strings from stdin, writes the
 * three files below /tmp (the sandbox's tmpfs), and runs the author's code
 * with those arguments. A checker that crashes is a judge failure (IE), not
 * a wrong answer.
 * ------------------------------------------------------------------------ */

void checker_bundle(const char *src, size_t slen, const char *in, size_t ilen, const char *exp,
                    size_t elen, const char *act, size_t alen, char **out, size_t *out_len)
{
    char head[128];
    int h = snprintf(head, sizeof head, "DOJOCHK1 %zu %zu %zu %zu\n", slen, ilen, elen, alen);
    size_t total = (size_t)h + slen + ilen + elen + alen;
    char *b = xmalloc(total + 1);
    size_t o = 0;
    memcpy(b, head, (size_t)h), o += (size_t)h;
    if (slen)
        memcpy(b + o, src, slen), o += slen;
    if (ilen)
        memcpy(b + o, in, ilen), o += ilen;
    if (elen)
        memcpy(b + o, exp, elen), o += elen;
    if (alen)
        memcpy(b + o, act, alen), o += alen;
    b[o] = '\0';
    *out = b;
    *out_len = o;
}

static const char python_wrapper[] =
    "import os, sys, io, traceback\n"
    "def _dojo_checker():\n"
    "    data = sys.stdin.buffer.read()\n"
    "    nl = data.index(b'\\n')\n"
    "    lens = [int(x) for x in data[:nl].split()[1:]]\n"
    "    pos, parts = nl + 1, []\n"
    "    for n in lens:\n"
    "        parts.append(data[pos:pos + n]); pos += n\n"
    "    src, files = parts[0], parts[1:]\n"
    "    d = '/tmp/dojo-checker'\n"
    "    os.makedirs(d, exist_ok=True)\n"
    "    paths = []\n"
    "    for name, b in zip(('input', 'expected', 'actual'), files):\n"
    "        p = os.path.join(d, name)\n"
    "        with open(p, 'wb') as f:\n"
    "            f.write(b)\n"
    "        paths.append(p)\n"
    "    sys.argv = ['checker.py'] + paths\n"
    "    sys.stdin = io.TextIOWrapper(io.BytesIO(b''))\n"
    "    g = {'__name__': '__main__', '__file__': 'checker.py', '__builtins__': __builtins__}\n"
    "    try:\n"
    "        exec(compile(src, 'checker.py', 'exec'), g)\n"
    "    except SystemExit:\n"
    "        raise\n"
    "    except BaseException:\n"
    "        traceback.print_exc()\n"
    "        sys.stdout.flush()\n"
    "        os._exit(2)\n"
    "_dojo_checker()\n";

static const char c_prelude[] = "#include <stdio.h>\n"
                                "#include <stdlib.h>\n"
                                "#include <string.h>\n"
                                "#define main dojo_checker_main\n"
                                "#line 1 \"checker.c\"\n";

static const char c_epilogue[] =
    "\n#undef main\n"
    "static char *dojo_read_all(size_t *n) {\n"
    "  size_t cap = 1 << 16, len = 0; char *b = malloc(cap);\n"
    "  for (;;) { if (len == cap) b = realloc(b, cap *= 2); if (!b) exit(2);\n"
    "    size_t r = fread(b + len, 1, cap - len, stdin); if (r == 0) break; len += r; }\n"
    "  *n = len; return b; }\n"
    "int main(void) {\n"
    "  size_t n; char *d = dojo_read_all(&n); char *nl = memchr(d, '\\n', n); if (!nl) return 2;\n"
    "  size_t l[4]; if (sscanf(d, \"DOJOCHK1 %zu %zu %zu %zu\", &l[0], &l[1], &l[2], &l[3]) != 4) "
    "return 2;\n"
    "  char *p = nl + 1 + l[0]; static char *names[3] = {\"/tmp/dojo-checker-input\",\n"
    "    \"/tmp/dojo-checker-expected\", \"/tmp/dojo-checker-actual\"};\n"
    "  for (int i = 0; i < 3; i++) { FILE *f = fopen(names[i], \"wb\"); if (!f) return 2;\n"
    "    if (l[i + 1] && fwrite(p, 1, l[i + 1], f) != l[i + 1]) return 2; fclose(f); p += l[i + "
    "1]; }\n"
    "  if (!freopen(\"/dev/null\", \"r\", stdin)) { }\n"
    "  char *argv[5] = {\"checker\", names[0], names[1], names[2], NULL};\n"
    "  return ((int (*)(int, char **))dojo_checker_main)(4, argv);\n"
    "}\n";

typedef struct custom_run {
    checker_case_t *cases;
    int n;
    bool compiled_ok;
    bool compile_reported;
} custom_run_t;

static void custom_on_compile(void *payload, bool ok, const char *output, size_t len)
{
    custom_run_t *r = payload;
    r->compile_reported = true;
    r->compiled_ok = ok;
    if (!ok)
        LOG_WARN("custom checker does not compile", "output=\"%s\"",
                 log_esc(len > 512 ? "(long compiler output)" : output));
}

static void custom_on_record(void *payload, const sandbox_record_t *rec)
{
    custom_run_t *r = payload;
    if (rec->index < 0 || rec->index >= r->n)
        return;
    checker_case_t *c = &r->cases[rec->index];
    /* The first line of stdout becomes the message. */
    size_t n = 0;
    while (n < rec->out_len && rec->out[n] != '\n' && n < EXEC_MESSAGE_MAX)
        n++;
    char *clean = exec_utf8_clean(rec->out ? rec->out : "", n, EXEC_MESSAGE_MAX);
    snprintf(c->message, sizeof c->message, "%s", clean);
    free(clean);
    if (!strcmp(rec->status, "OK") && (rec->exit_code == 0 || rec->exit_code == 42)) {
        c->verdict = DOJO__COMMON__V1__VERDICT__VERDICT_AC;
    } else if (!strcmp(rec->status, "OK") && (rec->exit_code == 1 || rec->exit_code == 43)) {
        c->verdict = DOJO__COMMON__V1__VERDICT__VERDICT_WA;
    } else {
        c->verdict = DOJO__COMMON__V1__VERDICT__VERDICT_IE;
        /* rec->err is err_len bytes of the record stream, not a C string. */
        char *err = exec_utf8_clean(rec->err, rec->err_len < 300 ? rec->err_len : 300, 300);
        LOG_WARN("custom checker failed", "test=%d status=%s exit=%d signal=%d stderr=\"%s\"",
                 rec->index, rec->status, rec->exit_code, rec->term_signal, log_esc(err));
        free(err);
        snprintf(c->message, sizeof c->message, "the checker failed");
    }
}

int checker_run_custom(const sandbox_config_t *cfg, sandbox_runtime_t runtime, int slot,
                       const sandbox_lang_t *lang, const char *source, checker_case_t *cases,
                       int n, atomic_bool *cancel, err_t **err)
{
    for (int i = 0; i < n; i++) {
        cases[i].verdict = DOJO__COMMON__V1__VERDICT__VERDICT_IE;
        snprintf(cases[i].message, sizeof cases[i].message, "the checker did not run");
    }
    if (n == 0)
        return 0;
    bool python = !strncmp(lang->id, "python", 6);
    bool c_lang = !strcmp(lang->id, "c");
    if (!python && !c_lang) {
        LOG_WARN("custom checker language not supported", "language=%s", lang->id);
        return 0;
    }
    size_t slen = strlen(source);
    char *code = NULL;
    if (python)
        code = xstrdup(python_wrapper);
    else
        code = xasprintf("%s%s%s", c_prelude, source, c_epilogue);
    size_t code_len = strlen(code);
    char **inputs = xcalloc((size_t)n, sizeof *inputs);
    size_t *lens = xcalloc((size_t)n, sizeof *lens);
    for (int i = 0; i < n; i++)
        checker_bundle(python ? source : "", python ? slen : 0, cases[i].input,
                       cases[i].input_len, cases[i].expected, cases[i].expected_len,
                       cases[i].actual, cases[i].actual_len, &inputs[i], &lens[i]);

    custom_run_t run = {.cases = cases, .n = n};
    char id[64];
    snprintf(id, sizeof id, "chk-%d-%x", slot, (unsigned)random());
    sandbox_job_t job = {
        .runtime = runtime,
        .slot = slot,
        .id = id,
        .lang = lang,
        .code = code,
        .code_len = code_len,
        .ntests = n,
        .inputs = (const char *const *)inputs,
        .input_lens = lens,
        .stdin_fd = -1,
        .limits = {.cpu_ms = 10000, .wall_ms = 20000, .memory_kib = 512 * 1024,
                   /* also its file-size limit: the checker writes the test's
                    * input, expected and actual output (each up to 1 MiB+) */
                   .output_kib = 16 * 1024},
        .cancel = cancel,
        .payload = &run,
        .on_compile = custom_on_compile,
        .on_record = custom_on_record,
    };
    sandbox_outcome_t outcome;
    memset(&outcome, 0, sizeof outcome);
    int rc = sandbox_run(cfg, &job, &outcome, err);
    for (int i = 0; i < n; i++)
        free(inputs[i]);
    free(inputs);
    free(lens);
    free(code);
    if (rc < 0)
        return err_wrap(err, "custom checker");
    if (outcome.end != SANDBOX_DONE)
        LOG_WARN("custom checker run did not finish", "end=%d reported=%d runtime_error=\"%s\"",
                 (int)outcome.end, outcome.tests_reported, log_esc(outcome.runtime_error));
    return 0;
}
