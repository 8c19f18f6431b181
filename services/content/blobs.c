/* blobs.c — test data by SHA-256 (content.proto "Blobs"): chunked,
 * resumable uploads by authors, the hash checked when the last byte arrives,
 * one stored copy however many authors upload it, owners (who may reference
 * a blob from a task), ReadBlob for the executor, and the check of a task's
 * blob references. Storage: migrations/005_blobs.sql says why chunks of
 * bytea. No statement moves more than a few chunks, so neither side holds a
 * whole blob. */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "content.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"

/* Chunks read per statement: with PutBlobChunk's 4 MiB at most, 16 MiB. */
#define PAGE_CHUNKS 4
/* What ReadBlob sends per message, at most (a stored chunk is cut to it). */
#define READ_PIECE (1024 * 1024)

/* ------------------------------------------------------------------------
 * Statements
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_owned = {
    .name = "content_blob_owned",
    .sql = "SELECT b.size FROM content.blobs b JOIN content.blob_owners o USING (sha256) "
           "WHERE b.sha256 = $1 AND o.owner = $2",
    .nparams = 2,
};

/* As stmt_owned, and the blob's grace period starts again (blobgc.c): an
 * author sending a blob they have is about to use it. The row lock orders
 * this against a collection in progress: after it, the blob is either gone
 * (no row: uploaded anew) or fresh. */
static const pg_stmt_t stmt_owned_touch = {
    .name = "content_blob_owned_touch",
    .sql = "UPDATE content.blobs b SET used_at = now() WHERE b.sha256 = $1 AND EXISTS "
           "(SELECT 1 FROM content.blob_owners o WHERE o.sha256 = b.sha256 AND o.owner = $2) "
           "RETURNING b.size",
    .nparams = 2,
};

static const pg_stmt_t stmt_touch = {
    .name = "content_blob_touch",
    .sql = "UPDATE content.blobs SET used_at = now() WHERE sha256 = $1",
    .nparams = 1,
};

static const pg_stmt_t stmt_upload_get = {
    .name = "content_blob_upload_get",
    .sql = "SELECT id, size, received FROM content.blob_uploads "
           "WHERE sha256 = $1 AND owner = $2 AND NOT complete FOR UPDATE",
    .nparams = 2,
};

/* As stmt_upload_get, without the lock: what GetBlobStatus reports, never
 * waiting for a chunk being written. */
static const pg_stmt_t stmt_upload_peek = {
    .name = "content_blob_upload_peek",
    .sql = "SELECT id, size, received FROM content.blob_uploads "
           "WHERE sha256 = $1 AND owner = $2 AND NOT complete",
    .nparams = 2,
};

static const pg_stmt_t stmt_upload_new = {
    .name = "content_blob_upload_new",
    .sql = "INSERT INTO content.blob_uploads (sha256, owner, size) VALUES ($1, $2, $3::bigint) "
           "ON CONFLICT (sha256, owner) WHERE NOT complete DO NOTHING",
    .nparams = 3,
};

static const pg_stmt_t stmt_uploads_stale = {
    .name = "content_blob_uploads_stale",
    .sql = "DELETE FROM content.blob_uploads "
           "WHERE NOT complete AND updated_at < now() - interval '24 hours'",
    .nparams = 0,
};

static const pg_stmt_t stmt_chunk_put = {
    .name = "content_blob_chunk_put",
    .sql = "INSERT INTO content.blob_chunks (upload_id, off, data) VALUES ($1::bigint, "
           "$2::bigint, $3::bytea)",
    .nparams = 3,
};

static const pg_stmt_t stmt_upload_advance = {
    .name = "content_blob_upload_advance",
    .sql = "UPDATE content.blob_uploads SET received = received + $2::bigint, updated_at = now() "
           "WHERE id = $1::bigint",
    .nparams = 2,
};

static const pg_stmt_t stmt_chunks_page = {
    .name = "content_blob_chunks_page",
    .sql = "SELECT off, data FROM content.blob_chunks "
           "WHERE upload_id = $1::bigint AND off + length(data) > $2::bigint "
           "ORDER BY off LIMIT 4",
    .nparams = 2,
};

