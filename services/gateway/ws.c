/* ws.c — the WebSocket at /api/v1/ws: connections that cost a socket.
 *
 * A fixed set of threads serves every WebSocket, however many there are:
 *   the loop     one epoll loop owns the sockets once libmicrohttpd hands
 *                them over: it reads and decodes frames (wsframe.c), answers
 *                pings, flushes what could not be sent at once, pings quiet
 *                clients and closes dead ones;
 *   the workers  WS_WORKERS threads run client messages (subscribe, stdin,
 *                cancel …: short gRPC and Redis calls) in order per
 *                connection, one connection on one worker at a time;
 *   the relay    wsevents.c: one reader multiplexing XREAD over every
 *                subscribed submission's event stream.
 * A connection holds its socket and a few hundred bytes; its input buffer
 * exists only while a frame is half-read, its output queue only while the
 * socket is full. Any thread sends (gw_ws_send_*): straight to the socket
 * when nothing is queued, else behind the queue, which the loop flushes on
 * EPOLLOUT. A client that lets WS_MAX_BACKLOG pile up is closed.
 *
 * Timers are lists, not wake-ups: connections sit in `active` in the order
 * they last sent anything, in `pinged` once pinged, in `closing` once a
 * close went out; the loop looks at the heads at most once a second.
 *
 * Topics (gw_ws_join / gw_ws_publish) carry broadcasts: a message published
 * on a topic is framed once and queued, shared, on every connection joined.
 *
 * MHD calls on_upgrade only once the 101 reached the socket; a connection
 * that fails before that (the client reset it, say) never calls back. So the
 * connection's state and its DOJO_GATEWAY_WS_MAX slot are taken there, never
 * at the handshake. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/sha.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway.h"
#include "libcommon/cleanup.h"
#include "libcommon/clock.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"
#include "services/gateway/wsframe.h"

#define WS_MAX_MSG (64 * 1024)
#define WS_PING_MS 30000
#define WS_IDLE_MS 120000
#define WS_CLOSE_WAIT_MS 1000
#define WS_TICK_MS 1000
#define WS_WORKERS 4
#define WS_MAX_INBOX 64
#define WS_MAX_BACKLOG (4 << 20)
#define WS_TOPIC_BUCKETS 256

/* ------------------------------------------------------------------------
 * Types
 * ------------------------------------------------------------------------ */

/* A framed message, shared by every connection it is queued on. */
typedef struct gw_ws_frame {
    atomic_int refs;
    size_t len;
    uint8_t data[];
} ws_buf_t;

typedef struct ws_out {
    struct ws_out *next;
    ws_buf_t *buf;
} ws_out_t;

typedef struct ws_text {
    struct ws_text *next;
    size_t len;
    char text[];
} ws_text_t;

typedef enum { LIST_NONE, LIST_ACTIVE, LIST_PINGED, LIST_CLOSING } ws_list_id_t;

typedef struct ws_list {
    gw_ws_conn_t *head, *tail;
} ws_list_t;

struct gw_ws_conn {
    gw_ws_t *hub;
    atomic_int refs;
    int sock;
    struct MHD_UpgradeResponseHandle *urh;
    token_claims_t claims;
    bool anonymous; /* signed out: may only ping and watch public scoreboards */
    char req_id[24];

    /* The loop's alone. */
    gw_ws_conn_t *prev, *next; /* in list `list` */
    ws_list_id_t list;
    int64_t last_rx_ms;
    int64_t close_deadline_ms;
    uint8_t *in; /* a partial frame */
    size_t in_len, in_cap;
    ws_decoder_t dec;
    gw_ws_conn_t *next_new;

    pthread_mutex_t lock; /* what follows */
    bool closed;          /* the socket is given back: nothing touches it */
    bool close_queued;    /* a close frame is queued: nothing goes after it */
    bool broken;          /* sending failed or overflowed: the loop ends it */
    bool pollout;         /* EPOLLOUT armed */
    ws_out_t *out_head, *out_tail;
    size_t out_off, out_bytes;
    ws_text_t *inbox, **inbox_tail;
    int ninbox;
    bool scheduled; /* on the work queue or with a worker */
    gw_ws_conn_t *work_next;

    /* The topics it joined (hub->topics_lock). */
    char *topics[GW_WS_MAX_TOPICS];
    /* The board topic it watches, "" for none (boards.c, on its worker). */
    char board[GW_BOARD_TOPIC_MAX];

    /* wsevents.c's (under its own lock). */
    gw_ws_subs_t *subs;
};

typedef struct ws_topic {
    struct ws_topic *next;
    char *name;
    gw_ws_conn_t **conns;
    size_t n, cap;
} ws_topic_t;

struct gw_ws {
    gw_t *gw;
    int epfd;
    int wakefd;
    pthread_t loop;
    bool loop_started;
    pthread_t workers[WS_WORKERS];
    int nworkers;

    pthread_mutex_t lock; /* incoming, the work queue, stop */
    pthread_cond_t work_cond;
    gw_ws_conn_t *incoming;
    gw_ws_conn_t *work_head, *work_tail;
    bool stop;
    atomic_bool draining;

    /* The loop's alone. */
    ws_list_t active, pinged, closing;
    bool drained;
    int64_t last_tick_ms;
    uint8_t scratch[16384];

