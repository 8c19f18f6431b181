/* scoreboard.c — contest scoreboards: what each audience sees (the public
 * board hides the results of submissions made during the freeze until the
 * jury reveals or thaws them; the jury sees everything), the jury's thaw,
 * step-by-step reveal and finalisation, and the publisher.
 *
 * The publisher is one thread. Anything that changes a contest's board marks
 * it (gam_board_touch); the thread waits a moment so that a burst of
 * judgements makes one computation, computes the public and the jury board
 * once, announces changed awards in the event log, and publishes both to
 * Redis (kvc_board_publish), where gateways pick them up for their
 * WebSocket viewers: one computation per change, whatever the number of
 * viewers. Every second it also ticks the contests it knows, so a start,
 * a freeze or an end reaches the event log and the viewers on time. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gamification.h"
#include "libcommon/arena.h"
#include "libcommon/cleanup.h"
#include "libcommon/clock.h"
#include "libcommon/kvc.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"
#include "libcommon/metrics.h"
#include "services/gamification/board.h"

#define ACCESS_PUBLIC DOJO__GAMIFICATION__V1__CONTEST_ACCESS__CONTEST_ACCESS_PUBLIC
#define ACCESS_JURY DOJO__GAMIFICATION__V1__CONTEST_ACCESS__CONTEST_ACCESS_JURY
#define IOI DOJO__CONTENT__V1__SCORING_KIND__SCORING_KIND_IOI

/* How long the publisher waits after a mark for more of them. */
#define COALESCE_MS 50

/* ------------------------------------------------------------------------
 * Building a board
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_board_teams = {
    .name = "game_board_teams",
    .sql = "SELECT id, name FROM game.contest_teams WHERE contest = $1 AND NOT hidden "
           "AND ($2 = '' OR $2 = ANY (group_ids)) ORDER BY id",
    .nparams = 2,
};

/* Counted submissions with their current judgement; a submission finished
 * without one (the sweeper's internal errors) has its own verdict. */
static const pg_stmt_t stmt_board_subs = {
    .name = "game_board_subs",
    .sql = "SELECT s.seq, s.contest_team, s.contest_problem, s.contest_ms, "
           "coalesce(j.verdict, CASE WHEN s.finished THEN s.verdict ELSE 0 END), "
           "coalesce(j.score_c, 0) FROM game.submissions s "
           "LEFT JOIN LATERAL (SELECT verdict, score_c FROM game.contest_judgements k "
           "  WHERE k.submission_id = s.id AND k.finished_at IS NOT NULL ORDER BY k.seq DESC "
           "  LIMIT 1) j ON true "
           "WHERE s.contest = $1 AND s.contest_counted",
    .nparams = 1,
};

static const pg_stmt_t stmt_board_reveals = {
    .name = "game_board_reveals",
    .sql = "SELECT team_id, problem FROM game.contest_reveals WHERE contest = $1",
    .nparams = 1,
};

static const pg_stmt_t stmt_board_jury_times = {
    .name = "game_board_jury_times",
    .sql = "SELECT " GAM_US("thawed_at") ", " GAM_US(
        "finalized_at") " FROM game.contests WHERE slug = $1",
    .nparams = 1,
};

/* Everything one computation needs, loaded once for both audiences. */
typedef struct board_data {
    PGresult *teams, *subs, *reveals;
    int64_t thawed, finalized;
} board_data_t;

static void board_data_free(board_data_t *d)
{
    PQclear(d->teams);
    PQclear(d->subs);
    PQclear(d->reveals);
    memset(d, 0, sizeof *d);
}

static int board_data_load(pg_conn_t *conn, const char *slug, const char *group, board_data_t *d,
                           err_t **err)
{
    memset(d, 0, sizeof *d);
    const char *p1[] = {slug}, *p2[] = {slug, group ? group : ""};
    cleanup_pgresult PGresult *times = NULL;
    if (pg_exec(conn, &stmt_board_teams, p2, &d->teams, err) < 0 ||
        pg_exec(conn, &stmt_board_subs, p1, &d->subs, err) < 0 ||
        pg_exec(conn, &stmt_board_reveals, p1, &d->reveals, err) < 0 ||
        pg_exec(conn, &stmt_board_jury_times, p1, &times, err) < 0) {
        board_data_free(d);
        return err_wrap(err, "board of %s", slug);
    }
    if (PQntuples(times) == 1) {
        d->thawed = pg_get_int64(times, 0, 0);
        d->finalized = pg_get_int64(times, 0, 1);
    }
    return 0;
}