static const pg_stmt_t stmt_upload_delete = {
    .name = "content_blob_upload_delete",
    .sql = "DELETE FROM content.blob_uploads WHERE id = $1::bigint",
    .nparams = 1,
};

static const pg_stmt_t stmt_blob_insert = {
    .name = "content_blob_insert",
    .sql = "INSERT INTO content.blobs (sha256, size, upload_id) VALUES ($1, $2::bigint, "
           "$3::bigint) ON CONFLICT DO NOTHING RETURNING sha256",
    .nparams = 3,
};

static const pg_stmt_t stmt_upload_complete = {
    .name = "content_blob_upload_complete",
    .sql = "UPDATE content.blob_uploads SET complete = true, received = size, updated_at = now() "
           "WHERE id = $1::bigint",
    .nparams = 1,
};

static const pg_stmt_t stmt_owner_add = {
    .name = "content_blob_owner_add",
    .sql = "INSERT INTO content.blob_owners (sha256, owner) VALUES ($1, $2) "
           "ON CONFLICT DO NOTHING",
    .nparams = 2,
};

static const pg_stmt_t stmt_blob_get = {
    .name = "content_blob_get",
    .sql = "SELECT size, upload_id FROM content.blobs WHERE sha256 = $1",
    .nparams = 1,
};

/* $1: a text[] of hashes; $2: the owner ('' or NULL for none). */
static const pg_stmt_t stmt_blobs_of = {
    .name = "content_blobs_of",
    .sql = "SELECT b.sha256, b.size, EXISTS (SELECT 1 FROM content.blob_owners o "
           "WHERE o.sha256 = b.sha256 AND o.owner = $2) "
           "FROM content.blobs b WHERE b.sha256 = ANY ($1::text[])",
    .nparams = 2,
};

/* ------------------------------------------------------------------------
 * Reading chunks in order
 * ------------------------------------------------------------------------ */

typedef content_blob_piece_fn piece_fn;

static int64_t be64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return (int64_t)be64toh(v);
}

/* The chunks of upload `upload_id` from `offset`, PAGE_CHUNKS per statement. */
static int chunks_each(pg_conn_t *conn, const char *upload_id, int64_t offset, int64_t size,
                       piece_fn fn, void *payload, err_t **err)
{
    int64_t at = offset;
    /* Bounded: every page moves `at` forward by at least one byte, or ends. */
    for (int64_t pages = 0; at < size && pages <= size; pages++) {
        char at_s[24];
        snprintf(at_s, sizeof at_s, "%lld", (long long)at);
        const char *p[] = {upload_id, at_s};
        cleanup_pgresult PGresult *r = NULL;
        if (pg_exec_bin(conn, &stmt_chunks_page, p, NULL, NULL, true, &r, err) < 0)
            return err_wrap(err, "read blob chunks");
        if (PQntuples(r) == 0)
            break;
        for (int i = 0; i < PQntuples(r); i++) {
            int64_t off = be64(PQgetvalue(r, i, 0));
            const unsigned char *d = (const unsigned char *)PQgetvalue(r, i, 1);
            int64_t len = PQgetlength(r, i, 1);
            if (off > at)
                return err_set_private(err, GRPC_STATUS_DATA_LOSS, NULL,
                                       "blob upload %s: a gap at byte %lld", upload_id,
                                       (long long)at);
            int64_t skip = at - off;
            if (fn(at, d + skip, (size_t)(len - skip), payload, err) < 0)
                return -1;
            at = off + len;
        }
    }
    if (at < size)
        return err_set_private(err, GRPC_STATUS_DATA_LOSS, NULL,
                               "blob upload %s: %lld of %lld bytes stored", upload_id,
                               (long long)at, (long long)size);
    return 0;
}

static int hash_piece(int64_t off, const unsigned char *data, size_t len, void *payload,
                      err_t **err)
{
    crypto_hash_sha256_update(payload, data, len);
    return 0;
}

static void hex(const unsigned char *h, char out[65])
{
    sodium_bin2hex(out, 65, h, crypto_hash_sha256_BYTES);
}

