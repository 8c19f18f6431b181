/* blobs.c — test data uploads (content.proto "Blobs"):
 *   PUT /api/v1/author/blobs/{sha256}   the body streamed to content
 *   GET /api/v1/author/blobs/{sha256}   the caller's upload state
 *
 * A blob's body is up to 256 MiB: it never passes through the request's
 * body buffer. The router hands each piece libmicrohttpd reads to
 * gw_blob_access, which gathers 1 MiB and has a request worker send it as
 * one PutBlobChunk (the connection suspended meanwhile, so libmicrohttpd's
 * thread serves its other connections, and the client is held back: at most
 * one chunk in memory); the answer is the state after the last chunk.
 * Resumable: Content-Range names where a part starts, and content refuses
 * any start but the bytes it has. An error part-way is remembered and
 * answered once the body is read (answering early would make libmicrohttpd
 * close the connection under a client still sending). */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"

#define CONTENT_SVC (&dojo__content__v1__content__descriptor)
#define BLOB_MAX_BYTES (256LL * 1024 * 1024)
#define BLOB_PIECE (1024 * 1024)
/* The last chunk's call hashes the whole blob in content. */
#define BLOB_CALL_MS 120000

struct gw_blob_upload {
    char sha256[65];
    int64_t total; /* the blob's size */
    int64_t next;  /* where the buffered bytes start */
    int64_t end;   /* one past this request's last byte */
    char *buf;
    size_t len;
    bool checked;  /* asked content whether the caller owns it already */
    bool skip;     /* owned already, or failed: the rest of the body is read and dropped */
    err_t *err;    /* the first failure, answered at the end */
    Dojo__Content__V1__BlobStatus *status; /* the last answer (new) */
};

bool gw_blob_route(const char *url, const char *method)
{
    return !strcmp(method, "PUT") && !strncmp(url, "/api/v1/author/blobs/", 21) &&
           strchr(url + 21, '/') == NULL;
}

void gw_blob_free(gw_blob_upload_t *b)
{
    if (b == NULL)
        return;
    free(b->buf);
    err_free(b->err);
    if (b->status)
        protobuf_c_message_free_unpacked(&b->status->base, NULL);
    free(b);
}

bool gw_is_sha256(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (int k = 0; k < 64; k++)
        if (!((s[k] >= '0' && s[k] <= '9') || (s[k] >= 'a' && s[k] <= 'f')))
            return false;
    return true;
}

static json_t *status_json(const Dojo__Content__V1__BlobStatus *s)
{
    return json_pack("{s:s,s:I,s:I,s:b}", "sha256", s->sha256 ? s->sha256 : "", "size",
                     (json_int_t)s->size, "received", (json_int_t)s->received, "complete",
                     s->complete);
}

static int blob_status(gw_req_t *r, const char *sha256, Dojo__Content__V1__BlobStatus **out,
                       err_t **err)
{
    Dojo__Content__V1__GetBlobStatusRequest req = DOJO__CONTENT__V1__GET_BLOB_STATUS_REQUEST__INIT;
    req.sha256 = (char *)sha256;
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), true);
    return rpc_client_call(r->gw->content, CONTENT_SVC, "GetBlobStatus", &req.base,
                           (ProtobufCMessage **)out, &o, err);
}

/* Content's refusals as the HTTP statuses docs/openapi.yaml names: 422
 * hash_mismatch, 409 for a part that does not continue the upload. */
static int http_of(err_t **err)
{
    err_t *e = *err;
    if (e->code != GRPC_STATUS_DATA_LOSS && e->code != GRPC_STATUS_FAILED_PRECONDITION)
        return -1;
    char msg[400], field[32] = "";
    const char *m = err_public_message(e);
    const char *colon = strstr(m, ": ");
    if (colon && colon - m < (long)sizeof field) {
        memcpy(field, m, (size_t)(colon - m));
        field[colon - m] = '\0';
        m = colon + 2;
    }
    snprintf(msg, sizeof msg, "%s", m);
    bool lost = e->code == GRPC_STATUS_DATA_LOSS;
    err_free(e);
    *err = NULL;
    return gw_err_http(err, lost ? 422 : 409, lost ? "hash_mismatch" : "upload_conflict",
                       field[0] ? field : NULL, "%s", msg);
}

