/* blobs.c — test data blobs on disk, by SHA-256: fetched from content with
 * ReadBlob (a server stream of 1 MiB chunks written to a file as they come,
 * the hash checked before the file takes its name), kept in one folder, and
 * evicted least recently used first when the folder holds more than its
 * bound. A blob in use by a job (referenced) is never evicted; two jobs
 * needing the same blob wait for one fetch. Files are 0444 and never
 * change: a sandbox gets a hard link of one (sandbox.c), which outlives an
 * eviction. What the folder held at the start is kept (names checked, sizes
 * counted, oldest first to go); half-written files are removed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "executor.h"
#include "libcommon/cleanup.h"
#include "libcommon/fs.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"
#include "libcommon/metrics.h"

typedef struct blob_entry {
    char sha256[65];
    int64_t size;
    int refs;
    int64_t used_ms;
    bool ready;   /* on disk under its name */
    bool failed;  /* the fetch failed: waiters give up, the entry goes */
    struct blob_entry *next;
} blob_entry_t;

struct exec_blob_cache {
    pthread_mutex_t lock;
    pthread_cond_t fetched;
    char dir[4096];
    int64_t capacity, bytes;
    blob_entry_t *head;
    int count;
};

static bool is_sha256(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (int k = 0; k < 64; k++)
        if (!((s[k] >= '0' && s[k] <= '9') || (s[k] >= 'a' && s[k] <= 'f')))
            return false;
    return true;
}

static blob_entry_t *entry_add(exec_blob_cache_t *c, const char *sha256)
{
    blob_entry_t *e = xcalloc(1, sizeof *e);
    memcpy(e->sha256, sha256, 65);
    e->next = c->head;
    c->head = e;
    c->count++;
    return e;
}

int exec_blobs_open(exec_blob_cache_t **out, const char *dir, int64_t capacity, err_t **err)
{
    if (fs_mkdir_p(dir, 0700, 0700) < 0)
        return err_errno(err, errno, "create the blob cache %s", dir);
    exec_blob_cache_t *c = xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->fetched, NULL);
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    c->capacity = capacity;
    DIR *d = opendir(dir);
    struct dirent *de;
    int kept = 0, removed = 0;
    /* Bounded by the folder's entries. */
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' && (de->d_name[1] == '\0' || !strcmp(de->d_name, "..")))
            continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat st;
        if (is_sha256(de->d_name) && lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            blob_entry_t *e = entry_add(c, de->d_name);
            e->size = st.st_size;
            e->ready = true;
            e->used_ms = (int64_t)st.st_mtime - (INT64_C(1) << 40); /* before any use, by age */
            c->bytes += st.st_size;
            kept++;
        } else if (unlink(path) == 0) {
            removed++;
        }
    }
    if (d)
        closedir(d);
    LOG_INFO("blob cache opened", "dir=%s blobs=%d bytes=%lld removed=%d capacity=%lld", dir, kept,
             (long long)c->bytes, removed, (long long)capacity);
    *out = c;
    return 0;
}