    pthread_mutex_t topics_lock;
    ws_topic_t *topics[WS_TOPIC_BUCKETS];
};

/* ------------------------------------------------------------------------
 * References, slots
 * ------------------------------------------------------------------------ */

static void buf_unref(ws_buf_t *b)
{
    if (b && atomic_fetch_sub(&b->refs, 1) == 1)
        free(b);
}

/* A text frame of text[0..len), one reference. */
static ws_buf_t *buf_frame(uint8_t opcode, const void *payload, size_t len)
{
    uint8_t hdr[WS_FRAME_HEADER_MAX];
    size_t hl = ws_frame_header(hdr, opcode, len);
    ws_buf_t *b = malloc(sizeof *b + hl + len);
    if (b == NULL)
        abort();
    atomic_init(&b->refs, 1);
    b->len = hl + len;
    memcpy(b->data, hdr, hl);
    if (len)
        memcpy(b->data + hl, payload, len);
    return b;
}

void gw_ws_conn_ref(gw_ws_conn_t *c) { atomic_fetch_add(&c->refs, 1); }

void gw_ws_conn_unref(gw_ws_conn_t *c)
{
    if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    for (ws_out_t *o = c->out_head, *n; o; o = n) {
        n = o->next;
        buf_unref(o->buf);
        free(o);
    }
    for (ws_text_t *t = c->inbox, *n; t; t = n) {
        n = t->next;
        free(t);
    }
    ws_decoder_free(&c->dec);
    free(c->in);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* Takes (+1) or gives back (-1) one of the DOJO_GATEWAY_WS_MAX slots and
 * updates the gauge. Taking fails when none is left or the gateway stops. */
static bool ws_slot_add(gw_t *gw, int delta)
{
    pthread_mutex_lock(&gw->ws_lock);
    bool ok = delta < 0 || (gw->ws_count < gw->cfg.ws_max && !atomic_load(&gw->stopping));
    if (ok)
        gw->ws_count += delta;
    metrics_gauge_set("dojo_gateway_websockets_open", "", gw->ws_count);
    pthread_mutex_unlock(&gw->ws_lock);
    return ok;
}

gw_t *gw_ws_gw(const gw_ws_conn_t *c) { return c->hub->gw; }
const token_claims_t *gw_ws_claims(const gw_ws_conn_t *c) { return &c->claims; }
const char *gw_ws_req_id(const gw_ws_conn_t *c) { return c->req_id; }
gw_ws_subs_t **gw_ws_conn_subs(gw_ws_conn_t *c) { return &c->subs; }

char *gw_ws_conn_board(gw_ws_conn_t *c) { return c->board; }

gw_t *gw_ws_conn_gw(gw_ws_conn_t *c) { return c->hub->gw; }

/* ------------------------------------------------------------------------
 * Sending (any thread)
 * ------------------------------------------------------------------------ */

static void arm_pollout(gw_ws_conn_t *c, bool on)
{
    if (c->pollout == on)
        return;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(c->hub->epfd, EPOLL_CTL_MOD, c->sock, &ev);
    c->pollout = on;
}

/* Sends what is queued until the socket is full. With c->lock. */
static void flush_locked(gw_ws_conn_t *c)
{
    while (c->out_head && !c->broken) {
        ws_out_t *o = c->out_head;
        ssize_t n = send(c->sock, o->buf->data + c->out_off, o->buf->len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT | (o->next ? MSG_MORE : 0));
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            c->broken = true;
            break;
        }
        c->out_off += (size_t)n;
        if (c->out_off < o->buf->len)
            continue;
        c->out_bytes -= o->buf->len;
        c->out_off = 0;
        c->out_head = o->next;
        if (c->out_head == NULL)
            c->out_tail = NULL;
        buf_unref(o->buf);
        free(o);
    }
    /* The loop notices a broken connection on EPOLLOUT (or its error). */
    arm_pollout(c, c->out_head != NULL || c->broken);
}

/* Queues `b` (taking a reference of its own) behind what is queued, and
 * sends at once when nothing was. `last`: a close frame, after which
 * nothing more goes out. */
static void queue_buf(gw_ws_conn_t *c, ws_buf_t *b, bool last)
{
    pthread_mutex_lock(&c->lock);
    if (c->closed || c->close_queued || c->broken) {
        pthread_mutex_unlock(&c->lock);
        return;
    }
    if (last)
        c->close_queued = true;
    if (c->out_bytes + b->len > WS_MAX_BACKLOG) {
        /* A client this far behind is gone or hostile. */
        c->broken = true;
        arm_pollout(c, true);
        pthread_mutex_unlock(&c->lock);
        return;
    }
    ws_out_t *o = malloc(sizeof *o);
    if (o == NULL)
        abort();
    atomic_fetch_add(&b->refs, 1);
    o->buf = b;
    o->next = NULL;
    if (c->out_tail)
        c->out_tail->next = o;
    else
        c->out_head = o;
    c->out_tail = o;
    c->out_bytes += b->len;
    if (c->out_head == o)
        flush_locked(c);
    pthread_mutex_unlock(&c->lock);
}

void gw_ws_send_text(gw_ws_conn_t *c, const char *text, size_t len)
{
    ws_buf_t *b = buf_frame(WS_OP_TEXT, text, len);
    queue_buf(c, b, false);
    buf_unref(b);
}

