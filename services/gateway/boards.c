/* boards.c — contest scoreboards pushed to WebSocket viewers.
 *
 * Gamification computes each contest's boards once per change (one per
 * audience: public, jury) and appends them to dojo:contest:boards
 * (libcommon/kvc.h). Here one thread per gateway reads that stream, turns
 * each board into its WebSocket message once, keeps it as the latest of its
 * contest and audience, and hands that same text to every viewer watching:
 * thousands of viewers cost one decode and one serialisation per change and
 * a queued frame each, never a query per viewer. A new viewer gets the
 * latest board at once (from memory, else from Redis' copy of it).
 *
 * Viewers are WebSocket connections joined to the board's topic
 * ("contest:{slug}:public" or ":jury"): a change is one gw_ws_publish, framed
 * once and queued, shared, on every viewer (ws.c). Publishing and a new
 * viewer's first board both happen under the boards' lock, so a viewer never
 * gets an older board after a newer one. Lock order: boards, then ws.c's
 * topics and connections. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway.h"
#include "libcommon/cleanup.h"
#include "libcommon/kvc.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"

#define BOARDS_BLOCK_MS 5000

typedef struct board {
    struct board *next;
    char slug[40];
    bool jury;
    char *text; /* the latest message, or NULL */
    size_t len;
    int64_t generation;
} board_t;

static struct {
    pthread_once_t once;
    pthread_mutex_t lock;
    gw_t *gw;
    board_t *boards;
    kvc_reader_t *reader;
} B = {.once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER};

/* The board of (slug, jury), made when missing. Under B.lock. */
static board_t *board_get(const char *slug, bool jury)
{
    for (board_t *b = B.boards; b; b = b->next)
        if (b->jury == jury && !strcmp(b->slug, slug))
            return b;
    board_t *b = calloc(1, sizeof *b);
    if (b == NULL)
        abort();
    snprintf(b->slug, sizeof b->slug, "%s", slug);
    b->jury = jury;
    b->next = B.boards;
    B.boards = b;
    return b;
}

/* The topic of a board's viewers, into out (GW_BOARD_TOPIC_MAX). */
static void topic_of(char *out, const char *slug, bool jury)
{
    snprintf(out, GW_BOARD_TOPIC_MAX, "contest:%s:%s", slug, jury ? "jury" : "public");
}

/* The WebSocket message of one computed board. New (free). */
static char *message_of(const Dojo__Gamification__V1__Scoreboard *sb, size_t *len)
{
    json_t *m = json_pack("{s:s,s:s,s:o}", "type", "scoreboard", "contest",
                          sb->contest_slug ? sb->contest_slug : "", "scoreboard",
                          gw_json_scoreboard(sb));
    char *text = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    if (text == NULL)
        abort();
    *len = strlen(text);
    return text;
}

/* Takes a newer board into memory and to its viewers. */
static void publish(const uint8_t *data, size_t len)
{
    Dojo__Gamification__V1__ScoreboardUpdate *u =
        dojo__gamification__v1__scoreboard_update__unpack(NULL, len, data);
    if (u == NULL || u->scoreboard == NULL || u->scoreboard->contest_slug == NULL) {
        if (u)
            dojo__gamification__v1__scoreboard_update__free_unpacked(u, NULL);
        return;
    }
    const Dojo__Gamification__V1__Scoreboard *sb = u->scoreboard;
    bool jury = sb->audience == DOJO__GAMIFICATION__V1__CONTEST_ACCESS__CONTEST_ACCESS_JURY;
    size_t n = 0;
    char *text = message_of(sb, &n), topic[GW_BOARD_TOPIC_MAX];
    topic_of(topic, sb->contest_slug, jury);
    size_t sent = 0;
    pthread_mutex_lock(&B.lock);
    board_t *b = board_get(sb->contest_slug, jury);
    if (b->text == NULL || sb->generation >= b->generation) {
        free(b->text);
        b->text = text;
        b->len = n;
        b->generation = sb->generation;
        text = NULL;
        /* Before the first viewer B.gw is unset: nobody to tell. */
        if (B.gw && B.gw->ws)
            sent = gw_ws_publish(B.gw, topic, b->text, b->len);
    }
    pthread_mutex_unlock(&B.lock);
    free(text);
    if (sent)
        metrics_counter_add("dojo_gateway_scoreboard_frames_total", "", (double)sent);
    dojo__gamification__v1__scoreboard_update__free_unpacked(u, NULL);
}