static bool revealed(const board_data_t *d, const char *team, const char *problem)
{
    for (int i = 0; i < PQntuples(d->reveals); i++)
        if (!strcmp(pg_get(d->reveals, i, 0), team) && !strcmp(pg_get(d->reveals, i, 1), problem))
            return true;
    return false;
}

static Dojo__Gamification__V1__ContestAward *
award_msg(ProtobufCAllocator *a, const board_input_t *in, const board_award_t *w)
{
    Dojo__Gamification__V1__ContestAward *m = GAM_NEW(a, Dojo__Gamification__V1__ContestAward,
                                                      DOJO__GAMIFICATION__V1__CONTEST_AWARD__INIT);
    m->id = gam_strdup(a, w->id);
    m->citation = gam_strdup(a, w->citation);
    m->team_ids = gam_new(a, (w->nteams + 1) * sizeof *m->team_ids);
    for (size_t i = 0; i < w->nteams; i++)
        m->team_ids[m->n_team_ids++] = gam_strdup(a, in->teams[w->teams[i]].id);
    return m;
}

/* The board of `c` for `audience` from `d`. With `frozen_cells`, the
 * (team, problem) pairs hidden by the freeze are reported to it in board
 * order (RevealNext). */
typedef void (*frozen_cell_fn)(void *arg, const char *team, const char *problem);

/* board.c's input for one audience, built from the loaded rows: the
 * problems, the visible teams, their submissions (another group's or a
 * hidden team's left out), and the cells the freeze hides from it. */
typedef struct board_build {
    board_problem_t *problems;
    board_team_t *teams;
    board_sub_t *subs;
    bool **frozen_of; /* [team][problem]: hidden by the freeze */
    board_input_t in;
} board_build_t;

static void build_free(board_build_t *b)
{
    for (size_t t = 0; t < b->in.nteams; t++)
        free(b->frozen_of[t]);
    free(b->frozen_of);
    free(b->problems);
    free(b->teams);
    free(b->subs);
}

/* The submissions of d->subs on the board's teams and problems; with
 * `hiding`, those made during the freeze and not revealed are frozen. */
static void build_subs(board_build_t *b, const Dojo__Content__V1__Contest *c, const board_data_t *d,
                       bool hiding)
{
    int64_t start = c->start ? c->start->unix_micros : 0;
    int64_t freeze = gam_contest_freeze_us(c);
    size_t nt = b->in.nteams, ns = (size_t)PQntuples(d->subs), n = 0;
    for (size_t i = 0; i < ns; i++) {
        const char *team = pg_get(d->subs, (int)i, 1), *label = pg_get(d->subs, (int)i, 2);
        size_t t = nt;
        for (size_t k = 0; k < nt; k++)
            if (!strcmp(b->teams[k].id, team)) {
                t = k;
                break;
            }
        int p = gam_contest_problem(c, label);
        if (t == nt || p < 0)
            continue; /* a hidden team's, or another group's */
        board_sub_t *s = &b->subs[n++];
        s->team = t;
        s->problem = (size_t)p;
        s->seq = pg_get_int64(d->subs, (int)i, 0);
        s->time_ms = pg_get_int64(d->subs, (int)i, 3);
        s->verdict = (int)pg_get_int64(d->subs, (int)i, 4);
        s->score_c = pg_get_int64(d->subs, (int)i, 5);
        if (hiding && freeze && start + s->time_ms * 1000 >= freeze && !revealed(d, team, label)) {
            s->frozen = true;
            b->frozen_of[t][p] = true;
        }
    }
    b->in.nsubs = n;
}

static void build_input(board_build_t *b, const Dojo__Content__V1__Contest *c,
                        const board_data_t *d, bool hiding)
{
    size_t np = c->n_problems, nt = (size_t)PQntuples(d->teams), ns = (size_t)PQntuples(d->subs);
    memset(b, 0, sizeof *b);
    b->problems = xcalloc(np + 1, sizeof *b->problems);
    b->teams = xcalloc(nt + 1, sizeof *b->teams);
    b->subs = xcalloc(ns + 1, sizeof *b->subs);
    b->frozen_of = xcalloc(nt + 1, sizeof *b->frozen_of);
    for (size_t p = 0; p < np; p++) {
        b->problems[p].label = c->problems[p]->label;
        b->problems[p].points_c =
            (int64_t)(c->problems[p]->points > 0 ? c->problems[p]->points : 100) * 100;
    }
    for (size_t t = 0; t < nt; t++) {
        b->teams[t].id = pg_get(d->teams, (int)t, 0);
        b->teams[t].name = pg_get(d->teams, (int)t, 1);
        b->frozen_of[t] = xcalloc(np + 1, sizeof **b->frozen_of);
    }
    b->in = (board_input_t){.scoring = c->scoring == IOI ? BOARD_IOI : BOARD_ICPC,
                            .ioi_mode = c->ioi_mode == DOJO__CONTENT__V1__IOI_MODE__IOI_MODE_LAST
                                            ? BOARD_IOI_LAST
                                            : BOARD_IOI_BEST,
                            .penalty_minutes = c->penalty_minutes,
                            .gold = c->medals ? c->medals->gold : 0,
                            .silver = c->medals ? c->medals->silver : 0,
                            .bronze = c->medals ? c->medals->bronze : 0,
                            .problems = b->problems,
                            .nproblems = np,
                            .teams = b->teams,
                            .nteams = nt,
                            .subs = b->subs};
    build_subs(b, c, d, hiding);
}