void gw_ws_send_json(gw_ws_conn_t *c, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (text == NULL)
        return;
    gw_ws_send_text(c, text, strlen(text));
    free(text);
}

void gw_ws_send_error(gw_ws_conn_t *c, const char *code, const char *message, const char *sub,
                      json_t *id)
{
    json_t *m = json_pack("{s:s,s:s,s:s}", "type", "error", "code", code, "message", message);
    if (sub)
        json_object_set_new(m, "submission_id", json_string(sub));
    if (id)
        json_object_set(m, "id", id);
    gw_ws_send_json(c, m);
}

void gw_ws_send_err(gw_ws_conn_t *c, const err_t *e, const char *sub, json_t *id)
{
    int status = 500;
    json_t *body = gw_error_json(e, &status);
    json_t *inner = json_object_get(body, "error");
    gw_ws_send_error(c, json_string_value(json_object_get(inner, "code")),
                     json_string_value(json_object_get(inner, "message")), sub, id);
    json_decref(body);
}

void gw_ws_send_frame(gw_ws_conn_t *c, gw_ws_frame_t *f) { queue_buf(c, f, false); }

gw_ws_frame_t *gw_ws_frame_text(const char *text, size_t len)
{
    return buf_frame(WS_OP_TEXT, text, len);
}

void gw_ws_frame_unref(gw_ws_frame_t *f) { buf_unref(f); }

bool gw_ws_conn_closed(gw_ws_conn_t *c)
{
    pthread_mutex_lock(&c->lock);
    bool closed = c->closed;
    pthread_mutex_unlock(&c->lock);
    return closed;
}

static void queue_close(gw_ws_conn_t *c, int code, const char *why)
{
    uint8_t p[125];
    size_t wl = why ? strlen(why) : 0;
    if (wl > sizeof p - 2)
        wl = sizeof p - 2;
    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    if (wl)
        memcpy(p + 2, why, wl);
    ws_buf_t *b = buf_frame(WS_OP_CLOSE, p, 2 + wl);
    queue_buf(c, b, true);
    buf_unref(b);
}

/* ------------------------------------------------------------------------
 * Topics
 * ------------------------------------------------------------------------ */

static ws_topic_t **topic_slot(gw_ws_t *h, const char *name)
{
    uint32_t hash = 2166136261u;
    for (const char *p = name; *p; p++)
        hash = (hash ^ (uint8_t)*p) * 16777619u;
    ws_topic_t **t = &h->topics[hash % WS_TOPIC_BUCKETS];
    while (*t && strcmp((*t)->name, name) != 0)
        t = &(*t)->next;
    return t;
}

int gw_ws_join(gw_ws_conn_t *c, const char *topic, err_t **err)
{
    gw_ws_t *h = c->hub;
    pthread_mutex_lock(&h->topics_lock);
    /* A connection that ended has left its topics already. */
    if (gw_ws_conn_closed(c)) {
        pthread_mutex_unlock(&h->topics_lock);
        return 0;
    }
    int free_slot = -1;
    for (int i = 0; i < GW_WS_MAX_TOPICS; i++) {
        if (c->topics[i] && !strcmp(c->topics[i], topic)) {
            pthread_mutex_unlock(&h->topics_lock);
            return 0;
        }
        if (c->topics[i] == NULL && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0) {
        pthread_mutex_unlock(&h->topics_lock);
        return err_set(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "at most %d topics per connection",
                       GW_WS_MAX_TOPICS);
    }
    ws_topic_t **slot = topic_slot(h, topic);
    if (*slot == NULL) {
        ws_topic_t *t = calloc(1, sizeof *t);
        if (t == NULL || (t->name = strdup(topic)) == NULL)
            abort();
        *slot = t;
    }
    ws_topic_t *t = *slot;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 8;
        t->conns = realloc(t->conns, t->cap * sizeof *t->conns);
        if (t->conns == NULL)
            abort();
    }
    t->conns[t->n++] = c;
    c->topics[free_slot] = t->name;
    pthread_mutex_unlock(&h->topics_lock);
    return 0;
}

/* With topics_lock. */
static void leave_locked(gw_ws_conn_t *c, int i)
{
    ws_topic_t **slot = topic_slot(c->hub, c->topics[i]);
    ws_topic_t *t = *slot;
    c->topics[i] = NULL;
    if (t == NULL)
        return;
    for (size_t k = 0; k < t->n; k++)
        if (t->conns[k] == c) {
            t->conns[k] = t->conns[--t->n];
            break;
        }
    if (t->n == 0) {
        *slot = t->next;
        free(t->conns);
        free(t->name);
        free(t);
    }
}

void gw_ws_leave(gw_ws_conn_t *c, const char *topic)
{
    pthread_mutex_lock(&c->hub->topics_lock);
    for (int i = 0; i < GW_WS_MAX_TOPICS; i++)
        if (c->topics[i] && !strcmp(c->topics[i], topic)) {
            leave_locked(c, i);
            break;
        }
    pthread_mutex_unlock(&c->hub->topics_lock);
}

size_t gw_ws_publish(gw_t *gw, const char *topic, const char *text, size_t len)
{
    gw_ws_t *h = gw->ws;
    ws_buf_t *b = buf_frame(WS_OP_TEXT, text, len);
    pthread_mutex_lock(&h->topics_lock);
    ws_topic_t *t = *topic_slot(h, topic);
    size_t n = t ? t->n : 0;
    for (size_t i = 0; i < n; i++)
        queue_buf(t->conns[i], b, false);
    pthread_mutex_unlock(&h->topics_lock);
    buf_unref(b);
    return n;
}

