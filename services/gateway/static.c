/* static.c — the built web app (DOJO_GATEWAY_WEB_DIR, default web/dist).
 *
 * Hashed assets under /assets/ never change under their name: cached for a
 * year as immutable. Everything else (index.html above all) is revalidated on
 * every load. A precompressed "<file>.gz" is sent when the client accepts
 * gzip. Paths without a file extension that match no file are SPA routes and
 * get index.html. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway.h"

static const char *mime_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".webp", "image/webp"},
        {".ico", "image/x-icon"},
        {".woff", "font/woff"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
        {".webmanifest", "application/manifest+json"},
        {".wasm", "application/wasm"},
    };
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (!strcasecmp(dot, types[i].ext))
                return types[i].type;
    return "application/octet-stream";
}

static bool path_safe(const char *p)
{
    if (p[0] != '/' || strlen(p) > 512 || strstr(p, "..") || strstr(p, "//") || strchr(p, '\\'))
        return false;
    for (const unsigned char *c = (const unsigned char *)p; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return false;
    return true;
}

/* Opens a regular file; -1 otherwise. */
static int open_file(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* `path`, or its gzip-compressed copy `path`.gz when the client takes gzip
 * (*gz says which); -1 when neither is a regular file. */
static int open_encoded(const char *path, const char *accept_encoding, struct stat *st, bool *gz)
{
    *gz = false;
    if (accept_encoding && strstr(accept_encoding, "gzip")) {
        char gzpath[1040];
        snprintf(gzpath, sizeof gzpath, "%s.gz", path);
        int fd = open_file(gzpath, st);
        if (fd >= 0) {
            *gz = true;
            return fd;
        }
    }
    return open_file(path, st);
}

static enum MHD_Result plain(gw_req_t *r, unsigned status, const char *text)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    gw_security_headers(r->gw, resp, false);
    MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    if (status == 405)
        MHD_add_response_header(resp, "Allow", "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result gw_static_serve(gw_req_t *r)
{
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
        return plain(r, 405, "method not allowed\n");
    const char *url = r->path;
    if (!path_safe(url))
        return plain(r, 404, "not found\n");
    const char *dir = r->gw->cfg.web_dir;
    const char *rel = strcmp(url, "/") == 0 ? "/index.html" : url;
    bool asset = strncmp(rel, "/assets/", 8) == 0;
    char path[1024];
    if ((size_t)snprintf(path, sizeof path, "%s%s", dir, rel) >= sizeof path)
        return plain(r, 404, "not found\n");

    struct stat st;
    bool gz = false;
    const char *ae = gw_header(r, "Accept-Encoding");
    int fd = open_encoded(path, ae, &st, &gz);
    if (fd < 0) {
        const char *last = strrchr(rel, '/');
        if (asset || (last && strchr(last, '.')))
            return plain(r, 404, "not found\n");
        /* An SPA route: the app decides what to show. */
        rel = "/index.html";
        asset = false;
        snprintf(path, sizeof path, "%s/index.html", dir);
        fd = open_encoded(path, ae, &st, &gz);
        if (fd < 0)
            return plain(r, 404, "the web app is not built (no index.html in "
                                 "DOJO_GATEWAY_WEB_DIR); build it with `cd web && npm run build`\n");
    }
    struct MHD_Response *resp = MHD_create_response_from_fd((size_t)st.st_size, fd);
    if (resp == NULL) {
        close(fd);
        return MHD_NO;
    }
    gw_security_headers(r->gw, resp, false);
    MHD_add_response_header(resp, "Content-Type", mime_type(rel));
    MHD_add_response_header(resp, "Cache-Control",
                            asset ? "public, max-age=31536000, immutable" : "no-cache");
    MHD_add_response_header(resp, "Vary", "Accept-Encoding");
    if (gz)
        MHD_add_response_header(resp, "Content-Encoding", "gzip");
    enum MHD_Result ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}