void exec_blobs_close(exec_blob_cache_t *c)
{
    if (!c)
        return;
    for (blob_entry_t *e = c->head, *n; e; e = n) {
        n = e->next;
        free(e);
    }
    pthread_cond_destroy(&c->fetched);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* Removes least recently used unreferenced blobs while over capacity. */
static void blobs_trim(exec_blob_cache_t *c)
{
    while (c->bytes > c->capacity) {
        blob_entry_t **victim = NULL;
        for (blob_entry_t **pp = &c->head; *pp; pp = &(*pp)->next)
            if ((*pp)->refs == 0 && (*pp)->ready &&
                (!victim || (*pp)->used_ms < (*victim)->used_ms))
                victim = pp;
        if (!victim)
            return; /* every blob is in use: over the bound until they are not */
        blob_entry_t *e = *victim;
        *victim = e->next;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", c->dir, e->sha256);
        unlink(path);
        c->bytes -= e->size;
        c->count--;
        metrics_counter_add("dojo_executor_blob_cache_evictions_total", "", 1);
        LOG_DEBUG("blob evicted", "sha256=%.16s size=%lld", e->sha256, (long long)e->size);
        free(e);
    }
}

static void entry_unlink(exec_blob_cache_t *c, blob_entry_t *gone)
{
    for (blob_entry_t **pp = &c->head; *pp; pp = &(*pp)->next)
        if (*pp == gone) {
            *pp = gone->next;
            c->count--;
            return;
        }
}

/* ------------------------------------------------------------------------
 * Fetching
 * ------------------------------------------------------------------------ */

typedef struct fetch {
    int fd;
    int64_t at, total;
    crypto_hash_sha256_state hash;
    err_t *err;
} fetch_t;

static int fetch_chunk(const ProtobufCMessage *msg, void *payload)
{
    fetch_t *f = payload;
    const Dojo__Content__V1__BlobChunk *ch = (const void *)msg;
    if (ch->offset != f->at || ch->total_size <= 0 ||
        f->at + (int64_t)ch->data.len > ch->total_size) {
        err_set(&f->err, GRPC_STATUS_DATA_LOSS, "blob stream out of order at byte %lld",
                (long long)f->at);
        return 1;
    }
    f->total = ch->total_size;
    for (size_t off = 0; off < ch->data.len;) {
        ssize_t n = write(f->fd, ch->data.data + off, ch->data.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err_errno(&f->err, errno ? errno : EIO, "write blob");
            return 1;
        }
        off += (size_t)n;
    }
    crypto_hash_sha256_update(&f->hash, ch->data.data, ch->data.len);
    f->at += (int64_t)ch->data.len;
    return 0;
}

/* ReadBlob into <dir>/.part-<sha>-<pid>-<n>, checked, then renamed. */
static int blob_fetch(exec_t *ex, const char *sha256, int64_t *size, err_t **err)
{
    exec_blob_cache_t *c = ex->blobs;
    static atomic_int seq;
    char part[4300], path[4200];
    snprintf(part, sizeof part, "%s/.part-%s-%d-%d", c->dir, sha256, (int)getpid(),
             atomic_fetch_add(&seq, 1));
    snprintf(path, sizeof path, "%s/%s", c->dir, sha256);
    fetch_t f = {.fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
    if (f.fd < 0)
        return err_errno(err, errno, "create %s", part);
    crypto_hash_sha256_init(&f.hash);
    Dojo__Content__V1__ReadBlobRequest req = DOJO__CONTENT__V1__READ_BLOB_REQUEST__INIT;
    req.sha256 = (char *)sha256;
    /* 256 MiB at loopback speed takes seconds; a stalled content ends it. */
    rpc_call_opts_t opts = {.timeout_ms = 600000, .metadata = identity_service_metadata(ex->ids)};
    int rc = rpc_client_stream(ex->content, &dojo__content__v1__content__descriptor, "ReadBlob",
                               &req.base, &opts, fetch_chunk, &f, err);
    close(f.fd);
    if (rc == 0 && f.err) {
        *err = f.err;
        f.err = NULL;
        rc = -1;
    }
    unsigned char h[crypto_hash_sha256_BYTES];
    char got[65];
    crypto_hash_sha256_final(&f.hash, h);
    sodium_bin2hex(got, sizeof got, h, sizeof h);
    if (rc == 0 && (f.at != f.total || f.total == 0 || strcmp(got, sha256) != 0))
        rc = err_set(err, GRPC_STATUS_DATA_LOSS, "blob %.16s: got %lld of %lld bytes hashing %.16s",
                     sha256, (long long)f.at, (long long)f.total, got);
    if (rc == 0 && (chmod(part, 0444) < 0 || rename(part, path) < 0))
        rc = err_errno(err, errno, "store blob %.16s", sha256);
    if (rc < 0) {
        unlink(part);
        return err_wrap(err, "fetch blob %.16s", sha256);
    }
    *size = f.total;
    return 0;
}

int exec_blob_get(exec_t *ex, const char *sha256, bool fetch, char *path, size_t cap,
                  err_t **err)
{
    exec_blob_cache_t *c = ex->blobs;
    if (!is_sha256(sha256))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "bad blob name");
    snprintf(path, cap, "%s/%s", c->dir, sha256);
    pthread_mutex_lock(&c->lock);
    blob_entry_t *e = NULL;
    for (blob_entry_t *x = c->head; x; x = x->next)
        if (!strcmp(x->sha256, sha256)) {
            e = x;
            break;
        }
    if (e) {
        e->refs++;
        /* Another job fetches it: wait for that fetch (bounded by its deadline). */
        while (!e->ready && !e->failed)
            pthread_cond_wait(&c->fetched, &c->lock);
        bool ok = e->ready;
        if (ok)
            e->used_ms = mono_ms();
        else if (--e->refs == 0) {
            entry_unlink(c, e);
            free(e);
        }
        pthread_mutex_unlock(&c->lock);
        metrics_counter_add("dojo_executor_blob_cache_total", "result=\"hit\"", 1);
        if (!ok)
            return err_set(err, GRPC_STATUS_UNAVAILABLE, "blob %.16s: its fetch failed", sha256);
        return 0;
    }
    if (!fetch) {
        pthread_mutex_unlock(&c->lock);
        return 1;
    }
    e = entry_add(c, sha256);
    e->refs = 1;
    pthread_mutex_unlock(&c->lock);
    metrics_counter_add("dojo_executor_blob_cache_total", "result=\"miss\"", 1);

    int64_t size = 0;
    int rc = blob_fetch(ex, sha256, &size, err);
    pthread_mutex_lock(&c->lock);
    if (rc == 0) {
        e->ready = true;
        e->size = size;
        e->used_ms = mono_ms();
        c->bytes += size;
        metrics_counter_add("dojo_executor_blob_fetched_bytes_total", "", size);
        blobs_trim(c);
    } else {
        e->failed = true;
        if (--e->refs == 0) {
            entry_unlink(c, e);
            free(e);
        }
    }
    pthread_cond_broadcast(&c->fetched);
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void exec_blob_release(exec_t *ex, const char *sha256)
{
    exec_blob_cache_t *c = ex->blobs;
    pthread_mutex_lock(&c->lock);
    for (blob_entry_t *e = c->head; e; e = e->next)
        if (!strcmp(e->sha256, sha256)) {
            if (e->refs > 0)
                e->refs--;
            break;
        }
    blobs_trim(c);
    pthread_mutex_unlock(&c->lock);
}

void exec_blobs_stats(exec_blob_cache_t *c, int *count, int64_t *bytes)
{
    pthread_mutex_lock(&c->lock);
    *count = c->count;
    *bytes = c->bytes;
    pthread_mutex_unlock(&c->lock);
}