/* ------------------------------------------------------------------------
 * Uploads
 * ------------------------------------------------------------------------ */

/* Ends a fully received upload: its hash checked (a mismatch drops it:
 * DATA_LOSS once the caller commits), its chunks the blob's storage unless
 * the blob is stored already, the owner recorded. Inside a transaction. */
static int upload_finish(pg_conn_t *conn, const char *upload_id, const char *sha256,
                         int64_t size, const char *owner, bool *mismatch, err_t **err)
{
    *mismatch = false;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    if (chunks_each(conn, upload_id, 0, size, hash_piece, &st, err) < 0)
        return -1;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, h);
    char got[65];
    hex(h, got);
    const char *id[] = {upload_id};
    if (strcmp(got, sha256) != 0) {
        *mismatch = true;
        if (pg_exec(conn, &stmt_upload_delete, id, NULL, err) < 0)
            return -1;
        char msg[256];
        snprintf(msg, sizeof msg, "data: the data's SHA-256 is %s, not %s; the upload was discarded",
                 got, sha256);
        return err_set_private(err, GRPC_STATUS_DATA_LOSS, msg, "%s", msg);
    }
    char size_s[24];
    snprintf(size_s, sizeof size_s, "%lld", (long long)size);
    const char *ins[] = {sha256, size_s, upload_id};
    cleanup_pgresult PGresult *r = NULL;
    if (pg_exec(conn, &stmt_blob_insert, ins, &r, err) < 0)
        return err_wrap(err, "store blob");
    /* Stored already (another uploader's copy): this one is not needed, and
     * the stored one is in use again. */
    bool fresh = PQntuples(r) == 1;
    const pg_stmt_t *then = fresh ? &stmt_upload_complete : &stmt_upload_delete;
    const char *own[] = {sha256, owner};
    const char *sha[] = {sha256};
    if (pg_exec(conn, then, id, NULL, err) < 0 ||
        pg_exec(conn, &stmt_owner_add, own, NULL, err) < 0 ||
        (!fresh && pg_exec(conn, &stmt_touch, sha, NULL, err) < 0))
        return err_wrap(err, "store blob");
    LOG_INFO("blob stored", "sha256=%.16s size=%lld owner=%s copy=%s", sha256, (long long)size,
             owner[0] ? owner : "service", PQntuples(r) == 1 ? "new" : "deduplicated");
    return 0;
}

/* The size of the complete blob `sha256` when `owner` owns it, else -1. */
static int owned_size(pg_conn_t *conn, const char *sha256, const char *owner, int64_t *out,
                      err_t **err)
{
    const char *p[] = {sha256, owner};
    cleanup_pgresult PGresult *r = NULL;
    if (pg_exec(conn, &stmt_owned, p, &r, err) < 0)
        return -1;
    *out = PQntuples(r) == 1 ? pg_get_int64(r, 0, 0) : -1;
    return 0;
}

/* owned_size, and a blob found is in use again (stmt_owned_touch). */
static int owned_touch(pg_conn_t *conn, const char *sha256, const char *owner, int64_t *out,
                       err_t **err)
{
    const char *p[] = {sha256, owner};
    cleanup_pgresult PGresult *r = NULL;
    if (pg_exec(conn, &stmt_owned_touch, p, &r, err) < 0)
        return -1;
    *out = PQntuples(r) == 1 ? pg_get_int64(r, 0, 0) : -1;
    return 0;
}

/* The caller's upload in progress: *id "" when there is none. Locked
 * (stmt_upload_get) unless `peek`. */
static int upload_find(pg_conn_t *conn, const char *sha256, const char *owner, bool peek,
                       char id[24], int64_t *size, int64_t *received, err_t **err)
{
    const char *p[] = {sha256, owner};
    cleanup_pgresult PGresult *r = NULL;
    if (pg_exec(conn, peek ? &stmt_upload_peek : &stmt_upload_get, p, &r, err) < 0)
        return -1;
    id[0] = '\0';
    if (PQntuples(r) == 1) {
        snprintf(id, 24, "%s", pg_get(r, 0, 0));
        *size = pg_get_int64(r, 0, 1);
        *received = pg_get_int64(r, 0, 2);
    }
    return 0;
}