/* "bytes FIRST-LAST/TOTAL" → first, end (one past last), total. */
static bool parse_range(const char *s, int64_t *first, int64_t *end, int64_t *total)
{
    long long a, b, t;
    int n = 0;
    if (sscanf(s, "bytes %lld-%lld/%lld%n", &a, &b, &t, &n) != 3 || s[n] != '\0' || a < 0 ||
        b < a || t <= b)
        return false;
    *first = a;
    *end = b + 1;
    *total = t;
    return true;
}

/* Refuses the request before its body is read (libmicrohttpd closes the
 * connection after). */
static enum MHD_Result refuse(gw_req_t *r, err_t *e)
{
    r->started = true;
    enum MHD_Result ret = gw_respond(r, e);
    err_free(e);
    return ret;
}

enum MHD_Result gw_blob_begin(gw_req_t *r)
{
    log_set_context("http", r->req_id, NULL);
    err_t *e = NULL;
    const char *sha = r->path + 21;
    if (gw_req_author(r, &e) < 0)
        return refuse(r, e);
    if (!gw_is_sha256(sha)) {
        gw_err_http(&e, 400, "invalid_argument", "sha256",
                    "a blob is named by its SHA-256: 64 lower-case hex digits");
        return refuse(r, e);
    }
    const char *cl = gw_header(r, "Content-Length");
    char *endp = NULL;
    long long len = cl ? strtoll(cl, &endp, 10) : -1;
    if (!cl || !*cl || *endp || len < 0) {
        gw_err_http(&e, 411, "length_required", NULL,
                    "send the blob with a Content-Length (at most %lld bytes, 256 MiB)",
                    BLOB_MAX_BYTES);
        return refuse(r, e);
    }
    int64_t first = 0, end = len, total = len;
    const char *range = gw_header(r, "Content-Range");
    if (range && !parse_range(range, &first, &end, &total)) {
        gw_err_http(&e, 400, "invalid_argument", "Content-Range",
                    "Content-Range must be \"bytes FIRST-LAST/TOTAL\" with FIRST <= LAST < TOTAL");
        return refuse(r, e);
    }
    if (total > BLOB_MAX_BYTES) {
        gw_err_http(&e, 413, "payload_too_large", NULL,
                    "a blob is at most %lld bytes (256 MiB); this one is %lld", BLOB_MAX_BYTES,
                    (long long)total);
        return refuse(r, e);
    }
    if (end - first != len || len == 0) {
        gw_err_http(&e, 400, "invalid_argument", "Content-Range",
                    len == 0 ? "a blob holds at least 1 byte"
                             : "Content-Length (%lld) must equal the Content-Range's length "
                               "(%lld)",
                    len, (long long)(end - first));
        return refuse(r, e);
    }
    gw_blob_upload_t *b = xcalloc(1, sizeof *b);
    memcpy(b->sha256, sha, 65);
    b->total = total;
    b->next = first;
    b->end = end;
    r->blob = b;
    return MHD_YES;
}

/* On a worker: sends the buffered bytes as one chunk — after asking, the
 * first time, whether the caller owns the blob already (then none of its
 * bytes are needed again). */