/* One row of the board; its frozen cells go to `each_frozen` (when set) in
 * problem order. */
static Dojo__Gamification__V1__ScoreboardRow *row_msg(ProtobufCAllocator *a, const board_build_t *b,
                                                      const board_row_t *r,
                                                      frozen_cell_fn each_frozen, void *arg)
{
    size_t np = b->in.nproblems;
    Dojo__Gamification__V1__ScoreboardRow *row = GAM_NEW(
        a, Dojo__Gamification__V1__ScoreboardRow, DOJO__GAMIFICATION__V1__SCOREBOARD_ROW__INIT);
    row->rank = r->rank;
    row->team_id = gam_strdup(a, b->teams[r->team].id);
    row->num_solved = r->num_solved;
    row->total_minutes = r->total_minutes;
    row->score = (double)r->score_c / 100.0;
    row->last_time_ms = r->last_ms;
    row->problems = gam_new(a, (np + 1) * sizeof *row->problems);
    for (size_t p = 0; p < np; p++) {
        const board_cell_t *cell = &r->cells[p];
        Dojo__Gamification__V1__ScoreboardCell *m =
            GAM_NEW(a, Dojo__Gamification__V1__ScoreboardCell,
                    DOJO__GAMIFICATION__V1__SCOREBOARD_CELL__INIT);
        m->problem_id = gam_strdup(a, b->problems[p].label);
        m->num_judged = cell->num_judged;
        m->num_pending = cell->num_pending;
        m->solved = cell->solved;
        m->score = (double)cell->score_c / 100.0;
        m->time_ms = cell->time_ms;
        m->first_to_solve = cell->first_to_solve;
        row->problems[row->n_problems++] = m;
        if (each_frozen && b->frozen_of[r->team][p])
            each_frozen(arg, b->teams[r->team].id, b->problems[p].label);
    }
    return row;
}

static Dojo__Gamification__V1__Scoreboard *
board_of(ProtobufCAllocator *a, const Dojo__Content__V1__Contest *c, const board_data_t *d,
         int audience, int64_t now, frozen_cell_fn each_frozen, void *arg)
{
    gam_state_t st;
    gam_contest_state(c, now, d->thawed, d->finalized, &st);
    bool hiding = audience == ACCESS_PUBLIC && st.frozen && !st.thawed;
    board_build_t bb;
    build_input(&bb, c, d, hiding);
    board_t b;
    board_compute(&bb.in, &b);

    Dojo__Gamification__V1__Scoreboard *sb =
        GAM_NEW(a, Dojo__Gamification__V1__Scoreboard, DOJO__GAMIFICATION__V1__SCOREBOARD__INIT);
    sb->contest_slug = gam_strdup(a, c->slug);
    sb->audience = audience;
    sb->time = GAM_NEW(a, Dojo__Common__V1__Timestamp, DOJO__COMMON__V1__TIMESTAMP__INIT);
    sb->time->unix_micros = now;
    sb->contest_time_ms = (now - (c->start ? c->start->unix_micros : 0)) / 1000;
    sb->state = gam_state_msg(a, &st);
    sb->scoring = c->scoring;
    sb->frozen = hiding;
    sb->rows = gam_new(a, (b.nrows + 1) * sizeof *sb->rows);
    for (size_t i = 0; i < b.nrows; i++)
        sb->rows[sb->n_rows++] = row_msg(a, &bb, &b.rows[i], each_frozen, arg);
    sb->awards = gam_new(a, (b.nawards + 1) * sizeof *sb->awards);
    for (size_t i = 0; i < b.nawards; i++)
        sb->awards[sb->n_awards++] = award_msg(a, &bb.in, &b.awards[i]);
    board_free(&b);
    build_free(&bb);
    return sb;
}

