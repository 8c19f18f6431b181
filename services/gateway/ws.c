/* ws.c — the WebSocket at /api/v1/ws: live submission events, stdin, cancel.
 *
 * After the upgrade (MHD_create_response_for_upgrade hands us the socket) each
 * connection has two threads:
 *   the reader  polls the socket, runs wslay, handles client messages
 *               (subscribe, stdin, cancel ...) with short gRPC/Redis calls;
 *   the relay   blocks in XREAD on the event streams of its subscriptions on
 *               a Redis connection of its own (a kvc_reader_t) and forwards
 *               each event.
 * wslay is not thread-safe: both take conn->lock around it. A new subscription
 * must not wait for the relay's XREAD to time out, so the reader wakes it
 * (kvc_reader_wake). Resuming is exact: every event carries its stream entry
 * id and a subscribe names the last one seen.
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
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <wslay/wslay.h>

#include "gateway.h"
#include "libcommon/cleanup.h"
#include "libcommon/kvc.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"

#define WS_MAX_SUBS 8
#define WS_MAX_MSG (64 * 1024)
#define WS_PING_MS 30000
#define WS_IDLE_MS 120000

typedef struct ws_sub {
    char id[40];
    char last[48]; /* last relayed entry id */
} ws_sub_t;

typedef struct ws_msg {
    struct ws_msg *next;
    size_t len;
    char text[];
} ws_msg_t;

typedef struct ws_conn {
    gw_t *gw;
    int sock;
    struct MHD_UpgradeResponseHandle *urh;
    char *extra;
    size_t extra_len, extra_off;
    token_claims_t claims;
    char req_id[24];
    int wake_fd; /* eventfd: the relay asks the reader to flush */

    kvc_reader_t *relay_reader; /* the relay's blocking reads */

    pthread_mutex_t lock; /* ctx, subs, nsubs, gen */
    wslay_event_context_ptr ctx;
    ws_sub_t subs[WS_MAX_SUBS];
    int nsubs;
    unsigned gen;
    pthread_cond_t cond;
    volatile bool closing;
    char owned[WS_MAX_SUBS * 2][40]; /* submissions checked for stdin/cancel */
    int nowned;
    ws_msg_t *inbox, **inbox_tail; /* received texts, handled outside the lock */
    int64_t last_rx_ms;
} ws_conn_t;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Takes (+1) or gives back (-1) one of the DOJO_GATEWAY_WS_MAX slots and
 * updates the gauge. Taking fails when none is left or the gateway stops. */
static bool ws_slot_add(gw_t *gw, int delta)
{
    pthread_mutex_lock(&gw->ws_lock);
    bool ok = delta < 0 || (gw->ws_count < gw->cfg.ws_max && !gw->stopping);
    if (ok)
        gw->ws_count += delta;
    metrics_gauge_set("dojo_gateway_websockets_open", "", gw->ws_count);
    pthread_mutex_unlock(&gw->ws_lock);
    return ok;
}

/* ------------------------------------------------------------------------
 * wslay callbacks (called with conn->lock held)
 * ------------------------------------------------------------------------ */

static ssize_t ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                          void *user)
{
    ws_conn_t *c = user;
    if (c->extra_off < c->extra_len) {
        size_t n = c->extra_len - c->extra_off;
        if (n > len)
            n = len;
        memcpy(buf, c->extra + c->extra_off, n);
        c->extra_off += n;
        return (ssize_t)n;
    }
    ssize_t n = recv(c->sock, buf, len, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        else
            wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    c->last_rx_ms = mono_ms();
    return n;
}

static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                          void *user)
{
    ws_conn_t *c = user;
    ssize_t n = send(c->sock, data, len, MSG_NOSIGNAL | ((flags & WSLAY_MSG_MORE) ? MSG_MORE : 0));
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        else
            wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return n;
}