static int upload_get(pg_conn_t *conn, const char *sha256, const char *owner, char id[24],
                      int64_t *size, int64_t *received, err_t **err)
{
    return upload_find(conn, sha256, owner, false, id, size, received, err);
}

/* Appends `len` bytes at `offset` to the upload and, when they were the
 * last, finishes it. *status says where it stands after. */
static int upload_append(pg_conn_t *conn, const char *upload_id, const char *sha256,
                         const char *owner, int64_t size, int64_t offset, const void *data,
                         size_t len, Dojo__Content__V1__BlobStatus *status, bool *mismatch,
                         err_t **err)
{
    char off_s[24], len_s[24];
    snprintf(off_s, sizeof off_s, "%lld", (long long)offset);
    snprintf(len_s, sizeof len_s, "%zu", len);
    const char *p[] = {upload_id, off_s, data};
    const int lens[] = {0, 0, (int)len};
    const int fmts[] = {0, 0, 1};
    const char *adv[] = {upload_id, len_s};
    if (pg_exec_bin(conn, &stmt_chunk_put, p, lens, fmts, false, NULL, err) < 0 ||
        pg_exec(conn, &stmt_upload_advance, adv, NULL, err) < 0)
        return err_wrap(err, "store blob chunk");
    status->size = size;
    status->received = offset + (int64_t)len;
    if (status->received < size)
        return 0;
    if (upload_finish(conn, upload_id, sha256, size, owner, mismatch, err) < 0)
        return -1;
    status->complete = true;
    return 0;
}

int content_blob_put(pg_conn_t *conn, const char *owner_id, const void *data, size_t len,
                     char sha256_out[65], err_t **err)
{
    const char *owner = owner_id ? owner_id : "";
    if (len == 0 || (long long)len > CONTENT_MAX_BLOB_BYTES)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "data: a blob is 1 byte to %lld bytes (256 MiB), not %zu",
                       CONTENT_MAX_BLOB_BYTES, len);
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, len);
    hex(h, sha256_out);
    int64_t have = -1;
    if (owned_touch(conn, sha256_out, owner, &have, err) < 0)
        return -1;
    if (have >= 0)
        return 0;
    char id[24], size_s[24];
    int64_t size = 0, received = 0;
    snprintf(size_s, sizeof size_s, "%zu", len);
    const char *ins[] = {sha256_out, owner, size_s};
    /* Whatever upload of ours was in progress starts again. */
    if (upload_get(conn, sha256_out, owner, id, &size, &received, err) < 0)
        return -1;
    const char *del[] = {id};
    if ((id[0] && pg_exec(conn, &stmt_upload_delete, del, NULL, err) < 0) ||
        pg_exec(conn, &stmt_upload_new, ins, NULL, err) < 0 ||
        upload_get(conn, sha256_out, owner, id, &size, &received, err) < 0)
        return err_wrap(err, "store blob");
    Dojo__Content__V1__BlobStatus st = DOJO__CONTENT__V1__BLOB_STATUS__INIT;
    bool mismatch = false;
    for (size_t off = 0; off < len;) {
        size_t n = len - off > (size_t)CONTENT_MAX_BLOB_CHUNK_BYTES
                       ? (size_t)CONTENT_MAX_BLOB_CHUNK_BYTES
                       : len - off;
        if (upload_append(conn, id, sha256_out, owner, (int64_t)len, (int64_t)off,
                          (const char *)data + off, n, &st, &mismatch, err) < 0)
            return -1;
        off += n;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * RPCs
 * ------------------------------------------------------------------------ */

static const char *caller_owner(const identity_t *id)
{
    return id->kind == IDENTITY_USER ? id->claims.sub : "";
}

static int check_sha(const char *sha256, err_t **err)
{
    if (!task_is_sha256(sha256))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "sha256: must be 64 lower-case hex digits");
    return 0;
}