/* ------------------------------------------------------------------------
 * Client messages (workers)
 * ------------------------------------------------------------------------ */

static void h_ping(gw_ws_conn_t *c, const char *type, json_t *msg, json_t *id)
{
    json_t *m = json_pack("{s:s}", "type", "pong");
    if (id)
        json_object_set(m, "id", id);
    gw_ws_send_json(c, m);
}

/* watch_scoreboard {contest}: the contest's board now and at every change
 * (the jury's board for admins, the public one for everyone else). */
static void h_watch(gw_ws_conn_t *c, const char *type, json_t *msg, json_t *id)
{
    if (!strcmp(type, "unwatch_scoreboard")) {
        gw_boards_unwatch(c);
        return;
    }
    const char *slug = json_string_value(json_object_get(msg, "contest"));
    size_t n = slug ? strlen(slug) : 0;
    bool ok = n >= 1 && n <= 36;
    for (size_t i = 0; ok && i < n; i++)
        ok = (slug[i] >= 'a' && slug[i] <= 'z') || (slug[i] >= '0' && slug[i] <= '9') ||
             slug[i] == '-';
    if (!ok) {
        gw_ws_send_error(c, "invalid_argument", "contest: must be a contest's slug", NULL, id);
        return;
    }
    bool jury = !c->anonymous && !strcmp(c->claims.role, "admin");
    json_t *m = json_pack("{s:s,s:s,s:s}", "type", "watching", "contest", slug, "audience",
                          jury ? "jury" : "public");
    if (id)
        json_object_set(m, "id", id);
    gw_ws_send_json(c, m);
    cleanup_err err_t *e = NULL;
    if (!gw_ws_conn_closed(c) && gw_boards_watch(c, slug, jury, &e) < 0)
        gw_ws_send_err(c, e, NULL, id);
}

typedef struct ws_route {
    const char *type;
    gw_ws_handler_fn fn;
} ws_route_t;

static const ws_route_t ws_routes[] = {
    {"ping", h_ping},
    {"subscribe", gw_ws_h_subscribe},
    {"unsubscribe", gw_ws_h_unsubscribe},
    {"stdin", gw_ws_h_control},
    {"stdin_close", gw_ws_h_control},
    {"cancel", gw_ws_h_control},
    {"watch_scoreboard", h_watch},
    {"unwatch_scoreboard", h_watch},
    {NULL, NULL},
};

static void handle_text(gw_ws_conn_t *c, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *msg = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (msg == NULL || !json_is_object(msg)) {
        gw_ws_send_error(c, "invalid_argument", "messages must be JSON objects", NULL, NULL);
        json_decref(msg);
        return;
    }
    json_t *id = json_object_get(msg, "id");
    const char *type = json_string_value(json_object_get(msg, "type"));
    const ws_route_t *rt = ws_routes;
    while (type && rt->type && strcmp(rt->type, type) != 0)
        rt++;
    if (type == NULL)
        gw_ws_send_error(c, "invalid_argument", "type: is required", NULL, id);
    else if (rt->type == NULL)
        gw_ws_send_error(c, "invalid_argument", "type: unknown message type", NULL, id);
    else if (c->anonymous && rt->fn != h_ping && rt->fn != h_watch)
        gw_ws_send_error(c, "unauthenticated",
                         "sign in for this: signed out, a WebSocket only watches scoreboards",
                         NULL, id);
    else
        rt->fn(c, type, msg, id);
    json_decref(msg);
}

/* Puts c on the work queue (it holds a reference there). */
static void schedule(gw_ws_conn_t *c)
{
    gw_ws_t *h = c->hub;
    gw_ws_conn_ref(c);
    pthread_mutex_lock(&h->lock);
    c->work_next = NULL;
    if (h->work_tail)
        h->work_tail->work_next = c;
    else
        h->work_head = c;
    h->work_tail = c;
    pthread_cond_signal(&h->work_cond);
    pthread_mutex_unlock(&h->lock);
}

static void *worker_main(void *arg)
{
    gw_ws_t *h = arg;
    for (;;) {
        pthread_mutex_lock(&h->lock);
        while (h->work_head == NULL && !h->stop)
            pthread_cond_wait(&h->work_cond, &h->lock);
        gw_ws_conn_t *c = h->work_head;
        if (c == NULL) {
            pthread_mutex_unlock(&h->lock);
            return NULL;
        }
        h->work_head = c->work_next;
        if (h->work_head == NULL)
            h->work_tail = NULL;
        pthread_mutex_unlock(&h->lock);

        log_set_context("ws", c->req_id, c->claims.sub);
        pthread_mutex_lock(&c->lock);
        ws_text_t *inbox = c->inbox;
        c->inbox = NULL;
        c->inbox_tail = &c->inbox;
        c->ninbox = 0;
        pthread_mutex_unlock(&c->lock);
        for (ws_text_t *t = inbox, *n; t; t = n) {
            n = t->next;
            pthread_mutex_lock(&c->lock);
            bool gone = c->closed || c->close_queued;
            pthread_mutex_unlock(&c->lock);
            if (!gone)
                handle_text(c, t->text, t->len);
            free(t);
        }
        pthread_mutex_lock(&c->lock);
        bool more = c->inbox != NULL;
        if (!more)
            c->scheduled = false;
        pthread_mutex_unlock(&c->lock);
        if (more)
            schedule(c);
        gw_ws_conn_unref(c);
    }
}