static void ws_on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                      void *user)
{
    ws_conn_t *c = user;
    if (arg->opcode == WSLAY_BINARY_FRAME) {
        const char *why = "text frames only";
        wslay_event_queue_close(ctx, WSLAY_CODE_UNSUPPORTED_DATA, (const uint8_t *)why,
                                strlen(why));
        return;
    }
    if (arg->opcode != WSLAY_TEXT_FRAME)
        return;
    ws_msg_t *m = malloc(sizeof *m + arg->msg_length + 1);
    if (m == NULL)
        abort();
    m->next = NULL;
    m->len = arg->msg_length;
    memcpy(m->text, arg->msg, arg->msg_length);
    m->text[arg->msg_length] = '\0';
    *c->inbox_tail = m;
    c->inbox_tail = &m->next;
}

/* ------------------------------------------------------------------------
 * Sending (any thread)
 * ------------------------------------------------------------------------ */

static void ws_send_json(ws_conn_t *c, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (text == NULL)
        return;
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)text, strlen(text)};
    pthread_mutex_lock(&c->lock);
    wslay_event_queue_msg(c->ctx, &m); /* copies the data */
    wslay_event_send(c->ctx);
    bool more = wslay_event_want_write(c->ctx);
    pthread_mutex_unlock(&c->lock);
    free(text);
    if (more) {
        uint64_t one = 1;
        ssize_t w = write(c->wake_fd, &one, sizeof one);
        (void)w;
    }
}

static void ws_send_error(ws_conn_t *c, const char *code, const char *message, const char *sub,
                          json_t *id)
{
    json_t *m = json_pack("{s:s,s:s,s:s}", "type", "error", "code", code, "message", message);
    if (sub)
        json_object_set_new(m, "submission_id", json_string(sub));
    if (id)
        json_object_set(m, "id", id);
    ws_send_json(c, m);
}

static void ws_send_err_t(ws_conn_t *c, const err_t *e, const char *sub, json_t *id)
{
    int status = 500;
    json_t *body = gw_error_json(e, &status);
    json_t *inner = json_object_get(body, "error");
    ws_send_error(c, json_string_value(json_object_get(inner, "code")),
                  json_string_value(json_object_get(inner, "message")), sub, id);
    json_decref(body);
}

/* ------------------------------------------------------------------------
 * The relay thread
 * ------------------------------------------------------------------------ */

/* Forwards the entries of one event stream, and "done" after its result. */
static void relay_stream(ws_conn_t *c, const char *key, const redisReply *entries)
{
    const char *sub = kvc_events_key_id(key);
    if (sub == NULL)
        return;
    for (size_t i = 0; i < kvc_entries_count(entries); i++) {
        kvc_entry_t e;
        if (!kvc_entry_at(entries, i, KVC_FIELD_EVENT, &e))
            continue;
        bool done = false;
        Dojo__Executor__V1__Event *ev =
            e.value ? dojo__executor__v1__event__unpack(NULL, e.len, (const uint8_t *)e.value)
                    : NULL;
        if (ev != NULL) {
            done = ev->kind_case == DOJO__EXECUTOR__V1__EVENT__KIND_RESULT;
            json_t *m = gw_json_event(ev, e.id);
            json_object_set_new(m, "type", json_string("event"));
            dojo__executor__v1__event__free_unpacked(ev, NULL);
            ws_send_json(c, m);
        }
        pthread_mutex_lock(&c->lock);
        for (int s = 0; s < c->nsubs; s++) {
            if (strcmp(c->subs[s].id, sub) != 0)
                continue;
            snprintf(c->subs[s].last, sizeof c->subs[s].last, "%s", e.id);
            if (done) {
                c->subs[s] = c->subs[--c->nsubs];
                c->gen++;
            }
            break;
        }
        pthread_mutex_unlock(&c->lock);
        if (done) {
            ws_send_json(c, json_pack("{s:s,s:s}", "type", "done", "submission_id", sub));
            break;
        }
    }
}