int gam_board_build(gam_t *g, pg_conn_t *conn, const Dojo__Content__V1__Contest *c, int audience,
                    const char *group_id, int64_t now, ProtobufCAllocator *a,
                    Dojo__Gamification__V1__Scoreboard **out, err_t **err)
{
    board_data_t d;
    if (board_data_load(conn, c->slug, group_id, &d, err) < 0)
        return -1;
    *out = board_of(a, c, &d, audience, now, NULL, NULL);
    board_data_free(&d);
    return 0;
}

/* ------------------------------------------------------------------------
 * Publishing
 * ------------------------------------------------------------------------ */

static const pg_stmt_t stmt_board_generation = {
    .name = "game_board_generation",
    .sql = "UPDATE game.contests SET board_generation = board_generation + 1 WHERE slug = $1 "
           "RETURNING board_generation, coalesce(encode(awards_public_pb, 'hex'), ''), "
           "coalesce(encode(awards_jury_pb, 'hex'), '')",
    .nparams = 1,
};

static const pg_stmt_t stmt_board_awards_store = {
    .name = "game_board_awards_store",
    .sql = "UPDATE game.contests SET awards_public_pb = decode($2, 'hex'), "
           "awards_jury_pb = decode($3, 'hex') WHERE slug = $1",
    .nparams = 3,
};

static bool same_award(const Dojo__Gamification__V1__ContestAward *x,
                       const Dojo__Gamification__V1__ContestAward *y)
{
    if (strcmp(x->citation, y->citation) != 0 || x->n_team_ids != y->n_team_ids)
        return false;
    for (size_t i = 0; i < x->n_team_ids; i++)
        if (strcmp(x->team_ids[i], y->team_ids[i]) != 0)
            return false;
    return true;
}

/* Announces the awards of `now` that differ from those of `before` (a hex
 * Scoreboard holding awards, "" for none), for the jury or for everyone
 * else. Returns the hex to store. */
static int announce_awards(pg_conn_t *conn, ProtobufCAllocator *a, const char *slug,
                           const Dojo__Gamification__V1__Scoreboard *sb, const char *before_hex,
                           bool jury, int64_t wall, char **hex_out, err_t **err)
{
    Dojo__Gamification__V1__Scoreboard *before = NULL;
    if (before_hex[0]) {
        size_t len = strlen(before_hex) / 2;
        uint8_t *bin = gam_new(a, len + 1);
        for (size_t i = 0; i < len; i++)
            sscanf(before_hex + 2 * i, "%2hhx", &bin[i]);
        before = dojo__gamification__v1__scoreboard__unpack(a, len, bin);
    }
    for (size_t i = 0; i < sb->n_awards; i++) {
        const Dojo__Gamification__V1__ContestAward *w = sb->awards[i];
        bool unchanged = false;
        for (size_t k = 0; before && k < before->n_awards && !unchanged; k++)
            unchanged = !strcmp(before->awards[k]->id, w->id) && same_award(before->awards[k], w);
        if (unchanged)
            continue;
        Dojo__Gamification__V1__ContestEvent ev = DOJO__GAMIFICATION__V1__CONTEST_EVENT__INIT;
        ev.type = "awards";
        ev.id = w->id;
        ev.data_case = DOJO__GAMIFICATION__V1__CONTEST_EVENT__DATA_AWARD;
        ev.award = (Dojo__Gamification__V1__ContestAward *)w;
        if (gam_event_add(conn, slug, &ev, jury, !jury, "", wall, err) < 0)
            return -1;
    }
    Dojo__Gamification__V1__Scoreboard only = DOJO__GAMIFICATION__V1__SCOREBOARD__INIT;
    only.n_awards = sb->n_awards;
    only.awards = sb->awards;
    *hex_out = gam_pack_hex(&only.base);
    return 0;
}

static void publish_one(gam_t *g, const char *slug, const Dojo__Gamification__V1__Scoreboard *sb,
                        const char *audience)
{
    Dojo__Gamification__V1__ScoreboardUpdate up = DOJO__GAMIFICATION__V1__SCOREBOARD_UPDATE__INIT;
    up.scoreboard = (Dojo__Gamification__V1__Scoreboard *)sb;
    size_t len = protobuf_c_message_get_packed_size(&up.base);
    cleanup_free uint8_t *buf = malloc(len + 1);
    if (buf == NULL)
        abort();
    protobuf_c_message_pack(&up.base, buf);
    cleanup_err err_t *err = NULL;
    if (kvc_board_publish(g->kv, slug, audience, buf, len, &err) < 0)
        LOG_WARN("scoreboard not published", "contest=%s audience=%s error=\"%s\"", slug, audience,
                 log_esc(err->msg));
}