static void blob_flush(gw_req_t *r)
{
    gw_blob_upload_t *b = r->blob;
    if (!b->checked) {
        b->checked = true;
        Dojo__Content__V1__BlobStatus *st = NULL;
        cleanup_err err_t *se = NULL;
        if (blob_status(r, b->sha256, &st, &se) == 0) {
            if (st->complete) {
                b->skip = true;
                b->status = st;
            } else {
                protobuf_c_message_free_unpacked(&st->base, NULL);
            }
        }
    }
    if (b->skip || b->len == 0)
        return;
    Dojo__Content__V1__PutBlobChunkRequest req = DOJO__CONTENT__V1__PUT_BLOB_CHUNK_REQUEST__INIT;
    req.sha256 = b->sha256;
    req.total_size = b->total;
    req.offset = b->next;
    req.data.data = (uint8_t *)b->buf;
    req.data.len = b->len;
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), false);
    o.timeout_ms = BLOB_CALL_MS;
    Dojo__Content__V1__BlobStatus *st = NULL;
    if (rpc_client_call(r->gw->content, CONTENT_SVC, "PutBlobChunk", &req.base,
                        (ProtobufCMessage **)&st, &o, &b->err) < 0) {
        b->skip = true;
        LOG_INFO("blob chunk refused", "sha256=%.16s offset=%" PRId64 " error=\"%s\"", b->sha256,
                 b->next, log_esc(b->err->msg));
        return;
    }
    b->next += (int64_t)b->len;
    b->len = 0;
    if (b->status)
        protobuf_c_message_free_unpacked(&b->status->base, NULL);
    b->status = st;
    if (st->complete)
        b->skip = true;
}

/* The worker's jobs: one chunk; the last one and the answer. */
static int flush_job(gw_req_t *r, err_t **err)
{
    blob_flush(r);
    return 0;
}

static int end_job(gw_req_t *r, err_t **err)
{
    gw_blob_upload_t *b = r->blob;
    blob_flush(r);
    if (b->err) {
        *err = b->err;
        b->err = NULL;
        http_of(err);
        return -1;
    }
    if (b->status == NULL)
        return gw_err_http(err, 400, "invalid_argument", NULL,
                           "the body was shorter than announced");
    r->status = 200;
    r->out = status_json(b->status);
    return 0;
}

/* What a worker left: a refusal of the queue (busy) counts as the upload's
 * failure. */
static void worker_done(gw_req_t *r)
{
    gw_blob_upload_t *b = r->blob;
    r->deferred = false;
    if (r->async_err) {
        if (!b->err)
            b->err = r->async_err;
        else
            err_free(r->async_err);
        r->async_err = NULL;
        b->skip = true;
    }
}

static enum MHD_Result answer(gw_req_t *r, err_t *e)
{
    enum MHD_Result ret = gw_respond(r, e);
    err_free(e);
    return ret;
}

enum MHD_Result gw_blob_access(gw_req_t *r, const char *data, size_t *size)
{
    gw_blob_upload_t *b = r->blob;
    if (r->deferred) {
        if (!__atomic_load_n(&r->job_done, __ATOMIC_ACQUIRE))
            return MHD_YES;
        if (r->started) { /* the end: the worker's answer */
            err_t *e = r->async_err;
            r->async_err = NULL;
            r->deferred = false;
            return answer(r, e);
        }
        worker_done(r);
    }
    if (*size > 0) {
        if (b->skip) {
            *size = 0;
            return MHD_YES;
        }
        if (b->buf == NULL)
            b->buf = xmalloc(BLOB_PIECE);
        size_t take = BLOB_PIECE - b->len < *size ? BLOB_PIECE - b->len : *size;
        memcpy(b->buf + b->len, data, take);
        b->len += take;
        *size -= take; /* the rest comes again after the flush */
        err_t *e = NULL;
        if (b->len == BLOB_PIECE && gw_workers_submit(r, flush_job, false, &e) < 0) {
            b->err = e;
            b->skip = true;
        }
        return MHD_YES;
    }
    if (r->started)
        return MHD_YES;
    r->started = true;
    err_t *e = NULL;
    if (gw_workers_submit(r, end_job, false, &e) < 0)
        return answer(r, e);
    return MHD_YES; /* suspended; answered when the worker resumes it */
}

int gw_h_author_blob_get(gw_req_t *r, err_t **err)
{
    if (gw_req_author(r, err) < 0)
        return -1;
    const char *sha = r->segs[2];
    if (!gw_is_sha256(sha))
        return gw_err_http(err, 400, "invalid_argument", "sha256",
                           "a blob is named by its SHA-256: 64 lower-case hex digits");
    cleanup_pb Dojo__Content__V1__BlobStatus *st = NULL;
    if (blob_status(r, sha, &st, err) < 0)
        return -1;
    r->status = 200;
    r->out = status_json(st);
    return 0;
}
