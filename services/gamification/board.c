/* board.c — ICPC and IOI scoreboards, first-to-solve marks and awards,
 * computed from what one audience sees (see board.h). */
#define _GNU_SOURCE
#include "board.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define V_AC 1
#define V_CE 7
#define V_IE 8
#define V_CANCELLED 9

/* Compile errors, judge errors and cancelled runs are no attempt. */
static bool no_attempt(int verdict)
{
    return verdict == V_CE || verdict == V_IE || verdict == V_CANCELLED;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL)
        abort();
    return p;
}

/* ------------------------------------------------------------------------
 * IOI points of one submission
 * ------------------------------------------------------------------------ */

int64_t board_ioi_score_c(int64_t points_c, size_t ntests, const char *const *groups,
                          const int *weights, const bool *accepted)
{
    int64_t total = 0, earned = 0;
    for (size_t i = 0; i < ntests; i++) {
        int w = weights[i] > 0 ? weights[i] : 1;
        total += w;
        const char *g = groups ? groups[i] : NULL;
        if (g == NULL || g[0] == '\0') {
            if (accepted[i])
                earned += w;
            continue;
        }
        /* A named group counts once, at its first test, if all its tests
         * passed. */
        bool first = true, all = true;
        int64_t sum = 0;
        for (size_t k = 0; k < ntests; k++) {
            const char *h = groups[k];
            if (h == NULL || strcmp(h, g) != 0)
                continue;
            if (k < i) {
                first = false;
                break;
            }
            sum += weights[k] > 0 ? weights[k] : 1;
            all = all && accepted[k];
        }
        if (first && all)
            earned += sum;
    }
    if (total == 0)
        return 0;
    return (points_c * earned * 2 + total) / (total * 2); /* rounded half up */
}

/* ------------------------------------------------------------------------
 * Cells
 * ------------------------------------------------------------------------ */