/* Computes and publishes both boards of one contest. */
static int publish(gam_t *g, const char *slug, err_t **err)
{
    arena_t ar = {0};
    ProtobufCAllocator a;
    arena_pb_allocator(&ar, &a);
    cleanup_pgconn pg_conn_t *conn = NULL;
    Dojo__Content__V1__Contest *c = NULL;
    board_data_t d = {0};
    PGresult *gen = NULL;
    char *pub_hex = NULL, *jury_hex = NULL;
    int rc = -1;
    int64_t now = gam_now_us(g);
    if (gam_contest_def(g, slug, &a, &c, err) < 0 || gam_conn(g, &conn, err) < 0 ||
        gam_contest_sync(g, conn, c, now, NULL, err) < 0 ||
        board_data_load(conn, slug, "", &d, err) < 0)
        goto done;
    Dojo__Gamification__V1__Scoreboard *pub = board_of(&a, c, &d, ACCESS_PUBLIC, now, NULL, NULL);
    Dojo__Gamification__V1__Scoreboard *jury = board_of(&a, c, &d, ACCESS_JURY, now, NULL, NULL);
    const char *p[] = {slug};
    if (pg_begin(conn, err) < 0)
        goto done;
    if (pg_exec(conn, &stmt_board_generation, p, &gen, err) < 0 ||
        announce_awards(conn, &a, slug, pub, pg_get(gen, 0, 1), false, now, &pub_hex, err) < 0 ||
        announce_awards(conn, &a, slug, jury, pg_get(gen, 0, 2), true, now, &jury_hex, err) < 0) {
        pg_rollback(conn);
        goto done;
    }
    const char *ps[] = {slug, pub_hex, jury_hex};
    if (pg_exec(conn, &stmt_board_awards_store, ps, NULL, err) < 0 || pg_commit(conn, err) < 0) {
        pg_rollback(conn);
        goto done;
    }
    pub->generation = jury->generation = pg_get_int64(gen, 0, 0);
    publish_one(g, slug, pub, "public");
    publish_one(g, slug, jury, "jury");
    metrics_counter_add("dojo_gamification_scoreboards_published_total", "", 1);
    LOG_DEBUG("scoreboards published", "contest=%s generation=%lld teams=%zu", slug,
              (long long)pub->generation, pub->n_rows);
    rc = 0;
done:
    PQclear(gen);
    free(pub_hex);
    free(jury_hex);
    board_data_free(&d);
    arena_release(&ar);
    if (rc < 0)
        err_wrap(err, "publish the boards of %s", slug);
    return rc;
}

/* ------------------------------------------------------------------------
 * The publisher thread
 * ------------------------------------------------------------------------ */

typedef struct slug_set {
    char (*v)[40];
    size_t n, cap;
} slug_set_t;

static bool set_add(slug_set_t *s, const char *slug)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], slug))
            return false;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (s->v == NULL)
            abort();
    }
    snprintf(s->v[s->n++], sizeof s->v[0], "%s", slug);
    return true;
}

struct gam_boards {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    pthread_t thread;
    bool started, stop;
    slug_set_t dirty; /* to publish */
    slug_set_t known; /* to tick */
};

void gam_board_touch(gam_t *g, const char *slug)
{
    gam_boards_t *b = g->boards;
    if (b == NULL)
        return;
    pthread_mutex_lock(&b->mu);
    set_add(&b->dirty, slug);
    set_add(&b->known, slug);
    pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->mu);
}

static const pg_stmt_t stmt_known_contests = {
    .name = "game_board_known_contests",
    .sql = "SELECT slug FROM game.contests ORDER BY slug",
    .nparams = 0,
};

/* The contests of the database, so a restarted service keeps ticking them. */
static void load_known(gam_t *g)
{
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    cleanup_err err_t *err = NULL;
    if (gam_conn(g, &conn, &err) < 0 || pg_exec(conn, &stmt_known_contests, NULL, &r, &err) < 0) {
        LOG_WARN("contests not listed; they tick once touched", "error=\"%s\"", log_esc(err->msg));
        return;
    }
    pthread_mutex_lock(&g->boards->mu);
    for (int i = 0; i < PQntuples(r); i++)
        set_add(&g->boards->known, pg_get(r, i, 0));
    pthread_mutex_unlock(&g->boards->mu);
}

/* One second's tick: each known contest's state (a start, freeze or end is
 * announced and marks the boards). */
