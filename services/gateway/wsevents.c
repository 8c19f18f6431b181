/* wsevents.c — submission events on the WebSocket: subscribe, unsubscribe,
 * stdin and cancel, and the relay that reads every subscribed event stream.
 *
 * One relay thread and one Redis connection (a kvc_reader_t) serve every
 * subscription of the process: the relay keeps a table of the subscribed
 * streams, each with its subscribers and the last entry id each of them was
 * sent, and blocks in one XREAD over all the streams, each read from the
 * earliest position any of its subscribers needs. An entry goes to the
 * subscribers that have not had it yet (its id after theirs), framed once;
 * after a submission's result each gets "done" and the subscription ends. So
 * resuming is exact: a subscribe naming the last id seen gets what follows,
 * however far behind the others on that stream are. A new subscription
 * wakes the relay (kvc_reader_wake) so its stream joins the next read. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "libcommon/cleanup.h"
#include "libcommon/clock.h"
#include "libcommon/kvc.h"
#include "libcommon/log.h"

#define WS_MAX_SUBS 8
#define WS_OWNED_MAX (WS_MAX_SUBS * 2)
#define RELAY_BUCKETS 1024
#define RELAY_COUNT 200
#define RELAY_BLOCK_MS 15000

/* A connection's own: its subscriptions (for the cap) and the submissions
 * it was found to own (stdin and cancel need no second look). */
struct gw_ws_subs {
    char subs[WS_MAX_SUBS][40];
    int nsubs;
    char owned[WS_OWNED_MAX][40];
    int nowned;
};

typedef struct relay_sub {
    gw_ws_conn_t *conn;
    char last[48]; /* the last entry id it was sent */
} relay_sub_t;

typedef struct relay_stream {
    struct relay_stream *next;
    char id[40]; /* the submission */
    relay_sub_t *subs;
    size_t n, cap;
} relay_stream_t;

typedef struct gw_ws_events {
    gw_t *gw;
    pthread_mutex_t lock; /* the table, stop */
    pthread_cond_t cond;
    relay_stream_t *buckets[RELAY_BUCKETS];
    size_t nstreams;
    bool stop;
    kvc_reader_t *reader;
    pthread_t thread;
    bool started;
} gw_ws_events_t;

/* ------------------------------------------------------------------------
 * Stream ids and the table
 * ------------------------------------------------------------------------ */

/* "ms-seq" → (ms, seq); malformed ids sort first. */
static void stream_id_parse(const char *s, unsigned long long *ms, unsigned long long *seq)
{
    char *end = NULL;
    *ms = strtoull(s, &end, 10);
    *seq = end && *end == '-' ? strtoull(end + 1, NULL, 10) : 0;
}

static int stream_id_cmp(const char *a, const char *b)
{
    unsigned long long am, as, bm, bs;
    stream_id_parse(a, &am, &as);
    stream_id_parse(b, &bm, &bs);
    if (am != bm)
        return am < bm ? -1 : 1;
    return as < bs ? -1 : as > bs ? 1 : 0;
}