/* ------------------------------------------------------------------------
 * The loop
 * ------------------------------------------------------------------------ */

static void list_remove(gw_ws_t *h, gw_ws_conn_t *c)
{
    ws_list_t *l = c->list == LIST_ACTIVE ? &h->active
                   : c->list == LIST_PINGED ? &h->pinged
                   : c->list == LIST_CLOSING ? &h->closing
                                             : NULL;
    if (l == NULL)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
    c->list = LIST_NONE;
}

static void list_append(gw_ws_t *h, gw_ws_conn_t *c, ws_list_id_t id)
{
    list_remove(h, c);
    ws_list_t *l = id == LIST_ACTIVE ? &h->active : id == LIST_PINGED ? &h->pinged : &h->closing;
    c->prev = l->tail;
    c->next = NULL;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    c->list = id;
}

/* Ends a connection: the socket goes back to MHD, which closes it. */
static void conn_end(gw_ws_conn_t *c)
{
    gw_ws_t *h = c->hub;
    gw_t *gw = h->gw;
    pthread_mutex_lock(&c->lock);
    if (c->out_head) /* a last try for a queued close frame */
        flush_locked(c);
    c->closed = true;
    pthread_mutex_unlock(&c->lock);
    epoll_ctl(h->epfd, EPOLL_CTL_DEL, c->sock, NULL);
    list_remove(h, c);
    gw_ws_events_drop(c);
    /* Leaving every topic ends any board it watched (a later watch by a
     * worker joins nothing: the connection is closed). */
    pthread_mutex_lock(&h->topics_lock);
    for (int i = 0; i < GW_WS_MAX_TOPICS; i++)
        if (c->topics[i])
            leave_locked(c, i);
    pthread_mutex_unlock(&h->topics_lock);
    shutdown(c->sock, SHUT_RDWR);
    MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE);
    LOG_DEBUG("websocket closed", "req_id=%s", c->req_id);
    gw_admit_websocket_count(gw, -1);
    ws_slot_add(gw, -1);
    gw_ws_conn_unref(c);
}

/* Starts the closing handshake: close frame out, then up to
 * WS_CLOSE_WAIT_MS for the client's. */
static void conn_close(gw_ws_conn_t *c, int code, const char *why, int64_t now)
{
    if (c->list == LIST_CLOSING)
        return;
    queue_close(c, code, why);
    c->close_deadline_ms = now + WS_CLOSE_WAIT_MS;
    list_append(c->hub, c, LIST_CLOSING);
}

static void inbox_push(gw_ws_conn_t *c, const uint8_t *data, size_t len, int64_t now)
{
    ws_text_t *t = malloc(sizeof *t + len + 1);
    if (t == NULL)
        abort();
    t->next = NULL;
    t->len = len;
    memcpy(t->text, data, len);
    t->text[len] = '\0';
    pthread_mutex_lock(&c->lock);
    if (c->ninbox >= WS_MAX_INBOX) {
        pthread_mutex_unlock(&c->lock);
        free(t);
        conn_close(c, WS_CLOSE_POLICY, "too many messages at once", now);
        return;
    }
    *c->inbox_tail = t;
    c->inbox_tail = &t->next;
    c->ninbox++;
    bool start = !c->scheduled;
    c->scheduled = true;
    pthread_mutex_unlock(&c->lock);
    if (start)
        schedule(c);
}

/* Decodes and acts on the frames of buf[0..len); returns the bytes taken,
 * or -1 when the connection has ended. */
static ssize_t conn_frames(gw_ws_conn_t *c, uint8_t *buf, size_t len, int64_t now)
{
    size_t off = 0;
    while (off < len) {
        ws_decoded_t d;
        size_t took = ws_decode(&c->dec, buf + off, len - off, &d);
        off += took;
        if (d.kind == WS_DECODED_ERROR) {
            LOG_DEBUG("websocket protocol error", "why=\"%s\"", d.why);
            conn_close(c, d.close_code, d.why, now);
            return (ssize_t)len; /* the rest means nothing */
        }
        if (d.kind == WS_DECODED_CLOSE) {
            if (c->list != LIST_CLOSING)
                queue_close(c, d.close_code ? d.close_code : WS_CLOSE_NORMAL, NULL);
            conn_end(c);
            return -1;
        }
        if (c->list == LIST_CLOSING) {
            /* After our close only the client's close matters. */
        } else if (d.kind == WS_DECODED_PING) {
            ws_buf_t *b = buf_frame(WS_OP_PONG, d.data, d.len);
            queue_buf(c, b, false);
            buf_unref(b);
        } else if (d.kind == WS_DECODED_MESSAGE && d.opcode == WS_OP_BINARY) {
            conn_close(c, WS_CLOSE_UNSUPPORTED, "text frames only", now);
        } else if (d.kind == WS_DECODED_MESSAGE) {
            inbox_push(c, d.data, d.len, now);
            if (c->dec.frag_opcode == 0 && c->dec.frag)
                ws_decoder_free(&c->dec);
        }
        if (took == 0)
            break;
    }
    return (ssize_t)off;
}