static void *relay_main(void *arg)
{
    ws_conn_t *c = arg;
    log_set_context("ws-relay", c->req_id, c->claims.sub);
    bool failing = false;
    while (!c->closing) {
        ws_sub_t subs[WS_MAX_SUBS];
        pthread_mutex_lock(&c->lock);
        while (c->nsubs == 0 && !c->closing) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&c->cond, &c->lock, &ts);
        }
        int n = c->nsubs;
        memcpy(subs, c->subs, sizeof subs);
        pthread_mutex_unlock(&c->lock);
        if (c->closing || n == 0)
            break;
        kvc_key_t keys[WS_MAX_SUBS];
        const char *key[WS_MAX_SUBS], *after[WS_MAX_SUBS];
        for (int i = 0; i < n; i++) {
            key[i] = kvc_key_events(&keys[i], subs[i].id);
            after[i] = subs[i].last;
        }
        cleanup_err err_t *err = NULL;
        cleanup_redis_reply redisReply *rep = NULL;
        if (kvc_reader_read(c->relay_reader, (size_t)n, key, after, 200, 15000, &rep, &err) < 0) {
            /* Once at once (a new connection), then every half second while
             * Redis stays away. */
            if (!failing)
                LOG_WARN("relay read failed", "error=\"%s\"", log_esc(err->msg));
            else
                usleep(500 * 1000);
            failing = true;
            continue;
        }
        failing = false;
        for (size_t i = 0; i < kvc_streams_count(rep); i++) {
            const char *k = NULL;
            const redisReply *entries = NULL;
            if (kvc_stream_at(rep, i, &k, &entries))
                relay_stream(c, k, entries);
        }
    }
    return NULL;
}

/* Makes the relay re-read its subscriptions now. */
static void relay_wake(ws_conn_t *c)
{
    pthread_cond_signal(&c->cond);
    kvc_reader_wake(c->relay_reader);
}

/* ------------------------------------------------------------------------
 * Client messages (reader thread, no lock held)
 * ------------------------------------------------------------------------ */

static bool owned_cached(ws_conn_t *c, const char *id)
{
    for (int i = 0; i < c->nowned; i++)
        if (!strcmp(c->owned[i], id))
            return true;
    return false;
}

static void owned_add(ws_conn_t *c, const char *id)
{
    if (owned_cached(c, id))
        return;
    int slot = c->nowned < (int)(sizeof c->owned / sizeof c->owned[0]) ? c->nowned++
                                                                        : (int)(random() % c->nowned);
    snprintf(c->owned[slot], sizeof c->owned[slot], "%s", id);
}

static void handle_subscribe(ws_conn_t *c, const char *sub, const char *after, json_t *id)
{
    cleanup_err err_t *e = NULL;
    cleanup_pb Dojo__Gamification__V1__GetSubmissionResponse *s = NULL;
    if (gw_submission_owned(c->gw, c->req_id, &c->claims, sub, &s, &e) < 0) {
        ws_send_err_t(c, e, sub, id);
        return;
    }
    owned_add(c, sub);
    bool finished =
        s->submission->state == DOJO__GAMIFICATION__V1__SUBMISSION_STATE__SUBMISSION_STATE_FINISHED;
    kvc_key_t key;
    cleanup_redis_reply redisReply *ex = NULL;
    if (kv_command(c->gw->kv, &ex, &e, "EXISTS %s", kvc_key_events(&key, sub)) < 0) {
        ws_send_err_t(c, e, sub, id);
        return;
    }
    const char *state = finished ? "finished" : "pending";
    if (ex->type == REDIS_REPLY_INTEGER && ex->integer == 0 && finished) {
        /* The event stream expired: send the stored result whole. */
        json_t *m = json_pack("{s:s,s:s,s:s}", "type", "subscribed", "submission_id", sub,
                              "state", state);
        if (id)
            json_object_set(m, "id", id);
        ws_send_json(c, m);
        ws_send_json(c, json_pack("{s:s,s:s,s:o}", "type", "submission", "submission_id", sub,
                                  "submission", gw_json_submission(s->submission)));
        ws_send_json(c, json_pack("{s:s,s:s}", "type", "done", "submission_id", sub));
        return;
    }
    pthread_mutex_lock(&c->lock);
    int slot = -1;
    for (int i = 0; i < c->nsubs; i++)
        if (!strcmp(c->subs[i].id, sub))
            slot = i;
    if (slot < 0 && c->nsubs >= WS_MAX_SUBS) {
        pthread_mutex_unlock(&c->lock);
        ws_send_error(c, "resource_exhausted", "at most 8 subscriptions per connection", sub, id);
        return;
    }
    if (slot < 0)
        slot = c->nsubs++;
    snprintf(c->subs[slot].id, sizeof c->subs[slot].id, "%s", sub);
    snprintf(c->subs[slot].last, sizeof c->subs[slot].last, "%s", after ? after : "0-0");
    c->gen++;
    pthread_mutex_unlock(&c->lock);
    json_t *m = json_pack("{s:s,s:s,s:s}", "type", "subscribed", "submission_id", sub, "state",
                          state);
    if (id)
        json_object_set(m, "id", id);
    ws_send_json(c, m);
    relay_wake(c);
}