int content_rpc_put_blob_chunk(rpc_call_t *call, const ProtobufCMessage *req_msg,
                               ProtobufCMessage **out, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    const Dojo__Content__V1__PutBlobChunkRequest *req = (const void *)req_msg;
    identity_t id;
    if (content_require_author(c, call, &id, err) < 0 || check_sha(req->sha256, err) < 0)
        return -1;
    if (req->total_size <= 0 || req->total_size > CONTENT_MAX_BLOB_BYTES)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "total_size: a blob is 1 byte to %lld bytes (256 MiB), not %lld",
                       CONTENT_MAX_BLOB_BYTES, (long long)req->total_size);
    if (req->data.len == 0 || req->data.len > CONTENT_MAX_BLOB_CHUNK_BYTES)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "data: a chunk is 1 byte to %d bytes (4 MiB)", CONTENT_MAX_BLOB_CHUNK_BYTES);
    if (req->offset < 0 || req->offset + (int64_t)req->data.len > req->total_size)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "offset: bytes %lld-%lld are past the blob's %lld bytes",
                       (long long)req->offset, (long long)(req->offset + (int64_t)req->data.len - 1),
                       (long long)req->total_size);
    const char *owner = caller_owner(&id);
    Dojo__Content__V1__BlobStatus *st =
        RPC_NEW(call, Dojo__Content__V1__BlobStatus, DOJO__CONTENT__V1__BLOB_STATUS__INIT);
    st->sha256 = rpc_strdup(call, req->sha256);
    *out = &st->base;

    cleanup_pgconn pg_conn_t *conn = NULL;
    int64_t have = -1;
    if (content_conn(c, &conn, err) < 0 || owned_touch(conn, req->sha256, owner, &have, err) < 0)
        return -1;
    if (have >= 0) {
        st->size = st->received = have;
        st->complete = true;
        return 0;
    }
    char uid[24];
    int64_t size = 0, received = 0;
    char size_s[24];
    snprintf(size_s, sizeof size_s, "%lld", (long long)req->total_size);
    const char *ins[] = {req->sha256, owner, size_s};
    if (pg_begin(conn, err) < 0 || upload_get(conn, req->sha256, owner, uid, &size, &received, err) < 0)
        return -1;
    if (uid[0] == '\0') {
        if (req->offset != 0)
            return err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                           "offset: the upload starts at byte 0 (received 0), not %lld",
                           (long long)req->offset);
        if (pg_exec(conn, &stmt_uploads_stale, NULL, NULL, err) < 0 ||
            pg_exec(conn, &stmt_upload_new, ins, NULL, err) < 0 ||
            upload_get(conn, req->sha256, owner, uid, &size, &received, err) < 0)
            return err_wrap(err, "start blob upload");
        if (uid[0] == '\0')
            return err_set(err, GRPC_STATUS_ABORTED, "sha256: another upload of it just started");
    }
    if (size != req->total_size)
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                       "total_size: the upload in progress is of %lld bytes, not %lld "
                       "(received %lld)",
                       (long long)size, (long long)req->total_size, (long long)received);
    if (req->offset != received)
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                       "offset: the upload continues at byte %lld (received %lld), not %lld",
                       (long long)received, (long long)received, (long long)req->offset);
    bool mismatch = false;
    int rc = upload_append(conn, uid, req->sha256, owner, size, req->offset, req->data.data,
                           req->data.len, st, &mismatch, err);
    if (rc < 0 && !mismatch)
        return -1;
    /* A mismatch commits the upload's removal, then reports it. */
    cleanup_err err_t *cerr = NULL;
    if (pg_commit(conn, mismatch ? &cerr : err) < 0 && !mismatch)
        return -1;
    return rc;
}

