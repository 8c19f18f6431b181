/* log.c — structured log lines on stderr, one write(2) per line so lines of
 * concurrent threads never interleave. */
#define _GNU_SOURCE
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

log_level_t log_min_level = LOG_LEVEL_INFO;

static const char *service_name = "dojo";
static bool json_format;

static __thread char ctx_rpc[96];
static __thread char ctx_req_id[64];
static __thread char ctx_user[64];

static const char *const level_names[] = {"debug", "info", "warn", "error", NULL};

void log_init(const char *service)
{
    static const char *const formats[] = {"text", "json", NULL};
    service_name = service;
    log_min_level = (log_level_t)config_enum("DOJO_LOG_LEVEL", "info", level_names);
    json_format = config_enum("DOJO_LOG_FORMAT", "text", formats) == 1;
}

static void copy_field(char *dst, size_t cap, const char *src)
{
    if (src == NULL) {
        dst[0] = '\0';
        return;
    }
    snprintf(dst, cap, "%s", src);
}

void log_set_context(const char *rpc, const char *req_id, const char *user)
{
    copy_field(ctx_rpc, sizeof ctx_rpc, rpc);
    copy_field(ctx_req_id, sizeof ctx_req_id, req_id);
    copy_field(ctx_user, sizeof ctx_user, user);
}

/* Appends `s` as a JSON string body (without quotes), escaping as needed. */
static void json_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
}

/* In text format a value with spaces or quotes is quoted. */
static void text_value(FILE *f, const char *s)
{
    if (s[0] != '\0' && strpbrk(s, " \"=\n\t") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    json_escape(f, s);
    fputc('"', f);
}

/* Splits "a=1 b=\"x y\"" into pairs and writes them as JSON members. */
static void kv_to_json(FILE *f, const char *kv)
{
    const char *p = kv;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *eq = strchr(p, '=');
        if (eq == NULL)
            break;
        fputs(",\"", f);
        fwrite(p, 1, (size_t)(eq - p), f);
        fputs("\":\"", f);
        p = eq + 1;
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                if (*p == '"' || *p == '\\')
                    fputc('\\', f);
                fputc(*p++, f);
            }
            if (*p == '"')
                p++;
        } else {
            while (*p && *p != ' ') {
                if (*p == '"' || *p == '\\')
                    fputc('\\', f);
                fputc(*p++, f);
            }
        }
        fputc('"', f);
    }
}

const char *log_esc(const char *s)
{
    static __thread char bufs[4][1100];
    static __thread int next;
    char *out = bufs[next];
    next = (next + 1) % 4;
    size_t o = 0;
    for (; s && *s && o < 1024; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            out[o++] = ' ';
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return out;
}

void log_write(log_level_t level, const char *msg, const char *kv_fmt, ...)
{
    char *kv = NULL;
    if (kv_fmt != NULL && kv_fmt[0] != '\0') {
        va_list ap;
        va_start(ap, kv_fmt);
        if (vasprintf(&kv, kv_fmt, ap) < 0)
            kv = NULL;
        va_end(ap);
    }

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[96];
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (long)(tv.tv_usec / 1000));

    char *line = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&line, &len);
    if (f == NULL) {
        free(kv);
        return;
    }
    if (json_format) {
        fprintf(f, "{\"ts\":\"%s\",\"level\":\"%s\",\"svc\":\"", ts, level_names[level]);
        json_escape(f, service_name);
        fputc('"', f);
        if (ctx_rpc[0]) {
            fputs(",\"rpc\":\"", f);
            json_escape(f, ctx_rpc);
            fputc('"', f);
        }
        if (ctx_req_id[0]) {
            fputs(",\"req_id\":\"", f);
            json_escape(f, ctx_req_id);
            fputc('"', f);
        }
        if (ctx_user[0]) {
            fputs(",\"user\":\"", f);
            json_escape(f, ctx_user);
            fputc('"', f);
        }
        fputs(",\"msg\":\"", f);
        json_escape(f, msg);
        fputc('"', f);
        if (kv)
            kv_to_json(f, kv);
        fputs("}\n", f);
    } else {
        fprintf(f, "ts=%s level=%s svc=", ts, level_names[level]);
        text_value(f, service_name);
        if (ctx_rpc[0]) {
            fputs(" rpc=", f);
            text_value(f, ctx_rpc);
        }
        if (ctx_req_id[0]) {
            fputs(" req_id=", f);
            text_value(f, ctx_req_id);
        }
        if (ctx_user[0]) {
            fputs(" user=", f);
            text_value(f, ctx_user);
        }
        fputs(" msg=", f);
        text_value(f, msg);
        if (kv) {
            fputc(' ', f);
            fputs(kv, f);
        }
        fputc('\n', f);
    }
    fclose(f);
    ssize_t off = 0;
    while ((size_t)off < len) {
        ssize_t n = write(STDERR_FILENO, line + off, len - (size_t)off);
        if (n <= 0)
            break;
        off += n;
    }
    free(line);
    free(kv);
}