static void conn_readable(gw_ws_t *h, gw_ws_conn_t *c, int64_t now)
{
    uint8_t *buf;
    size_t cap;
    if (c->in_len > 0) {
        /* Continue a partial frame in its own buffer. */
        if (c->in_cap - c->in_len < 4096) {
            size_t ncap = c->in_cap * 2 < WS_MAX_MSG + 4096 ? c->in_cap * 2 : WS_MAX_MSG + 4096;
            if (ncap <= c->in_cap)
                ncap = c->in_cap + 4096;
            c->in = realloc(c->in, ncap);
            if (c->in == NULL)
                abort();
            c->in_cap = ncap;
        }
        buf = c->in + c->in_len;
        cap = c->in_cap - c->in_len;
    } else {
        buf = h->scratch;
        cap = sizeof h->scratch;
    }
    ssize_t n = recv(c->sock, buf, cap, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        conn_end(c);
        return;
    }
    c->last_rx_ms = now;
    if (c->list == LIST_ACTIVE || c->list == LIST_PINGED)
        list_append(h, c, LIST_ACTIVE);
    uint8_t *all = c->in_len > 0 ? c->in : h->scratch;
    size_t len = c->in_len > 0 ? c->in_len + (size_t)n : (size_t)n;
    ssize_t took = conn_frames(c, all, len, now);
    if (took < 0)
        return;
    size_t left = len - (size_t)took;
    if (left == 0) {
        free(c->in);
        c->in = NULL;
        c->in_len = c->in_cap = 0;
    } else if (all == h->scratch) {
        c->in_cap = left + 4096;
        c->in = malloc(c->in_cap);
        if (c->in == NULL)
            abort();
        memcpy(c->in, all + took, left);
        c->in_len = left;
    } else {
        memmove(c->in, c->in + took, left);
        c->in_len = left;
    }
}

static void conn_writable(gw_ws_conn_t *c, int64_t now)
{
    pthread_mutex_lock(&c->lock);
    flush_locked(c);
    bool broken = c->broken;
    bool done = c->close_queued && c->out_head == NULL;
    pthread_mutex_unlock(&c->lock);
    if (broken)
        conn_end(c);
    else if (done && c->list == LIST_CLOSING && now >= c->close_deadline_ms)
        conn_end(c);
}

/* Takes the connections on_upgrade handed over. */
static void take_incoming(gw_ws_t *h, int64_t now)
{
    uint64_t v;
    ssize_t rd = read(h->wakefd, &v, sizeof v);
    (void)rd;
    pthread_mutex_lock(&h->lock);
    gw_ws_conn_t *list = h->incoming;
    h->incoming = NULL;
    pthread_mutex_unlock(&h->lock);
    while (list) {
        gw_ws_conn_t *c = list;
        list = c->next_new;
        c->last_rx_ms = now;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
        if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, c->sock, &ev) < 0) {
            LOG_WARN("websocket not taken", "error=\"%s\"", strerror(errno));
            conn_end(c);
            continue;
        }
        list_append(h, c, LIST_ACTIVE);
        if (atomic_load(&h->draining)) {
            conn_close(c, WS_CLOSE_GOING_AWAY, "server restarting", now);
        } else if (c->in_len > 0) {
            /* Bytes that came with the handshake. */
            ssize_t took = conn_frames(c, c->in, c->in_len, now);
            if (took >= 0) {
                memmove(c->in, c->in + took, c->in_len - (size_t)took);
                c->in_len -= (size_t)took;
            }
        }
    }
}

/* Pings quiet clients, closes silent ones, ends the closes that were not
 * answered. */
static void tick(gw_ws_t *h, int64_t now)
{
    h->last_tick_ms = now;
    if (atomic_load(&h->draining) && !h->drained) {
        h->drained = true;
        while (h->active.head)
            conn_close(h->active.head, WS_CLOSE_GOING_AWAY, "server restarting", now);
        while (h->pinged.head)
            conn_close(h->pinged.head, WS_CLOSE_GOING_AWAY, "server restarting", now);
    }
    while (h->closing.head && now >= h->closing.head->close_deadline_ms)
        conn_end(h->closing.head);
    while (h->pinged.head && now - h->pinged.head->last_rx_ms >= WS_IDLE_MS)
        conn_close(h->pinged.head, WS_CLOSE_NORMAL, "idle", now);
    ws_buf_t *ping = NULL;
    while (h->active.head && now - h->active.head->last_rx_ms >= WS_PING_MS) {
        if (ping == NULL)
            ping = buf_frame(WS_OP_PING, "", 0);
        gw_ws_conn_t *c = h->active.head;
        list_append(h, c, LIST_PINGED);
        queue_buf(c, ping, false);
    }
    buf_unref(ping);
}