int content_rpc_get_blob_status(rpc_call_t *call, const ProtobufCMessage *req_msg,
                                ProtobufCMessage **out, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    const Dojo__Content__V1__GetBlobStatusRequest *req = (const void *)req_msg;
    identity_t id;
    if (content_require_author(c, call, &id, err) < 0 || check_sha(req->sha256, err) < 0)
        return -1;
    const char *owner = caller_owner(&id);
    cleanup_pgconn pg_conn_t *conn = NULL;
    int64_t have = -1;
    if (content_conn(c, &conn, err) < 0 || owned_size(conn, req->sha256, owner, &have, err) < 0)
        return -1;
    Dojo__Content__V1__BlobStatus *st =
        RPC_NEW(call, Dojo__Content__V1__BlobStatus, DOJO__CONTENT__V1__BLOB_STATUS__INIT);
    st->sha256 = rpc_strdup(call, req->sha256);
    if (have >= 0) {
        st->size = st->received = have;
        st->complete = true;
    } else {
        /* A read: no transaction, no lock (a chunk being written would hold
         * the answer until it is stored). */
        char uid[24];
        if (upload_find(conn, req->sha256, owner, true, uid, &st->size, &st->received, err) < 0)
            return -1;
        if (uid[0] == '\0')
            return err_set(err, GRPC_STATUS_NOT_FOUND, "sha256: no blob %.16s… of yours",
                           req->sha256);
    }
    *out = &st->base;
    return 0;
}

typedef struct read_state {
    rpc_call_t *call;
    int64_t total;
} read_state_t;

static int send_piece(int64_t off, const unsigned char *data, size_t len, void *payload,
                      err_t **err)
{
    read_state_t *rs = payload;
    for (size_t k = 0; k < len;) {
        size_t n = len - k > READ_PIECE ? READ_PIECE : len - k;
        Dojo__Content__V1__BlobChunk ch = DOJO__CONTENT__V1__BLOB_CHUNK__INIT;
        ch.offset = off + (int64_t)k;
        ch.data.data = (uint8_t *)data + k;
        ch.data.len = n;
        ch.total_size = rs->total;
        if (rpc_stream_send(rs->call, &ch.base, err) < 0)
            return -1;
        k += n;
    }
    return 0;
}

int content_rpc_read_blob(rpc_call_t *call, const ProtobufCMessage *req_msg, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    const Dojo__Content__V1__ReadBlobRequest *req = (const void *)req_msg;
    identity_t id;
    if (identity_of_call(c->idv, call, &id, err) < 0)
        return -1;
    if (id.kind == IDENTITY_ANONYMOUS)
        return err_set(err, GRPC_STATUS_UNAUTHENTICATED,
                       "blob data is for Dojo services: send the service key");
    if (id.kind != IDENTITY_SERVICE) {
        LOG_WARN("blob data refused to a user", "role=%s", id.claims.role);
        return err_set(err, GRPC_STATUS_PERMISSION_DENIED,
                       "blob data is for Dojo services only, not user tokens");
    }
    if (check_sha(req->sha256, err) < 0)
        return -1;
    cleanup_pgconn pg_conn_t *conn = NULL;
    read_state_t rs = {.call = call};
    if (content_conn(c, &conn, err) < 0)
        return -1;
    return content_blob_read(conn, req->sha256, req->offset, &rs.total, send_piece, &rs, err);
}

int content_blob_read(pg_conn_t *conn, const char *sha256, int64_t offset, int64_t *size,
                      content_blob_piece_fn fn, void *payload, err_t **err)
{
    const char *p[] = {sha256};
    cleanup_pgresult PGresult *r = NULL;
    if (pg_exec(conn, &stmt_blob_get, p, &r, err) < 0)
        return -1;
    if (PQntuples(r) != 1)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "sha256: no complete blob %.16s…", sha256);
    int64_t total = *size = pg_get_int64(r, 0, 0);
    if (offset < 0 || offset > total)
        return err_set(err, GRPC_STATUS_OUT_OF_RANGE, "offset: the blob has %lld bytes",
                       (long long)total);
    return chunks_each(conn, pg_get(r, 0, 1), offset, total, fn, payload, err);
}

static int write_piece(int64_t off, const unsigned char *data, size_t len, void *payload,
                       err_t **err)
{
    int fd = *(int *)payload;
    for (size_t k = 0; k < len;) {
        ssize_t n = write(fd, data + k, len - k);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return err_errno(err, n < 0 ? errno : EIO, "write blob to a file");
        k += (size_t)n;
    }
    return 0;
}

