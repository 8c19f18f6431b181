/* feed.c — long-lived streamed responses (the CLICS event feed) without a
 * libmicrohttpd thread per client.
 *
 * A stream is a response from a content reader: it hands libmicrohttpd
 * what is pending and, when nothing is, suspends the connection. One hub
 * thread polls every stream's source on its cadence (outside any lock:
 * polls are gRPC calls), appends what they produce or a keep-alive newline,
 * and resumes the connections that have something to send. A stream ends
 * at its deadline, when its source fails or says it is done, and at
 * shutdown (gw_feed_shutdown resumes every suspended connection first, as
 * libmicrohttpd must have them before it stops).
 *
 * Locking: the hub lock guards the streams' buffers and flags. The reader
 * (a libmicrohttpd thread) suspends under it, so the hub, which resumes
 * only what it saw suspended under the same lock, never resumes a
 * connection that is not. libmicrohttpd's free callback only sets `gone`
 * (atomic): the hub alone frees a stream, after that. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"

/* The hub's longest sleep: a stream's keep-alive and deadline are checked
 * at least this often. */
#define HUB_TICK_MS 200

typedef struct gw_feed {
    struct gw_feed *next;
    struct MHD_Connection *conn;
    char *out; /* pending bytes out[off, len) */
    size_t off, len, cap;
    bool suspended;
    bool ended; /* nothing more: the reader ends the response when drained */
    atomic_bool gone; /* libmicrohttpd is done with it */
    int64_t next_poll_ms, next_keepalive_ms, until_ms;
    int poll_ms;
    char req_id[24];
    gw_feed_source_t src;
} gw_feed_t;

struct gw_feeds {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool running, stopping;
    gw_feed_t *list;
    int count;
    int keepalive_ms, max_streams;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends to the pending bytes (hub lock held). */
static void feed_put(gw_feed_t *f, const char *p, size_t n)
{
    if (f->off > 0 && f->off == f->len)
        f->off = f->len = 0;
    if (f->len + n > f->cap) {
        size_t cap = f->cap ? f->cap : 4096;
        while (cap < f->len + n)
            cap *= 2;
        f->out = realloc(f->out, cap);
        if (f->out == NULL)
            abort();
        f->cap = cap;
    }
    memcpy(f->out + f->len, p, n);
    f->len += n;
}

static void feed_free(gw_feed_t *f)
{
    if (f->src.free)
        f->src.free(f->src.payload);
    free(f->out);
    free(f);
}

/* ------------------------------------------------------------------------
 * libmicrohttpd's side
 * ------------------------------------------------------------------------ */

static ssize_t feed_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    gw_feed_t *f = cls;
    gw_feeds_t *h = f->src.gw->feeds;
    pthread_mutex_lock(&h->lock);
    if (f->len > f->off) {
        size_t n = f->len - f->off < max ? f->len - f->off : max;
        memcpy(buf, f->out + f->off, n);
        f->off += n;
        pthread_mutex_unlock(&h->lock);
        return (ssize_t)n;
    }
    if (f->ended) {
        pthread_mutex_unlock(&h->lock);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    f->suspended = true;
    MHD_suspend_connection(f->conn);
    pthread_mutex_unlock(&h->lock);
    return 0;
}

static void feed_done(void *cls)
{
    gw_feed_t *f = cls;
    gw_feeds_t *h = f->src.gw->feeds;
    atomic_store(&f->gone, true);
    pthread_mutex_lock(&h->lock);
    pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->lock);
}

/* ------------------------------------------------------------------------
 * The hub
 * ------------------------------------------------------------------------ */

/* Polls the streams that are due, outside the lock: they stay in the list
 * (only the hub removes them) and their sources are theirs alone. */
static void hub_poll(gw_feeds_t *h, int64_t now)
{
    gw_feed_t *due[64];
    size_t n = 0;
    pthread_mutex_lock(&h->lock);
    for (gw_feed_t *f = h->list; f && n < 64; f = f->next)
        if (!atomic_load(&f->gone) && !f->ended && now >= f->next_poll_ms)
            due[n++] = f;
    pthread_mutex_unlock(&h->lock);
    for (size_t i = 0; i < n; i++) {
        gw_feed_t *f = due[i];
        char *text = NULL;
        size_t len = 0;
        cleanup_err err_t *e = NULL;
        int rc = f->src.poll(f->src.payload, &text, &len, &e);
        pthread_mutex_lock(&h->lock);
        if (len)
            feed_put(f, text, len);
        if (rc != 0) {
            f->ended = true;
            if (rc < 0)
                LOG_INFO("stream ended by its source", "req_id=%s error=\"%s\"", f->req_id,
                         log_esc(e ? e->msg : ""));
        }
        if (len)
            f->next_keepalive_ms = now + h->keepalive_ms;
        f->next_poll_ms = now_ms() + f->poll_ms;
        pthread_mutex_unlock(&h->lock);
        free(text);
    }
}

/* Keep-alives, deadlines; then resumes what has something to say and frees
 * what libmicrohttpd is done with. */