static int cmp_sub(const void *a, const void *b)
{
    const board_sub_t *x = *(const board_sub_t *const *)a, *y = *(const board_sub_t *const *)b;
    if (x->time_ms != y->time_ms)
        return x->time_ms < y->time_ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void icpc_cell(const board_input_t *in, board_cell_t *c, const board_sub_t *s)
{
    if (c->solved)
        return; /* after the first accepted one, nothing counts */
    bool pending = s->verdict == 0 || s->frozen;
    if (pending || c->num_pending > 0) {
        if (!pending && no_attempt(s->verdict))
            return;
        c->num_pending++;
        return;
    }
    if (no_attempt(s->verdict))
        return;
    c->num_judged++;
    if (s->verdict == V_AC) {
        c->solved = true;
        c->time_ms = s->time_ms;
    }
}

static void ioi_cell(const board_input_t *in, board_cell_t *c, const board_sub_t *s, int64_t max_c)
{
    if (s->verdict == 0 || s->frozen) {
        c->num_pending++;
        return;
    }
    if (no_attempt(s->verdict))
        return;
    c->num_judged++;
    if (in->ioi_mode == BOARD_IOI_LAST) {
        c->score_c = s->score_c;
        c->time_ms = s->score_c > 0 ? s->time_ms : -1;
    } else if (s->score_c > c->score_c) {
        c->score_c = s->score_c;
        c->time_ms = s->time_ms;
    }
    c->solved = max_c > 0 && c->score_c >= max_c;
}

/* ------------------------------------------------------------------------
 * Ranking
 * ------------------------------------------------------------------------ */

/* <0 when a ranks better than b, 0 when tied. */
static int compare_score(const board_input_t *in, const board_row_t *a, const board_row_t *b)
{
    if (in->scoring == BOARD_IOI) {
        if (a->score_c != b->score_c)
            return a->score_c > b->score_c ? -1 : 1;
        return 0;
    }
    if (a->num_solved != b->num_solved)
        return a->num_solved > b->num_solved ? -1 : 1;
    if (a->total_minutes != b->total_minutes)
        return a->total_minutes < b->total_minutes ? -1 : 1;
    if (a->last_ms != b->last_ms)
        return a->last_ms < b->last_ms ? -1 : 1;
    return 0;
}

static int cmp_row(const void *pa, const void *pb, void *arg)
{
    const board_input_t *in = arg;
    const board_row_t *a = pa, *b = pb;
    int c = compare_score(in, a, b);
    if (c)
        return c;
    const char *na = in->teams[a->team].name, *nb = in->teams[b->team].name;
    c = strcasecmp(na, nb);
    if (c)
        return c;
    c = strcmp(na, nb);
    return c ? c : strcmp(in->teams[a->team].id, in->teams[b->team].id);
}

static bool scored(const board_input_t *in, const board_row_t *r)
{
    return in->scoring == BOARD_IOI ? r->score_c > 0 : r->num_solved > 0;
}

/* ------------------------------------------------------------------------
 * Awards
 * ------------------------------------------------------------------------ */

static board_award_t *award_add(board_t *b, size_t cap, const char *id, const char *citation)
{
    board_award_t *a = &b->awards[b->nawards++];
    (void)cap;
    snprintf(a->id, sizeof a->id, "%s", id);
    snprintf(a->citation, sizeof a->citation, "%s", citation);
    a->teams = xcalloc(b->nrows + 1, sizeof *a->teams);
    return a;
}

/* Teams with a score whose rank is in (lo, hi]. */
static void award_ranks(const board_input_t *in, board_t *b, board_award_t *a, int lo, int hi)
{
    for (size_t i = 0; i < b->nrows; i++) {
        const board_row_t *r = &b->rows[i];
        if (scored(in, r) && r->rank > lo && r->rank <= hi)
            a->teams[a->nteams++] = r->team;
    }
}

/* First to solve each problem: the earliest solving submission, once no
 * earlier one of any team is still pending. */
static void first_to_solve(const board_input_t *in, board_t *b, board_cell_t **cell_of_team,
                           const board_sub_t *const *sorted)
{
    for (size_t p = 0; p < in->nproblems; p++) {
        char id[64], citation[96];
        snprintf(id, sizeof id, "first-to-solve-%s", in->problems[p].label);
        snprintf(citation, sizeof citation, "First to solve problem %s", in->problems[p].label);
        board_award_t *a = award_add(b, 0, id, citation);
        for (size_t i = 0; i < in->nsubs; i++) {
            const board_sub_t *s = sorted[i];
            if (s->problem != p)
                continue;
            if (s->verdict == 0 || s->frozen)
                break; /* undecided until this one is judged */
            board_cell_t *c = &cell_of_team[s->team][p];
            if (c->solved && c->time_ms == s->time_ms &&
                (in->scoring == BOARD_ICPC ? s->verdict == V_AC : s->score_c == c->score_c)) {
                c->first_to_solve = true;
                a->teams[a->nteams++] = s->team;
                break;
            }
        }
    }
}

static void awards(const board_input_t *in, board_t *b, board_cell_t **cell_of_team,
                   const board_sub_t *const *sorted)
{
    size_t cap = 4 + in->nproblems;
    b->awards = xcalloc(cap, sizeof *b->awards);
    board_award_t *w = award_add(b, cap, "winner", "Winner");
    award_ranks(in, b, w, 0, 1);
    int g = in->gold, s = in->silver, z = in->bronze;
    if (g > 0)
        award_ranks(in, b, award_add(b, cap, "gold-medal", "Gold medal winner"), 0, g);
    if (s > 0)
        award_ranks(in, b, award_add(b, cap, "silver-medal", "Silver medal winner"), g, g + s);
    if (z > 0)
        award_ranks(in, b, award_add(b, cap, "bronze-medal", "Bronze medal winner"), g + s,
                    g + s + z);
    first_to_solve(in, b, cell_of_team, sorted);
}

/* ------------------------------------------------------------------------
 * The board
 * ------------------------------------------------------------------------ */

void board_compute(const board_input_t *in, board_t *out)
{
    memset(out, 0, sizeof *out);
    out->nrows = in->nteams;
    out->rows = xcalloc(in->nteams, sizeof *out->rows);
    board_cell_t **cell_of_team = xcalloc(in->nteams, sizeof *cell_of_team);
    for (size_t t = 0; t < in->nteams; t++) {
        board_row_t *r = &out->rows[t];
        r->team = t;
        r->last_ms = -1;
        r->cells = xcalloc(in->nproblems, sizeof *r->cells);
        for (size_t p = 0; p < in->nproblems; p++)
            r->cells[p].time_ms = -1;
        cell_of_team[t] = r->cells;
    }
    const board_sub_t **sorted = xcalloc(in->nsubs, sizeof *sorted);
    size_t n = 0;
    for (size_t i = 0; i < in->nsubs; i++)
        if (in->subs[i].team < in->nteams && in->subs[i].problem < in->nproblems)
            sorted[n++] = &in->subs[i];
    qsort(sorted, n, sizeof *sorted, cmp_sub);
    board_input_t view = *in;
    view.nsubs = n;

    for (size_t i = 0; i < n; i++) {
        const board_sub_t *s = sorted[i];
        board_cell_t *c = &cell_of_team[s->team][s->problem];
        if (in->scoring == BOARD_IOI)
            ioi_cell(in, c, s, in->problems[s->problem].points_c);
        else
            icpc_cell(in, c, s);
    }
    for (size_t t = 0; t < in->nteams; t++) {
        board_row_t *r = &out->rows[t];
        for (size_t p = 0; p < in->nproblems; p++) {
            board_cell_t *c = &r->cells[p];
            if (in->scoring == BOARD_IOI) {
                r->score_c += c->score_c;
                if (c->score_c > 0 && c->time_ms > r->last_ms)
                    r->last_ms = c->time_ms;
                r->num_solved += c->solved;
            } else if (c->solved) {
                r->num_solved++;
                r->total_minutes +=
                    c->time_ms / 60000 + (int64_t)in->penalty_minutes * (c->num_judged - 1);
                if (c->time_ms > r->last_ms)
                    r->last_ms = c->time_ms;
            }
        }
    }
    qsort_r(out->rows, out->nrows, sizeof *out->rows, cmp_row, (void *)in);
    for (size_t i = 0; i < out->nrows; i++) {
        if (i > 0 && compare_score(in, &out->rows[i - 1], &out->rows[i]) == 0)
            out->rows[i].rank = out->rows[i - 1].rank;
        else
            out->rows[i].rank = (int)i + 1;
    }
    /* Cells moved with their rows: index them by team again. */
    for (size_t i = 0; i < out->nrows; i++)
        cell_of_team[out->rows[i].team] = out->rows[i].cells;
    awards(&view, out, cell_of_team, sorted);
    free(sorted);
    free(cell_of_team);
}

void board_free(board_t *b)
{
    for (size_t i = 0; i < b->nrows; i++)
        free(b->rows[i].cells);
    free(b->rows);
    for (size_t i = 0; i < b->nawards; i++)
        free(b->awards[i].teams);
    free(b->awards);
    memset(b, 0, sizeof *b);
}