int content_blob_copy(pg_conn_t *conn, const char *sha256, int fd, int64_t *size, err_t **err)
{
    return content_blob_read(conn, sha256, 0, size, write_piece, &fd, err);
}

int content_blob_to_file(pg_conn_t *conn, const char *sha256, const char *owner, int fd,
                         int64_t *size, err_t **err)
{
    int64_t have = -1;
    if (owned_size(conn, sha256, owner ? owner : "", &have, err) < 0)
        return -1;
    if (have < 0)
        return err_set(err, GRPC_STATUS_NOT_FOUND,
                       "zip_sha256: no complete blob %.16s… of yours (upload it first: PUT "
                       "/api/v1/author/blobs/{sha256})",
                       sha256);
    return content_blob_read(conn, sha256, 0, size, write_piece, &fd, err);
}

/* ------------------------------------------------------------------------
 * A task's references
 * ------------------------------------------------------------------------ */

/* Whether `sha` is referenced by a test of `norm` (NULL: no). */
static bool task_references(json_t *norm, const char *sha)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(norm, "tests"), i, t)
    {
        const char *a = json_string_value(json_object_get(t, "input_sha256"));
        const char *b = json_string_value(json_object_get(t, "expected_sha256"));
        if ((a && !strcmp(a, sha)) || (b && !strcmp(b, sha)))
            return true;
    }
    return false;
}

int content_blobs_check(pg_conn_t *conn, json_t *norm, const char *owner, json_t *current,
                        content_report_t *rep, err_t **err)
{
    /* The distinct hashes, as a text[] literal (hex digits need no quoting). */
    cleanup_json json_t *seen = json_object();
    cleanup_free char *arr = NULL;
    size_t arr_len = 0;
    FILE *f = open_memstream(&arr, &arr_len);
    fputc('{', f);
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(norm, "tests"), i, t)
    {
        const char *keys[] = {"input_sha256", "expected_sha256"};
        for (int k = 0; k < 2; k++) {
            const char *h = json_string_value(json_object_get(t, keys[k]));
            if (h && !json_object_get(seen, h)) {
                fprintf(f, "%s%s", json_object_size(seen) ? "," : "", h);
                json_object_set_new(seen, h, json_false());
            }
        }
    }
    fputc('}', f);
    fclose(f);
    if (json_object_size(seen) == 0)
        return 0;
    const char *p[] = {arr, owner ? owner : ""};
    cleanup_pgresult PGresult *r = NULL;
    if (pg_exec(conn, &stmt_blobs_of, p, &r, err) < 0)
        return err_wrap(err, "check the task's blobs");
    int64_t total = 0;
    for (int row = 0; row < PQntuples(r); row++) {
        const char *h = pg_get(r, row, 0);
        bool usable = !owner || pg_get_bool(r, row, 2) || task_references(current, h);
        if (usable)
            json_object_set_new(seen, h, json_true());
        total += pg_get_int64(r, row, 1);
    }
    json_array_foreach(json_object_get(norm, "tests"), i, t)
    {
        const char *keys[] = {"input_sha256", "expected_sha256"};
        for (int k = 0; k < 2; k++) {
            const char *h = json_string_value(json_object_get(t, keys[k]));
            if (!h || json_is_true(json_object_get(seen, h)))
                continue;
            char path[CHECK_PATH_MAX];
            snprintf(path, sizeof path, "$.tests[%zu].%s", i, keys[k]);
            content_report_error(rep, path,
                                 "no %s %.16s… (upload it first: PUT "
                                 "/api/v1/author/blobs/{sha256})",
                                 owner ? "blob of yours" : "complete blob", h);
        }
    }
    if (total > CONTENT_MAX_TASK_BLOB_BYTES)
        content_report_error(rep, "$.tests",
                             "the tests' blobs hold %lld bytes; a task's are at most %lld "
                             "(1 GiB)",
                             (long long)total, CONTENT_MAX_TASK_BLOB_BYTES);
    return 0;
}