/* Milliseconds until the next tick is due (-1: none). */
static int next_wait(gw_ws_t *h, int64_t now)
{
    int64_t due = INT64_MAX;
    if (atomic_load(&h->draining) && !h->drained)
        due = now;
    if (h->closing.head && h->closing.head->close_deadline_ms < due)
        due = h->closing.head->close_deadline_ms;
    if (h->pinged.head && h->pinged.head->last_rx_ms + WS_IDLE_MS < due)
        due = h->pinged.head->last_rx_ms + WS_IDLE_MS;
    if (h->active.head && h->active.head->last_rx_ms + WS_PING_MS < due)
        due = h->active.head->last_rx_ms + WS_PING_MS;
    if (due == INT64_MAX)
        return -1;
    if (due < h->last_tick_ms + WS_TICK_MS && !(atomic_load(&h->draining) && !h->drained))
        due = h->last_tick_ms + WS_TICK_MS;
    return due <= now ? 0 : (int)(due - now);
}

static void *loop_main(void *arg)
{
    gw_ws_t *h = arg;
    log_set_context("ws", NULL, NULL);
    struct epoll_event evs[256];
    for (;;) {
        int64_t now = mono_ms();
        int n = epoll_wait(h->epfd, evs, 256, next_wait(h, now));
        if (n < 0 && errno != EINTR)
            break;
        now = mono_ms();
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                take_incoming(h, now);
                continue;
            }
            gw_ws_conn_t *c = evs[i].data.ptr;
            /* A reference for the event: conn_end may run in between. */
            gw_ws_conn_ref(c);
            if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                conn_readable(h, c, now);
            if (!c->closed && (evs[i].events & (EPOLLOUT | EPOLLERR)))
                conn_writable(c, now);
            gw_ws_conn_unref(c);
        }
        pthread_mutex_lock(&h->lock);
        bool stop = h->stop;
        pthread_mutex_unlock(&h->lock);
        if (stop)
            break;
        if (next_wait(h, now) == 0 || now - h->last_tick_ms >= WS_PING_MS)
            tick(h, now);
    }
    /* Whatever is left when the gateway stops. */
    while (h->closing.head)
        conn_end(h->closing.head);
    while (h->pinged.head)
        conn_end(h->pinged.head);
    while (h->active.head)
        conn_end(h->active.head);
    return NULL;
}

/* ------------------------------------------------------------------------
 * Life of the hub
 * ------------------------------------------------------------------------ */

int gw_ws_open(gw_t *gw, err_t **err)
{
    gw_ws_t *h = calloc(1, sizeof *h);
    if (h == NULL)
        abort();
    h->gw = gw;
    h->epfd = epoll_create1(EPOLL_CLOEXEC);
    h->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->work_cond, NULL);
    pthread_mutex_init(&h->topics_lock, NULL);
    atomic_init(&h->draining, false);
    h->last_tick_ms = mono_ms();
    gw->ws = h;
    if (h->epfd < 0 || h->wakefd < 0)
        return err_errno(err, errno, "websocket loop");
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->wakefd, &ev) < 0)
        return err_errno(err, errno, "websocket loop");
    if (gw_ws_events_open(gw, err) < 0)
        return -1;
    if (pthread_create(&h->loop, NULL, loop_main, h) != 0)
        return err_set(err, GRPC_STATUS_INTERNAL, "cannot start the websocket loop");
    h->loop_started = true;
    for (int i = 0; i < WS_WORKERS; i++) {
        if (pthread_create(&h->workers[i], NULL, worker_main, h) != 0)
            return err_set(err, GRPC_STATUS_INTERNAL, "cannot start websocket workers");
        h->nworkers++;
    }
    return 0;
}

static void wake_loop(gw_ws_t *h)
{
    uint64_t one = 1;
    ssize_t w = write(h->wakefd, &one, sizeof one);
    (void)w;
}

void gw_ws_shutdown(gw_t *gw)
{
    if (gw->ws == NULL)
        return;
    atomic_store(&gw->ws->draining, true);
    wake_loop(gw->ws);
}

void gw_ws_close(gw_t *gw)
{
    gw_ws_t *h = gw->ws;
    if (h == NULL)
        return;
    pthread_mutex_lock(&h->lock);
    h->stop = true;
    pthread_cond_broadcast(&h->work_cond);
    pthread_mutex_unlock(&h->lock);
    wake_loop(h);
    if (h->loop_started)
        pthread_join(h->loop, NULL);
    for (int i = 0; i < h->nworkers; i++)
        pthread_join(h->workers[i], NULL);
    /* Work the workers left behind holds references only. */
    for (gw_ws_conn_t *c = h->work_head, *n; c; c = n) {
        n = c->work_next;
        gw_ws_conn_unref(c);
    }
    gw_ws_events_close(gw);
    for (gw_ws_conn_t *c = h->incoming, *n; c; c = n) {
        n = c->next_new;
        MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE);
        gw_ws_conn_unref(c);
    }
    if (h->epfd >= 0)
        close(h->epfd);
    if (h->wakefd >= 0)
        close(h->wakefd);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->work_cond);
    pthread_mutex_destroy(&h->topics_lock);
    free(h);
    gw->ws = NULL;
}

/* ------------------------------------------------------------------------
 * The upgrade (MHD thread)
 * ------------------------------------------------------------------------ */

/* `con_cls` is the handshake's request: it lives until MHD's completion
 * callback, which comes after we close the upgraded connection. */