static relay_stream_t **stream_slot(gw_ws_events_t *ev, const char *id)
{
    uint32_t h = 2166136261u;
    for (const char *p = id; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    relay_stream_t **s = &ev->buckets[h % RELAY_BUCKETS];
    while (*s && strcmp((*s)->id, id) != 0)
        s = &(*s)->next;
    return s;
}

/* Removes conn's subscription to `id` from the table and from the
 * connection (with ev->lock). */
static void unsubscribe_locked(gw_ws_events_t *ev, gw_ws_conn_t *c, const char *id)
{
    gw_ws_subs_t *cs = *gw_ws_conn_subs(c);
    if (cs)
        for (int i = 0; i < cs->nsubs; i++)
            if (!strcmp(cs->subs[i], id)) {
                memcpy(cs->subs[i], cs->subs[--cs->nsubs], sizeof cs->subs[i]);
                break;
            }
    relay_stream_t **slot = stream_slot(ev, id);
    relay_stream_t *s = *slot;
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        if (s->subs[i].conn == c) {
            s->subs[i] = s->subs[--s->n];
            break;
        }
    if (s->n == 0) {
        *slot = s->next;
        free(s->subs);
        free(s);
        ev->nstreams--;
    }
}

static gw_ws_subs_t *conn_subs(gw_ws_conn_t *c)
{
    gw_ws_subs_t **cs = gw_ws_conn_subs(c);
    if (*cs == NULL && (*cs = calloc(1, sizeof **cs)) == NULL)
        abort();
    return *cs;
}

void gw_ws_events_drop(gw_ws_conn_t *c)
{
    gw_ws_events_t *ev = gw_ws_gw(c)->ws_events;
    if (ev == NULL)
        return;
    pthread_mutex_lock(&ev->lock);
    gw_ws_subs_t *cs = *gw_ws_conn_subs(c);
    while (cs && cs->nsubs > 0) {
        char id[40];
        memcpy(id, cs->subs[0], sizeof id);
        unsubscribe_locked(ev, c, id);
    }
    free(cs);
    *gw_ws_conn_subs(c) = NULL;
    pthread_mutex_unlock(&ev->lock);
}

/* ------------------------------------------------------------------------
 * The relay
 * ------------------------------------------------------------------------ */

/* Sends one entry of stream `sub`, read after `from`, to those of its
 * subscribers that lack it and had everything up to `from` (one that joined
 * further back while the read was out waits for the next read, which starts
 * from its position); after the result, "done", and their subscriptions
 * end. With ev->lock, held for the whole reply: a subscriber joining between
 * two of its entries would get the second without the first. */
static void relay_entry(gw_ws_events_t *ev, const char *sub, const char *from,
                        const kvc_entry_t *e)
{
    Dojo__Executor__V1__Event *pe =
        e->value ? dojo__executor__v1__event__unpack(NULL, e->len, (const uint8_t *)e->value)
                 : NULL;
    gw_ws_frame_t *frame = NULL, *done_frame = NULL;
    bool done = false;
    if (pe != NULL) {
        done = pe->kind_case == DOJO__EXECUTOR__V1__EVENT__KIND_RESULT;
        json_t *m = gw_json_event(pe, e->id);
        json_object_set_new(m, "type", json_string("event"));
        dojo__executor__v1__event__free_unpacked(pe, NULL);
        char *text = json_dumps(m, JSON_COMPACT);
        json_decref(m);
        if (text) {
            frame = gw_ws_frame_text(text, strlen(text));
            free(text);
        }
        if (done) {
            char text2[96];
            int n = snprintf(text2, sizeof text2, "{\"type\":\"done\",\"submission_id\":\"%s\"}",
                             sub);
            done_frame = gw_ws_frame_text(text2, (size_t)n);
        }
    }
    relay_stream_t *s = *stream_slot(ev, sub);
    for (size_t i = 0; s && i < s->n;) {
        relay_sub_t *rs = &s->subs[i];
        if (stream_id_cmp(e->id, rs->last) <= 0 || stream_id_cmp(rs->last, from) < 0) {
            i++;
            continue;
        }
        snprintf(rs->last, sizeof rs->last, "%s", e->id);
        if (frame)
            gw_ws_send_frame(rs->conn, frame);
        if (done) {
            gw_ws_send_frame(rs->conn, done_frame);
            size_t before = s->n;
            unsubscribe_locked(ev, rs->conn, sub);
            if (before == 1)
                break; /* the stream is gone with its last subscriber */
            continue;  /* subs[i] is another one now */
        }
        i++;
    }
    gw_ws_frame_unref(frame);
    gw_ws_frame_unref(done_frame);
}

static void *relay_main(void *arg)
{
    gw_ws_events_t *ev = arg;
    log_set_context("ws-relay", NULL, NULL);
    bool failing = false;
    size_t cap = 0;
    kvc_key_t *keys = NULL;
    const char **key = NULL, **after = NULL;
    char (*pos)[48] = NULL;
    for (;;) {
        pthread_mutex_lock(&ev->lock);
        while (ev->nstreams == 0 && !ev->stop)
            pthread_cond_wait(&ev->cond, &ev->lock);
        if (ev->stop) {
            pthread_mutex_unlock(&ev->lock);
            break;
        }
        if (ev->nstreams > cap) {
            cap = ev->nstreams * 2;
            keys = realloc(keys, cap * sizeof *keys);
            key = realloc(key, cap * sizeof *key);
            after = realloc(after, cap * sizeof *after);
            pos = realloc(pos, cap * sizeof *pos);
            if (!keys || !key || !after || !pos)
                abort();
        }
        size_t n = 0;
        for (size_t b = 0; b < RELAY_BUCKETS; b++)
            for (relay_stream_t *s = ev->buckets[b]; s; s = s->next) {
                const char *min = s->subs[0].last;
                for (size_t i = 1; i < s->n; i++)
                    if (stream_id_cmp(s->subs[i].last, min) < 0)
                        min = s->subs[i].last;
                key[n] = kvc_key_events(&keys[n], s->id);
                snprintf(pos[n], sizeof pos[n], "%s", min);
                after[n] = pos[n];
                n++;
            }
        pthread_mutex_unlock(&ev->lock);

        cleanup_err err_t *err = NULL;
        cleanup_redis_reply redisReply *rep = NULL;
        if (kvc_reader_read(ev->reader, n, key, after, RELAY_COUNT, RELAY_BLOCK_MS, &rep, &err) <
            0) {
            /* Once at once, then every half second while Redis stays away. */
            if (!failing)
                LOG_WARN("relay read failed", "error=\"%s\"", log_esc(err->msg));
            else
                sleep_ms(500);
            failing = true;
            continue;
        }
        failing = false;
        pthread_mutex_lock(&ev->lock);
        for (size_t i = 0; i < kvc_streams_count(rep); i++) {
            const char *k = NULL;
            const redisReply *entries = NULL;
            if (!kvc_stream_at(rep, i, &k, &entries))
                continue;
            const char *sub = kvc_events_key_id(k);
            const char *from = NULL;
            for (size_t q = 0; sub && q < n && from == NULL; q++)
                if (!strcmp(key[q], k))
                    from = after[q];
            if (from == NULL)
                continue;
            for (size_t j = 0; j < kvc_entries_count(entries); j++) {
                kvc_entry_t e;
                if (kvc_entry_at(entries, j, KVC_FIELD_EVENT, &e))
                    relay_entry(ev, sub, from, &e);
            }
        }
        pthread_mutex_unlock(&ev->lock);
    }
    free(keys);
    free(key);
    free(after);
    free(pos);
    return NULL;
}

int gw_ws_events_open(gw_t *gw, err_t **err)
{
    gw_ws_events_t *ev = calloc(1, sizeof *ev);
    if (ev == NULL)
        abort();
    ev->gw = gw;
    pthread_mutex_init(&ev->lock, NULL);
    pthread_cond_init(&ev->cond, NULL);
    kvc_reader_open(&ev->reader, gw->kv);
    gw->ws_events = ev;
    if (pthread_create(&ev->thread, NULL, relay_main, ev) != 0)
        return err_set(err, GRPC_STATUS_INTERNAL, "cannot start the websocket relay");
    ev->started = true;
    return 0;
}

void gw_ws_events_close(gw_t *gw)
{
    gw_ws_events_t *ev = gw->ws_events;
    if (ev == NULL)
        return;
    pthread_mutex_lock(&ev->lock);
    ev->stop = true;
    pthread_cond_broadcast(&ev->cond);
    pthread_mutex_unlock(&ev->lock);
    kvc_reader_wake(ev->reader);
    if (ev->started)
        pthread_join(ev->thread, NULL);
    kvc_reader_close(ev->reader);
    for (size_t b = 0; b < RELAY_BUCKETS; b++)
        for (relay_stream_t *s = ev->buckets[b], *n; s; s = n) {
            n = s->next;
            free(s->subs);
            free(s);
        }
    pthread_mutex_destroy(&ev->lock);
    pthread_cond_destroy(&ev->cond);
    free(ev);
    gw->ws_events = NULL;
}

/* ------------------------------------------------------------------------
 * Client messages (workers)
 * ------------------------------------------------------------------------ */

static bool owned_cached(gw_ws_events_t *ev, gw_ws_conn_t *c, const char *id)
{
    bool found = false;
    pthread_mutex_lock(&ev->lock);
    gw_ws_subs_t *cs = *gw_ws_conn_subs(c);
    for (int i = 0; cs && i < cs->nowned && !found; i++)
        found = !strcmp(cs->owned[i], id);
    pthread_mutex_unlock(&ev->lock);
    return found;
}

static void owned_add(gw_ws_events_t *ev, gw_ws_conn_t *c, const char *id)
{
    pthread_mutex_lock(&ev->lock);
    if (!gw_ws_conn_closed(c)) {
        gw_ws_subs_t *cs = conn_subs(c);
        bool found = false;
        for (int i = 0; i < cs->nowned && !found; i++)
            found = !strcmp(cs->owned[i], id);
        if (!found) {
            int slot = cs->nowned < WS_OWNED_MAX ? cs->nowned++ : (int)(random() % cs->nowned);
            snprintf(cs->owned[slot], sizeof cs->owned[slot], "%s", id);
        }
    }
    pthread_mutex_unlock(&ev->lock);
}

/* Whether stream entry `e` is a submission's result event. */
static bool is_result_event(const kvc_entry_t *e)
{
    if (e->value == NULL)
        return false;
    Dojo__Executor__V1__Event *pe =
        dojo__executor__v1__event__unpack(NULL, e->len, (const uint8_t *)e->value);
    if (pe == NULL)
        return false;
    bool result = pe->kind_case == DOJO__EXECUTOR__V1__EVENT__KIND_RESULT;
    dojo__executor__v1__event__free_unpacked(pe, NULL);
    return result;
}

/* The submission id of a message, or NULL after answering the error. */
static const char *msg_submission(gw_ws_conn_t *c, json_t *msg, json_t *id)
{
    const char *sub = json_string_value(json_object_get(msg, "submission_id"));
    if (sub == NULL || !gw_valid_uuid(sub)) {
        gw_ws_send_error(c, "invalid_argument", "submission_id: must be a submission id", NULL,
                         id);
        return NULL;
    }
    return sub;
}

static void subscribe(gw_ws_conn_t *c, const char *sub, const char *after, json_t *id)
{
    gw_t *gw = gw_ws_gw(c);
    gw_ws_events_t *ev = gw->ws_events;
    cleanup_err err_t *e = NULL;
    cleanup_pb Dojo__Gamification__V1__GetSubmissionResponse *s = NULL;
    if (gw_submission_owned(gw, gw_ws_req_id(c), gw_ws_claims(c), sub, &s, &e) < 0) {
        gw_ws_send_err(c, e, sub, id);
        return;
    }
    owned_add(ev, c, sub);
    bool finished =
        s->submission->state == DOJO__GAMIFICATION__V1__SUBMISSION_STATE__SUBMISSION_STATE_FINISHED;
    kvc_key_t key;
    cleanup_redis_reply redisReply *ex = NULL;
    if (kv_command(gw->kv, &ex, &e, "EXISTS %s", kvc_key_events(&key, sub)) < 0) {
        gw_ws_send_err(c, e, sub, id);
        return;
    }
    const char *state = finished ? "finished" : "pending";
    json_t *m = json_pack("{s:s,s:s,s:s}", "type", "subscribed", "submission_id", sub, "state",
                          state);
    if (id)
        json_object_set(m, "id", id);
    bool stored = ex->type == REDIS_REPLY_INTEGER && ex->integer == 0 && finished;
    if (finished && !stored) {
        cleanup_redis_reply redisReply *last = NULL;
        if (kv_command(gw->kv, &last, &e, "XREVRANGE %s + - COUNT 1", kvc_key_events(&key, sub)) <
            0) {
            json_decref(m);
            gw_ws_send_err(c, e, sub, id);
            return;
        }
        kvc_entry_t le;
        bool have_last =
            kvc_entries_count(last) == 1 && kvc_entry_at(last, 0, KVC_FIELD_EVENT, &le);
        if (!have_last || !is_result_event(&le)) {
            /* The row is final but its result event is not (yet) on the
             * stream — the executor died or Redis was away between
             * recording and publishing, and a redelivery will write it
             * later: the stored result now rather than a wait. */
            stored = true;
        } else if (after != NULL && stream_id_cmp(after, le.id) >= 0) {
            /* Resuming after the result (the client missed only "done"):
             * nothing will follow it. */
            gw_ws_send_json(c, m);
            gw_ws_send_json(c, json_pack("{s:s,s:s}", "type", "done", "submission_id", sub));
            return;
        }
    }
    if (stored) {
        /* The event stream expired, or lacks the result: the stored result
         * whole. */
        gw_ws_send_json(c, m);
        gw_ws_send_json(c, json_pack("{s:s,s:s,s:o}", "type", "submission", "submission_id", sub,
                                     "submission", gw_json_submission(s->submission)));
        gw_ws_send_json(c, json_pack("{s:s,s:s}", "type", "done", "submission_id", sub));
        return;
    }
    /* Join the table after "subscribed" went out: events come after it. */
    pthread_mutex_lock(&ev->lock);
    if (gw_ws_conn_closed(c)) {
        pthread_mutex_unlock(&ev->lock);
        json_decref(m);
        return;
    }
    gw_ws_subs_t *cs = conn_subs(c);
    bool have = false;
    for (int i = 0; i < cs->nsubs && !have; i++)
        have = !strcmp(cs->subs[i], sub);
    if (!have && cs->nsubs >= WS_MAX_SUBS) {
        pthread_mutex_unlock(&ev->lock);
        json_decref(m);
        gw_ws_send_error(c, "resource_exhausted", "at most 8 subscriptions per connection", sub,
                         id);
        return;
    }
    gw_ws_send_json(c, m);
    relay_stream_t **slot = stream_slot(ev, sub);
    if (*slot == NULL) {
        relay_stream_t *st = calloc(1, sizeof *st);
        if (st == NULL)
            abort();
        snprintf(st->id, sizeof st->id, "%s", sub);
        *slot = st;
        ev->nstreams++;
    }
    relay_stream_t *st = *slot;
    relay_sub_t *rs = NULL;
    for (size_t i = 0; i < st->n && rs == NULL; i++)
        if (st->subs[i].conn == c)
            rs = &st->subs[i];
    if (rs == NULL) {
        if (st->n == st->cap) {
            st->cap = st->cap ? st->cap * 2 : 2;
            st->subs = realloc(st->subs, st->cap * sizeof *st->subs);
            if (st->subs == NULL)
                abort();
        }
        rs = &st->subs[st->n++];
        rs->conn = c;
        snprintf(cs->subs[cs->nsubs++], sizeof cs->subs[0], "%s", sub);
    }
    snprintf(rs->last, sizeof rs->last, "%s", after ? after : "0-0");
    pthread_cond_signal(&ev->cond);
    pthread_mutex_unlock(&ev->lock);
    kvc_reader_wake(ev->reader);
}

void gw_ws_h_subscribe(gw_ws_conn_t *c, const char *type, json_t *msg, json_t *id)
{
    const char *sub = msg_submission(c, msg, id);
    if (sub == NULL)
        return;
    json_t *jafter = json_object_get(msg, "after");
    const char *after = json_string_value(jafter);
    if (jafter && !json_is_null(jafter) && (after == NULL || (*after && !gw_valid_stream_id(after))))
        gw_ws_send_error(c, "invalid_argument", "after: must be an event id", sub, id);
    else
        subscribe(c, sub, after && *after ? after : NULL, id);
}

void gw_ws_h_unsubscribe(gw_ws_conn_t *c, const char *type, json_t *msg, json_t *id)
{
    const char *sub = msg_submission(c, msg, id);
    if (sub == NULL)
        return;
    gw_ws_events_t *ev = gw_ws_gw(c)->ws_events;
    pthread_mutex_lock(&ev->lock);
    unsubscribe_locked(ev, c, sub);
    pthread_mutex_unlock(&ev->lock);
}

void gw_ws_h_control(gw_ws_conn_t *c, const char *type, json_t *msg, json_t *id)
{
    const char *sub = msg_submission(c, msg, id);
    if (sub == NULL)
        return;
    gw_t *gw = gw_ws_gw(c);
    cleanup_err err_t *e = NULL;
    if (!owned_cached(gw->ws_events, c, sub)) {
        if (gw_submission_owned(gw, gw_ws_req_id(c), gw_ws_claims(c), sub, NULL, &e) < 0) {
            gw_ws_send_err(c, e, sub, id);
            return;
        }
        owned_add(gw->ws_events, c, sub);
    }
    Dojo__Executor__V1__Control ctl = DOJO__EXECUTOR__V1__CONTROL__INIT;
    Dojo__Executor__V1__StdinData sd = DOJO__EXECUTOR__V1__STDIN_DATA__INIT;
    Dojo__Executor__V1__StdinClose sc = DOJO__EXECUTOR__V1__STDIN_CLOSE__INIT;
    Dojo__Executor__V1__Cancel cancel = DOJO__EXECUTOR__V1__CANCEL__INIT;
    if (!strcmp(type, "stdin")) {
        json_t *d = json_object_get(msg, "data");
        if (!json_is_string(d) || json_string_length(d) == 0 || json_string_length(d) > 4096) {
            gw_ws_send_error(c, "invalid_argument", "data: must be a string of 1 to 4096 bytes",
                             sub, id);
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
    if (gw_control_send(gw, sub, &ctl, &e) < 0) {
        gw_ws_send_err(c, e, sub, id);
        return;
    }
    json_t *m = json_pack("{s:s,s:s}", "type", "ok", "submission_id", sub);
    if (id)
        json_object_set(m, "id", id);
    gw_ws_send_json(c, m);
}