static void tick(gam_t *g)
{
    gam_boards_t *b = g->boards;
    pthread_mutex_lock(&b->mu);
    slug_set_t known = {0};
    for (size_t i = 0; i < b->known.n; i++)
        set_add(&known, b->known.v[i]);
    pthread_mutex_unlock(&b->mu);
    for (size_t i = 0; i < known.n; i++) {
        arena_t ar = {0};
        ProtobufCAllocator a;
        arena_pb_allocator(&ar, &a);
        Dojo__Content__V1__Contest *c = NULL;
        cleanup_pgconn pg_conn_t *conn = NULL;
        cleanup_err err_t *err = NULL;
        if (gam_contest_def(g, known.v[i], &a, &c, &err) < 0 || gam_conn(g, &conn, &err) < 0 ||
            gam_contest_sync(g, conn, c, gam_now_us(g), NULL, &err) < 0)
            LOG_DEBUG("contest tick failed", "contest=%s error=\"%s\"", known.v[i],
                      log_esc(err->msg));
        arena_release(&ar);
    }
    free(known.v);
}

static void *publisher_main(void *arg)
{
    gam_t *g = arg;
    gam_boards_t *b = g->boards;
    log_set_context("boards", NULL, NULL);
    load_known(g);
    int64_t next_tick = mono_ms() + 1000;
    pthread_mutex_lock(&b->mu);
    while (!b->stop) {
        if (b->dirty.n == 0) {
            int64_t wait = next_tick - mono_ms();
            if (wait > 0) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += wait / 1000;
                ts.tv_nsec += (wait % 1000) * 1000000;
                if (ts.tv_nsec >= 1000000000) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&b->cond, &b->mu, &ts);
            }
        }
        if (b->stop)
            break;
        if (mono_ms() >= next_tick) {
            pthread_mutex_unlock(&b->mu);
            tick(g);
            pthread_mutex_lock(&b->mu);
            next_tick = mono_ms() + 1000;
            continue;
        }
        if (b->dirty.n == 0)
            continue;
        /* A burst of marks makes one computation. */
        pthread_mutex_unlock(&b->mu);
        sleep_ms(COALESCE_MS);
        pthread_mutex_lock(&b->mu);
        slug_set_t todo = b->dirty;
        memset(&b->dirty, 0, sizeof b->dirty);
        pthread_mutex_unlock(&b->mu);
        for (size_t i = 0; i < todo.n; i++) {
            cleanup_err err_t *err = NULL;
            if (publish(g, todo.v[i], &err) < 0) {
                LOG_WARN("scoreboard not computed; trying again", "contest=%s error=\"%s\"",
                         todo.v[i], log_esc(err->msg));
                pthread_mutex_lock(&b->mu);
                set_add(&b->dirty, todo.v[i]);
                pthread_mutex_unlock(&b->mu);
                sleep_ms(500);
            }
        }
        free(todo.v);
        pthread_mutex_lock(&b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

int gam_boards_start(gam_t *g, err_t **err)
{
    gam_boards_t *b = calloc(1, sizeof *b);
    if (b == NULL)
        abort();
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cond, NULL);
    g->boards = b;
    if (pthread_create(&b->thread, NULL, publisher_main, g) != 0)
        return err_errno(err, errno, "start the scoreboard publisher");
    b->started = true;
    return 0;
}

void gam_boards_stop(gam_t *g)
{
    gam_boards_t *b = g->boards;
    if (b == NULL)
        return;
    pthread_mutex_lock(&b->mu);
    b->stop = true;
    pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->mu);
    if (b->started)
        pthread_join(b->thread, NULL);
    free(b->dirty.v);
    free(b->known.v);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cond);
    free(b);
    g->boards = NULL;
}

/* ------------------------------------------------------------------------
 * GetScoreboard, and the jury's thaw, reveal and finalisation
 * ------------------------------------------------------------------------ */