static void *boards_main(void *arg)
{
    (void)arg;
    log_set_context("boards", NULL, NULL);
    char last[48] = "$";
    bool failing = false;
    while (!B.gw->stopping) {
        const char *keys[] = {KVC_BOARDS}, *after[] = {last};
        cleanup_err err_t *err = NULL;
        cleanup_redis_reply redisReply *rep = NULL;
        if (kvc_reader_read(B.reader, 1, keys, after, 100, BOARDS_BLOCK_MS, &rep, &err) < 0) {
            if (!failing)
                LOG_WARN("scoreboard stream read failed", "error=\"%s\"", log_esc(err->msg));
            else
                usleep(500 * 1000);
            failing = true;
            continue;
        }
        failing = false;
        for (size_t i = 0; i < kvc_streams_count(rep); i++) {
            const char *k = NULL;
            const redisReply *entries = NULL;
            if (!kvc_stream_at(rep, i, &k, &entries))
                continue;
            for (size_t e = 0; e < kvc_entries_count(entries); e++) {
                kvc_entry_t ent;
                if (!kvc_entry_at(entries, e, KVC_FIELD_BOARD, &ent))
                    continue;
                snprintf(last, sizeof last, "%s", ent.id);
                if (ent.value)
                    publish((const uint8_t *)ent.value, ent.len);
            }
        }
    }
    return NULL;
}

static void boards_start(void)
{
    kvc_reader_open(&B.reader, B.gw->kv);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, boards_main, NULL) != 0)
        LOG_ERROR("cannot start the scoreboard reader", "%s", "");
    pthread_attr_destroy(&attr);
}

int gw_boards_watch(gw_ws_conn_t *c, const char *slug, bool jury, err_t **err)
{
    gw_t *gw = gw_ws_conn_gw(c);
    if (B.gw == NULL)
        B.gw = gw;
    pthread_once(&B.once, boards_start);
    /* Not in memory yet (this gateway has seen no change of it since it
     * started): the latest copy Redis keeps. */
    pthread_mutex_lock(&B.lock);
    bool known = board_get(slug, jury)->text != NULL;
    pthread_mutex_unlock(&B.lock);
    if (!known) {
        kvc_key_t key;
        cleanup_err err_t *e = NULL;
        cleanup_redis_reply redisReply *rep = NULL;
        if (kv_command(gw->kv, &rep, &e, "GET %s",
                       kvc_key_contest_board(&key, slug, jury ? "jury" : "public")) == 0 &&
            rep && rep->type == REDIS_REPLY_STRING)
            publish((const uint8_t *)rep->str, rep->len);
    }
    gw_boards_unwatch(c);
    char *watched = gw_ws_conn_board(c);
    topic_of(watched, slug, jury);
    pthread_mutex_lock(&B.lock);
    int rc = gw_ws_join(c, watched, err);
    board_t *b = board_get(slug, jury);
    if (rc == 0 && b->text)
        gw_ws_send_text(c, b->text, b->len);
    pthread_mutex_unlock(&B.lock);
    if (rc < 0)
        watched[0] = '\0';
    return rc;
}

void gw_boards_unwatch(gw_ws_conn_t *c)
{
    char *watched = gw_ws_conn_board(c);
    if (watched[0])
        gw_ws_leave(c, watched);
    watched[0] = '\0';
}