static void handle_unsubscribe(ws_conn_t *c, const char *sub)
{
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->nsubs; i++)
        if (!strcmp(c->subs[i].id, sub)) {
            c->subs[i] = c->subs[--c->nsubs];
            c->gen++;
            break;
        }
    pthread_mutex_unlock(&c->lock);
    relay_wake(c);
}

static void handle_control(ws_conn_t *c, const char *type, const char *sub, json_t *msg,
                           json_t *id)
{
    cleanup_err err_t *e = NULL;
    if (!owned_cached(c, sub)) {
        if (gw_submission_owned(c->gw, c->req_id, &c->claims, sub, NULL, &e) < 0) {
            ws_send_err_t(c, e, sub, id);
            return;
        }
        owned_add(c, sub);
    }
    Dojo__Executor__V1__Control ctl = DOJO__EXECUTOR__V1__CONTROL__INIT;
    Dojo__Executor__V1__StdinData sd = DOJO__EXECUTOR__V1__STDIN_DATA__INIT;
    Dojo__Executor__V1__StdinClose sc = DOJO__EXECUTOR__V1__STDIN_CLOSE__INIT;
    Dojo__Executor__V1__Cancel cancel = DOJO__EXECUTOR__V1__CANCEL__INIT;
    if (!strcmp(type, "stdin")) {
        json_t *d = json_object_get(msg, "data");
        if (!json_is_string(d) || json_string_length(d) == 0 || json_string_length(d) > 4096) {
            ws_send_error(c, "invalid_argument", "data: must be a string of 1 to 4096 bytes", sub,
                          id);
            return;
        }
        sd.data.data = (uint8_t *)json_string_value(d);
        sd.data.len = json_string_length(d);
        ctl.action_case = DOJO__EXECUTOR__V1__CONTROL__ACTION_STDIN_DATA;
        ctl.stdin_data = &sd;
    } else if (!strcmp(type, "stdin_close")) {
        ctl.action_case = DOJO__EXECUTOR__V1__CONTROL__ACTION_STDIN_CLOSE;
        ctl.stdin_close = &sc;
    } else {
        cancel.reason = "learner";
        ctl.action_case = DOJO__EXECUTOR__V1__CONTROL__ACTION_CANCEL;
        ctl.cancel = &cancel;
    }
    if (gw_control_send(c->gw, sub, &ctl, &e) < 0) {
        ws_send_err_t(c, e, sub, id);
        return;
    }
    json_t *m = json_pack("{s:s,s:s}", "type", "ok", "submission_id", sub);
    if (id)
        json_object_set(m, "id", id);
    ws_send_json(c, m);
}

/* A scoreboard frame (boards.c, under its lock): the shared text, queued. */
static void board_send(void *conn, const char *text, size_t len)
{
    ws_conn_t *c = conn;
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)text, len};
    pthread_mutex_lock(&c->lock);
    wslay_event_queue_msg(c->ctx, &m); /* copies the data */
    bool more = wslay_event_want_write(c->ctx);
    pthread_mutex_unlock(&c->lock);
    if (more) {
        uint64_t one = 1;
        ssize_t w = write(c->wake_fd, &one, sizeof one);
        (void)w;
    }
}

/* watch_scoreboard {contest}: the contest's board now and at every change
 * (the jury's board for admins, the public one for everyone else). */
static void handle_watch(ws_conn_t *c, const char *type, const char *slug, json_t *id)
{
    if (!strcmp(type, "unwatch_scoreboard")) {
        gw_boards_unwatch(c);
        return;
    }
    size_t n = slug ? strlen(slug) : 0;
    bool ok = n >= 1 && n <= 36;
    for (size_t i = 0; ok && i < n; i++)
        ok = (slug[i] >= 'a' && slug[i] <= 'z') || (slug[i] >= '0' && slug[i] <= '9') || slug[i] == '-';
    if (!ok) {
        ws_send_error(c, "invalid_argument", "contest: must be a contest's slug", NULL, id);
        return;
    }
    bool jury = !strcmp(c->claims.role, "admin");
    json_t *m = json_pack("{s:s,s:s,s:s}", "type", "watching", "contest", slug, "audience",
                          jury ? "jury" : "public");
    if (id)
        json_object_set(m, "id", id);
    ws_send_json(c, m);
    gw_boards_watch(c->gw, c, board_send, slug, jury);
}