static void on_upgrade(void *cls, struct MHD_Connection *connection, void *con_cls,
                       const char *extra_in, size_t extra_in_size, MHD_socket sock,
                       struct MHD_UpgradeResponseHandle *urh)
{
    gw_t *gw = cls;
    gw_req_t *r = con_cls;
    if (!ws_slot_add(gw, 1)) {
        /* The last slots went to others since the handshake's check, or the
         * gateway began to stop. */
        log_set_context("ws", r->req_id, r->claims.sub);
        LOG_WARN("websocket closed right after the upgrade", "reason=%s",
                 atomic_load(&gw->stopping) ? "stopping" : "too_many");
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        return;
    }
    gw_admit_websocket_count(gw, 1);
    metrics_counter_add("dojo_gateway_websockets_total", "", 1);
    gw_ws_conn_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        abort();
    atomic_init(&c->refs, 1); /* the loop's */
    c->hub = gw->ws;
    c->claims = r->claims;
    c->anonymous = !r->authed;
    memcpy(c->req_id, r->req_id, sizeof c->req_id);
    c->sock = sock;
    c->urh = urh;
    c->dec.max_message = WS_MAX_MSG;
    c->inbox_tail = &c->inbox;
    pthread_mutex_init(&c->lock, NULL);
    int fl = fcntl(sock, F_GETFL);
    fcntl(sock, F_SETFL, fl | O_NONBLOCK);
    /* Events are small frames sent one by one: with Nagle on, each waited for
     * the client's delayed ACK of the one before (about 40 ms on Linux). */
    int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (extra_in_size > 0) {
        c->in_cap = extra_in_size + 4096;
        c->in = malloc(c->in_cap);
        if (c->in == NULL)
            abort();
        memcpy(c->in, extra_in, extra_in_size);
        c->in_len = extra_in_size;
    }
    gw_ws_t *h = gw->ws;
    pthread_mutex_lock(&h->lock);
    c->next_new = h->incoming;
    h->incoming = c;
    pthread_mutex_unlock(&h->lock);
    wake_loop(h);
}

/* ------------------------------------------------------------------------
 * The handshake (MHD thread)
 * ------------------------------------------------------------------------ */

static bool header_has(gw_req_t *r, const char *name, const char *token)
{
    const char *v = gw_header(r, name);
    return v && strcasestr(v, token) != NULL;
}

/* The Origin's host[:port] must equal Host (a browser on another site must
 * not ride the learner's cookies; SameSite=Strict already stops that). */
static bool origin_ok(gw_req_t *r)
{
    const char *origin = gw_header(r, "Origin");
    if (origin == NULL)
        return true; /* not a browser */
    const char *host = gw_header(r, "Host");
    const char *p = strstr(origin, "://");
    if (host == NULL || p == NULL)
        return false;
    return strcasecmp(p + 3, host) == 0;
}

enum MHD_Result gw_ws_upgrade(gw_req_t *r)
{
    gw_t *gw = r->gw;
    cleanup_err err_t *e = NULL;
    if (strcmp(r->method, "GET") != 0) {
        gw_err_http(&e, 405, "method_not_allowed", NULL, "use GET with Upgrade: websocket");
        return gw_respond(r, e);
    }
    const char *key = gw_header(r, "Sec-WebSocket-Key");
    const char *version = gw_header(r, "Sec-WebSocket-Version");
    if (!header_has(r, "Upgrade", "websocket") || !header_has(r, "Connection", "upgrade") ||
        key == NULL || strlen(key) != 24 || version == NULL || strcmp(version, "13") != 0) {
        gw_err_http(&e, 400, "invalid_argument", NULL,
                    "a WebSocket handshake (version 13) is required here");
        gw_add_header(r, "Sec-WebSocket-Version", "13");
        return gw_respond(r, e);
    }
    if (!origin_ok(r)) {
        gw_err_http(&e, 403, "permission_denied", NULL, "cross-origin WebSocket refused");
        return gw_respond(r, e);
    }
    /* Without credentials: a public viewer, who may watch scoreboards only
     * (ws_route's check), and each such upgrade spends the address's
     * anonymous budget (DOJO_GATEWAY_ANON_RATE_LIMIT). Credentials that do
     * not verify are refused, as anywhere. */
    const char *at = gw_cookie(r, "dojo_at");
    bool anonymous = gw_header(r, "Authorization") == NULL && (at == NULL || *at == '\0');
    if (anonymous ? gw_limit_take(r, GW_LIMIT_ANONYMOUS, &e) < 0 : gw_req_auth(r, &e) < 0)
        return gw_respond(r, e);
    /* The slot itself is taken in on_upgrade. */
    pthread_mutex_lock(&gw->ws_lock);
    bool full = gw->ws_count >= gw->cfg.ws_max || atomic_load(&gw->stopping);
    pthread_mutex_unlock(&gw->ws_lock);
    if (full || !gw_admit_websocket(gw)) {
        gw_err_http(&e, 503, "unavailable", NULL, "too many live connections, try again");
        return gw_respond(r, e);
    }

    char buf[64];
    snprintf(buf, sizeof buf, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    unsigned char sha[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)buf, strlen(buf), sha);
    char accept[64];
    sodium_bin2base64(accept, sizeof accept, sha, sizeof sha, sodium_base64_VARIANT_ORIGINAL);

    struct MHD_Response *resp = MHD_create_response_for_upgrade(on_upgrade, gw);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
    MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
    MHD_add_response_header(resp, "X-Request-Id", r->req_id);
    enum MHD_Result ret = MHD_queue_response(r->conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
    MHD_destroy_response(resp);
    return ret;
}