int gam_rpc_get_scoreboard(rpc_call_t *call, const ProtobufCMessage *req_msg,
                           ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__GetScoreboardRequest *req = (const void *)req_msg;
    Dojo__Content__V1__Contest *c = NULL;
    cleanup_pgconn pg_conn_t *conn = NULL;
    gam_access_t acc;
    gam_state_t st;
    if (gam_contest_open(g, call, NULL, req->slug, gam_now_us(g), &c, &conn, &st, &acc, err) < 0)
        return -1;
    if (req->group_id[0]) {
        bool known = false;
        for (size_t i = 0; i < c->n_groups && !known; i++)
            known = !strcmp(c->groups[i]->id, req->group_id);
        if (!known)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "group_id: no group \"%.40s\"",
                           req->group_id);
    }
    int audience = acc.level == ACCESS_JURY && !req->public_view ? ACCESS_JURY : ACCESS_PUBLIC;
    ProtobufCAllocator a;
    gam_pb_allocator(call, &a);
    Dojo__Gamification__V1__GetScoreboardResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__GetScoreboardResponse,
                DOJO__GAMIFICATION__V1__GET_SCOREBOARD_RESPONSE__INIT);
    /* Read before the board, so the board holds at least that event. */
    char tok[24];
    if (gam_event_last(conn, c->slug, &acc, tok, err) < 0)
        return -1;
    resp->event_token = rpc_strdup(call, tok);
    if (gam_board_build(g, conn, c, audience, req->group_id, gam_now_us(g), &a, &resp->scoreboard,
                        err) < 0)
        return -1;
    *out = &resp->base;
    return 0;
}

static const pg_stmt_t stmt_thaw = {
    .name = "game_board_thaw",
    .sql =
        "UPDATE game.contests SET thawed_at = " GAM_TS(2) " WHERE slug = $1 AND thawed_at IS NULL",
    .nparams = 2,
};

static const pg_stmt_t stmt_finalize = {
    .name = "game_board_finalize",
    .sql = "UPDATE game.contests SET finalized_at = " GAM_TS(
        2) " WHERE slug = $1 AND finalized_at IS NULL",
    .nparams = 2,
};

static const pg_stmt_t stmt_reveal = {
    .name = "game_board_reveal",
    .sql = "INSERT INTO game.contest_reveals (contest, team_id, problem, revealed_at) "
           "VALUES ($1, $2, $3, " GAM_TS(4) ") ON CONFLICT DO NOTHING",
    .nparams = 4,
};

/* The jury may thaw or reveal once the contest ended with a frozen board. */
static int require_frozen_end(const Dojo__Content__V1__Contest *c, const gam_state_t *st,
                              err_t **err)
{
    if (!st->ended)
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION, "the contest has not ended yet");
    if (!st->frozen)
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION, "the scoreboard never froze");
    if (st->thawed)
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION, "the scoreboard is thawed already");
    return 0;
}

static int set_time(gam_t *g, pg_conn_t *conn, const pg_stmt_t *stmt,
                    const Dojo__Content__V1__Contest *c, const gam_access_t *acc,
                    const char *action, int64_t now, gam_state_t *st, err_t **err)
{
    char nowbuf[24];
    snprintf(nowbuf, sizeof nowbuf, "%lld", (long long)now);
    const char *p[] = {c->slug, nowbuf};
    if (pg_begin(conn, err) < 0)
        return -1;
    if (pg_exec(conn, stmt, p, NULL, err) < 0 ||
        gam_audit_add(conn, c->slug, acc, action, "the contest", 0, 0, "", now, err) < 0 ||
        pg_commit(conn, err) < 0) {
        pg_rollback(conn);
        return -1;
    }
    LOG_INFO("contest changed by the jury", "contest=%s action=%s by=%s", c->slug, action,
             acc->actor);
    if (gam_contest_sync(g, conn, c, now, st, err) < 0)
        return -1;
    gam_board_touch(g, c->slug);
    return 0;
}

int gam_rpc_thaw_contest(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                         err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__ThawContestRequest *req = (const void *)req_msg;
    Dojo__Content__V1__Contest *c = NULL;
    cleanup_pgconn pg_conn_t *conn = NULL;
    gam_access_t acc;
    gam_state_t st;
    if (gam_contest_open(g, call, NULL, req->slug, gam_now_us(g), &c, &conn, &st, &acc, err) < 0 ||
        gam_require_jury(&acc, err) < 0 || require_frozen_end(c, &st, err) < 0 ||
        set_time(g, conn, &stmt_thaw, c, &acc, "thaw", gam_now_us(g), &st, err) < 0)
        return -1;
    ProtobufCAllocator a;
    gam_pb_allocator(call, &a);
    Dojo__Gamification__V1__ThawContestResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__ThawContestResponse,
                DOJO__GAMIFICATION__V1__THAW_CONTEST_RESPONSE__INIT);
    resp->state = gam_state_msg(&a, &st);
    *out = &resp->base;
    return 0;
}