static void handle_text(ws_conn_t *c, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *msg = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (msg == NULL || !json_is_object(msg)) {
        ws_send_error(c, "invalid_argument", "messages must be JSON objects", NULL, NULL);
        json_decref(msg);
        return;
    }
    json_t *id = json_object_get(msg, "id");
    const char *type = json_string_value(json_object_get(msg, "type"));
    const char *sub = json_string_value(json_object_get(msg, "submission_id"));
    json_t *jafter = json_object_get(msg, "after");
    const char *after = json_string_value(jafter);
    if (type == NULL) {
        ws_send_error(c, "invalid_argument", "type: is required", NULL, id);
    } else if (!strcmp(type, "ping")) {
        json_t *m = json_pack("{s:s}", "type", "pong");
        if (id)
            json_object_set(m, "id", id);
        ws_send_json(c, m);
    } else if (!strcmp(type, "watch_scoreboard") || !strcmp(type, "unwatch_scoreboard")) {
        handle_watch(c, type, json_string_value(json_object_get(msg, "contest")), id);
    } else if (strcmp(type, "subscribe") && strcmp(type, "unsubscribe") && strcmp(type, "stdin") &&
               strcmp(type, "stdin_close") && strcmp(type, "cancel")) {
        ws_send_error(c, "invalid_argument", "type: unknown message type", NULL, id);
    } else if (sub == NULL || !gw_valid_uuid(sub)) {
        ws_send_error(c, "invalid_argument", "submission_id: must be a submission id", NULL, id);
    } else if (!strcmp(type, "subscribe")) {
        if (jafter && !json_is_null(jafter) &&
            (after == NULL || (*after && !gw_valid_stream_id(after))))
            ws_send_error(c, "invalid_argument", "after: must be an event id", sub, id);
        else
            handle_subscribe(c, sub, after && *after ? after : NULL, id);
    } else if (!strcmp(type, "unsubscribe")) {
        handle_unsubscribe(c, sub);
    } else {
        handle_control(c, type, sub, msg, id);
    }
    json_decref(msg);
}

/* ------------------------------------------------------------------------
 * The reader thread
 * ------------------------------------------------------------------------ */

static void ws_free(ws_conn_t *c)
{
    gw_boards_unwatch(c);
    if (c->ctx)
        wslay_event_context_free(c->ctx);
    while (c->inbox) {
        ws_msg_t *m = c->inbox;
        c->inbox = m->next;
        free(m);
    }
    if (c->wake_fd >= 0)
        close(c->wake_fd);
    kvc_reader_close(c->relay_reader);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c->extra);
    free(c);
}