static void hub_tend(gw_feeds_t *h, int64_t now)
{
    struct MHD_Connection *resume[256];
    size_t nr = 0;
    gw_feed_t *dead = NULL;
    pthread_mutex_lock(&h->lock);
    for (gw_feed_t **pp = &h->list; *pp;) {
        gw_feed_t *f = *pp;
        if (atomic_load(&f->gone)) {
            *pp = f->next;
            f->next = dead;
            dead = f;
            h->count--;
            continue;
        }
        if (!f->ended && (h->stopping || now >= f->until_ms))
            f->ended = true;
        if (!f->ended && now >= f->next_keepalive_ms) {
            feed_put(f, "\n", 1);
            f->next_keepalive_ms = now + h->keepalive_ms;
        }
        if (f->suspended && (f->len > f->off || f->ended) && nr < 256) {
            f->suspended = false;
            resume[nr++] = f->conn;
        }
        pp = &f->next;
    }
    pthread_mutex_unlock(&h->lock);
    /* Still suspended until resumed: libmicrohttpd cannot free them meanwhile. */
    for (size_t i = 0; i < nr; i++)
        MHD_resume_connection(resume[i]);
    while (dead) {
        gw_feed_t *next = dead->next;
        feed_free(dead);
        dead = next;
    }
}

static void *hub_main(void *arg)
{
    gw_feeds_t *h = arg;
    log_set_context("feed", NULL, NULL);
    for (;;) {
        pthread_mutex_lock(&h->lock);
        bool stop = h->stopping && h->list == NULL;
        if (!stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += HUB_TICK_MS * 1000000L;
            ts.tv_sec += ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&h->wake, &h->lock, &ts);
        }
        pthread_mutex_unlock(&h->lock);
        if (stop)
            return NULL;
        int64_t now = now_ms();
        hub_poll(h, now);
        hub_tend(h, now_ms());
    }
}

/* ------------------------------------------------------------------------
 * The door
 * ------------------------------------------------------------------------ */

int gw_feeds_open(gw_t *gw, err_t **err)
{
    gw_feeds_t *h = calloc(1, sizeof *h);
    if (h == NULL)
        abort();
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->wake, NULL);
    h->keepalive_ms = (int)gw->cfg.feed_keepalive_ms;
    h->max_streams = (int)gw->cfg.feed_max_streams;
    int rc = pthread_create(&h->thread, NULL, hub_main, h);
    if (rc != 0) {
        free(h);
        return err_errno(err, rc, "start the feed hub");
    }
    h->running = true;
    gw->feeds = h;
    return 0;
}

void gw_feeds_shutdown(gw_t *gw)
{
    gw_feeds_t *h = gw->feeds;
    if (h == NULL)
        return;
    pthread_mutex_lock(&h->lock);
    h->stopping = true;
    pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->lock);
    /* Every stream ends and is resumed at the hub's next tick; wait (a
     * bounded while) until libmicrohttpd has sent their last bytes. */
    for (int i = 0; i < 50; i++) {
        pthread_mutex_lock(&h->lock);
        int left = h->count;
        pthread_mutex_unlock(&h->lock);
        if (left == 0)
            break;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

void gw_feeds_close(gw_t *gw)
{
    gw_feeds_t *h = gw->feeds;
    if (h == NULL)
        return;
    gw_feeds_shutdown(gw);
    pthread_mutex_lock(&h->lock);
    /* Streams libmicrohttpd never let go of (it is stopped by now). */
    gw_feed_t *rest = h->list;
    h->list = NULL;
    pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->lock);
    if (h->running)
        pthread_join(h->thread, NULL);
    while (rest) {
        gw_feed_t *next = rest->next;
        feed_free(rest);
        rest = next;
    }
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->lock);
    free(h);
    gw->feeds = NULL;
}

int gw_feed_start(gw_req_t *r, const char *first, size_t len, const gw_feed_source_t *src,
                  int64_t max_ms, err_t **err)
{
    gw_feeds_t *h = r->gw->feeds;
    if (h == NULL)
        return err_set(err, GRPC_STATUS_UNAVAILABLE, "streams are not available");
    gw_feed_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        abort();
    f->conn = r->conn;
    f->src = *src;
    f->poll_ms = src->poll_ms > 0 ? src->poll_ms : 1000;
    snprintf(f->req_id, sizeof f->req_id, "%s", r->req_id);
    int64_t now = now_ms();
    f->next_poll_ms = now + f->poll_ms;
    f->next_keepalive_ms = now + h->keepalive_ms;
    f->until_ms = now + max_ms;
    if (len)
        feed_put(f, first, len);
    pthread_mutex_lock(&h->lock);
    if (h->stopping || h->count >= h->max_streams) {
        pthread_mutex_unlock(&h->lock);
        f->src.free = NULL; /* the payload stays the caller's */
        feed_free(f);
        return err_set(err, GRPC_STATUS_UNAVAILABLE,
                       "too many open event feeds: try again, or read with stream=false");
    }
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, feed_read, f, feed_done);
    if (resp == NULL) {
        pthread_mutex_unlock(&h->lock);
        f->src.free = NULL;
        feed_free(f);
        return err_set(err, GRPC_STATUS_INTERNAL, "create a streamed response");
    }
    f->next = h->list;
    h->list = f;
    h->count++;
    pthread_mutex_unlock(&h->lock);
    r->stream = resp;
    return 0;
}