int gam_rpc_finalize_contest(rpc_call_t *call, const ProtobufCMessage *req_msg,
                             ProtobufCMessage **out, err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__FinalizeContestRequest *req = (const void *)req_msg;
    Dojo__Content__V1__Contest *c = NULL;
    cleanup_pgconn pg_conn_t *conn = NULL;
    gam_access_t acc;
    gam_state_t st;
    if (gam_contest_open(g, call, NULL, req->slug, gam_now_us(g), &c, &conn, &st, &acc, err) < 0 ||
        gam_require_jury(&acc, err) < 0)
        return -1;
    if (!st.ended)
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION, "the contest has not ended yet");
    if (st.frozen && !st.thawed)
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                       "the scoreboard is still frozen: thaw or reveal it first");
    if (st.finalized)
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION, "the results are final already");
    if (set_time(g, conn, &stmt_finalize, c, &acc, "finalize", gam_now_us(g), &st, err) < 0)
        return -1;
    ProtobufCAllocator a;
    gam_pb_allocator(call, &a);
    Dojo__Gamification__V1__FinalizeContestResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__FinalizeContestResponse,
                DOJO__GAMIFICATION__V1__FINALIZE_CONTEST_RESPONSE__INIT);
    resp->state = gam_state_msg(&a, &st);
    *out = &resp->base;
    return 0;
}

/* Remembers the frozen cell the walk meets last: the lowest ranked team's
 * first frozen problem is the last cell of the last row with one... so keep
 * the first cell of the last row that has any. */
typedef struct reveal_pick {
    char team[24], problem[16];
    char last_row_team[24];
    int count;
} reveal_pick_t;

static void pick_frozen(void *arg, const char *team, const char *problem)
{
    reveal_pick_t *p = arg;
    p->count++;
    if (strcmp(p->last_row_team, team) != 0) {
        /* The first frozen cell of a lower row than any seen so far. */
        snprintf(p->last_row_team, sizeof p->last_row_team, "%s", team);
        snprintf(p->team, sizeof p->team, "%s", team);
        snprintf(p->problem, sizeof p->problem, "%s", problem);
    }
}

int gam_rpc_reveal_next(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                        err_t **err)
{
    gam_t *g = rpc_call_payload(call);
    const Dojo__Gamification__V1__RevealNextRequest *req = (const void *)req_msg;
    Dojo__Content__V1__Contest *c = NULL;
    cleanup_pgconn pg_conn_t *conn = NULL;
    gam_access_t acc;
    gam_state_t st;
    if (gam_contest_open(g, call, NULL, req->slug, gam_now_us(g), &c, &conn, &st, &acc, err) < 0 ||
        gam_require_jury(&acc, err) < 0 || require_frozen_end(c, &st, err) < 0)
        return -1;
    ProtobufCAllocator a;
    gam_pb_allocator(call, &a);
    int64_t now = gam_now_us(g);
    board_data_t d;
    if (board_data_load(conn, c->slug, "", &d, err) < 0)
        return -1;
    reveal_pick_t pick = {0};
    board_of(&a, c, &d, ACCESS_PUBLIC, now, pick_frozen, &pick);
    board_data_free(&d);
    Dojo__Gamification__V1__RevealNextResponse *resp =
        RPC_NEW(call, Dojo__Gamification__V1__RevealNextResponse,
                DOJO__GAMIFICATION__V1__REVEAL_NEXT_RESPONSE__INIT);
    resp->team_id = "";
    resp->problem_id = "";
    if (pick.count > 0) {
        char nowbuf[24], target[64];
        snprintf(nowbuf, sizeof nowbuf, "%lld", (long long)now);
        snprintf(target, sizeof target, "team %s problem %s", pick.team, pick.problem);
        const char *p[] = {c->slug, pick.team, pick.problem, nowbuf};
        if (pg_begin(conn, err) < 0)
            return err_wrap(err, "reveal");
        if (pg_exec(conn, &stmt_reveal, p, NULL, err) < 0 ||
            gam_audit_add(conn, c->slug, &acc, "reveal", target, 0, 0, "", now, err) < 0 ||
            pg_commit(conn, err) < 0) {
            pg_rollback(conn);
            return err_wrap(err, "reveal");
        }
        resp->team_id = rpc_strdup(call, pick.team);
        resp->problem_id = rpc_strdup(call, pick.problem);
        gam_board_touch(g, c->slug);
    }
    /* The last reveal thaws the board. */
    if (pick.count <= 1 && set_time(g, conn, &stmt_thaw, c, &acc, "thaw", now, &st, err) < 0)
        return -1;
    if (gam_board_build(g, conn, c, ACCESS_PUBLIC, "", now, &a, &resp->scoreboard, err) < 0)
        return -1;
    *out = &resp->base;
    return 0;
}