static void *ws_main(void *arg)
{
    ws_conn_t *c = arg;
    gw_t *gw = c->gw;
    log_set_context("ws", c->req_id, c->claims.sub);
    int fl = fcntl(c->sock, F_GETFL);
    fcntl(c->sock, F_SETFL, fl | O_NONBLOCK);
    /* Events are small frames sent one by one: with Nagle on, each waited for
     * the client's delayed ACK of the one before (about 40 ms on Linux). */
    int one = 1;
    setsockopt(c->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct wslay_event_callbacks cbs = {
        .recv_callback = ws_recv_cb,
        .send_callback = ws_send_cb,
        .on_msg_recv_callback = ws_on_msg,
    };
    wslay_event_context_server_init(&c->ctx, &cbs, c);
    wslay_event_config_set_max_recv_msg_length(c->ctx, WS_MAX_MSG);
    c->last_rx_ms = mono_ms();
    pthread_t relay;
    bool relay_started = pthread_create(&relay, NULL, relay_main, c) == 0;
    int64_t last_ping = mono_ms();
    bool sent_close = false;
    metrics_counter_add("dojo_gateway_websockets_total", "", 1);
    while (!c->closing) {
        pthread_mutex_lock(&c->lock);
        bool want_write = wslay_event_want_write(c->ctx);
        bool want_read = wslay_event_want_read(c->ctx);
        pthread_mutex_unlock(&c->lock);
        if (!want_read && !want_write)
            break;
        struct pollfd pfd[2] = {{c->sock, (short)((want_read ? POLLIN : 0) |
                                                  (want_write ? POLLOUT : 0)),
                                 0},
                                {c->wake_fd, POLLIN, 0}};
        int pr = poll(pfd, 2, 500);
        if (pr < 0 && errno != EINTR)
            break;
        if (pfd[1].revents & POLLIN) {
            uint64_t v;
            ssize_t rd = read(c->wake_fd, &v, sizeof v);
            (void)rd;
        }
        pthread_mutex_lock(&c->lock);
        int rc = 0;
        if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
            rc = wslay_event_recv(c->ctx);
        if (rc == 0)
            rc = wslay_event_send(c->ctx);
        ws_msg_t *inbox = c->inbox;
        c->inbox = NULL;
        c->inbox_tail = &c->inbox;
        pthread_mutex_unlock(&c->lock);
        for (ws_msg_t *m = inbox, *next; m; m = next) {
            next = m->next;
            if (!c->closing)
                handle_text(c, m->text, m->len);
            free(m);
        }
        if (rc != 0)
            break;
        int64_t now = mono_ms();
        if (!sent_close && (gw->stopping || now - c->last_rx_ms > WS_IDLE_MS)) {
            const char *why = gw->stopping ? "server restarting" : "idle";
            pthread_mutex_lock(&c->lock);
            wslay_event_queue_close(c->ctx, gw->stopping ? 1001 : WSLAY_CODE_NORMAL_CLOSURE,
                                    (const uint8_t *)why, strlen(why));
            wslay_event_send(c->ctx);
            pthread_mutex_unlock(&c->lock);
            sent_close = true;
        } else if (sent_close && gw->stopping && now - last_ping > 1000) {
            break; /* the peer did not answer our close in time */
        }
        if (now - last_ping > WS_PING_MS) {
            struct wslay_event_msg ping = {WSLAY_PING, (const uint8_t *)"", 0};
            pthread_mutex_lock(&c->lock);
            wslay_event_queue_msg(c->ctx, &ping);
            pthread_mutex_unlock(&c->lock);
            last_ping = now;
        }
    }
    c->closing = true;
    if (relay_started) {
        pthread_mutex_lock(&c->lock);
        pthread_cond_signal(&c->cond);
        pthread_mutex_unlock(&c->lock);
        relay_wake(c);
        pthread_join(relay, NULL);
    }
    shutdown(c->sock, SHUT_RDWR);
    MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE);
    LOG_DEBUG("websocket closed", "%s", "");
    ws_free(c);
    gw_admit_websocket_count(gw, -1);
    ws_slot_add(gw, -1);
    return NULL;
}

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
                 gw->stopping ? "stopping" : "too_many");
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        return;
    }
    gw_admit_websocket_count(gw, 1);
    ws_conn_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        abort();
    c->gw = gw;
    c->claims = r->claims;
    memcpy(c->req_id, r->req_id, sizeof c->req_id);
    c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    kvc_reader_open(&c->relay_reader, gw->kv);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    c->inbox_tail = &c->inbox;
    c->sock = sock;
    c->urh = urh;
    if (extra_in_size > 0) {
        c->extra = malloc(extra_in_size);
        if (c->extra == NULL)
            abort();
        memcpy(c->extra, extra_in, extra_in_size);
        c->extra_len = extra_in_size;
    }
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, ws_main, c) != 0) {
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        ws_free(c);
        gw_admit_websocket_count(gw, -1);
        ws_slot_add(gw, -1);
    }
    pthread_attr_destroy(&attr);
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
    if (gw_req_auth(r, &e) < 0)
        return gw_respond(r, e);
    /* The slot itself is taken in on_upgrade. */
    pthread_mutex_lock(&gw->ws_lock);
    bool full = gw->ws_count >= gw->cfg.ws_max || gw->stopping;
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
