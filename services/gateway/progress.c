/* progress.c — the learner's progress, leaderboards and editor drafts. Every
 * call forwards the learner's own token: gamification checks ownership. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "libcommon/cleanup.h"

#define GAME_SVC (&dojo__gamification__v1__gamification__descriptor)

int gw_h_progress(gw_req_t *r, err_t **err)
{
    if (gw_req_auth(r, err) < 0)
        return -1;
    Dojo__Gamification__V1__GetProgressRequest req =
        DOJO__GAMIFICATION__V1__GET_PROGRESS_REQUEST__INIT;
    cleanup_pb Dojo__Gamification__V1__GetProgressResponse *p = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), true);
    if (rpc_client_call(r->gw->game, GAME_SVC, "GetProgress", &req.base, (ProtobufCMessage **)&p,
                        &o, err) < 0)
        return -1;
    json_t *solved = json_array(), *attempted = json_array(), *bydiff = json_array(),
           *ach = json_array(), *prog = json_array(), *cal = json_array();
    for (size_t i = 0; i < p->n_solved; i++)
        json_array_append_new(solved, json_string(p->solved[i]));
    for (size_t i = 0; i < p->n_attempted; i++)
        json_array_append_new(attempted, json_string(p->attempted[i]));
    for (size_t i = 0; i < p->n_by_difficulty; i++) {
        const Dojo__Gamification__V1__DifficultyCount *d = p->by_difficulty[i];
        json_array_append_new(bydiff, json_pack("{s:s,s:i,s:i,s:i}", "difficulty",
                                                gw_difficulty_name(d->difficulty), "solved",
                                                d->solved, "attempted", d->attempted, "total",
                                                d->total));
    }
    for (size_t i = 0; i < p->n_achievements; i++)
        json_array_append_new(ach, gw_json_unlocked(p->achievements[i]));
    for (size_t i = 0; i < p->n_achievement_progress; i++) {
        const Dojo__Gamification__V1__AchievementProgress *a = p->achievement_progress[i];
        json_array_append_new(prog, json_pack("{s:s,s:I,s:I}", "slug", a->slug, "current",
                                              (json_int_t)a->current, "target",
                                              (json_int_t)a->target));
    }
    for (size_t i = 0; i < p->n_calendar; i++)
        json_array_append_new(cal, json_pack("{s:s,s:i}", "date", p->calendar[i]->date, "count",
                                             p->calendar[i]->count));
    r->out = json_pack("{s:s,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:s}", "user_id", p->user_id,
                       "total_points", (json_int_t)p->total_points, "solved", solved, "attempted",
                       attempted, "by_difficulty", bydiff, "streak", gw_json_streak(p->streak),
                       "achievements", ach, "achievement_progress", prog, "calendar", cal,
                       "all_time_rank", (json_int_t)p->all_time_rank, "time_zone", p->time_zone);
    r->status = 200;
    return 0;
}

static json_t *entry(const Dojo__Gamification__V1__LeaderboardEntry *e)
{
    if (e == NULL)
        return json_null();
    return json_pack("{s:I,s:s,s:s,s:I,s:o}", "rank", (json_int_t)e->rank, "user_id", e->user_id,
                     "display_name", e->display_name, "points", (json_int_t)e->points,
                     "reached_at", gw_json_time(e->reached_at));
}

int gw_h_leaderboard(gw_req_t *r, err_t **err)
{
    if (gw_req_auth(r, err) < 0)
        return -1;
    const char *board = r->segs[1];
    Dojo__Gamification__V1__GetLeaderboardRequest req =
        DOJO__GAMIFICATION__V1__GET_LEADERBOARD_REQUEST__INIT;
    Dojo__Common__V1__PageRequest page = DOJO__COMMON__V1__PAGE_REQUEST__INIT;
    const char *cohort = gw_query(r, "cohort"), *tok = gw_query(r, "page_token");
    if (!strcmp(board, "all-time")) {
        req.board = DOJO__GAMIFICATION__V1__BOARD__BOARD_ALL_TIME;
    } else if (!strcmp(board, "weekly")) {
        req.board = DOJO__GAMIFICATION__V1__BOARD__BOARD_WEEKLY;
    } else if (!strcmp(board, "cohort")) {
        req.board = DOJO__GAMIFICATION__V1__BOARD__BOARD_COHORT;
        if (cohort == NULL || *cohort == '\0')
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "cohort: is required");
        if (strlen(cohort) > 64)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "cohort: too long");
        req.cohort_slug = (char *)cohort;
    } else {
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no leaderboard %.32s (all-time, weekly, cohort)",
                       board);
    }
    int64_t size = 0;
    if (gw_query_int(r, "page_size", 0, 100, &size, err) < 0)
        return -1;
    if (tok && strlen(tok) > 512)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "page_token: too long");
    page.page_size = (int32_t)size;
    page.page_token = (char *)(tok ? tok : "");
    req.page = &page;
    cleanup_pb Dojo__Gamification__V1__GetLeaderboardResponse *lb = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), true);
    if (rpc_client_call(r->gw->game, GAME_SVC, "GetLeaderboard", &req.base,
                        (ProtobufCMessage **)&lb, &o, err) < 0)
        return -1;
    json_t *entries = json_array();
    for (size_t i = 0; i < lb->n_entries; i++)
        json_array_append_new(entries, entry(lb->entries[i]));
    r->out = json_pack("{s:s,s:o,s:s,s:I,s:o,s:b,s:o,s:o}", "board", board, "entries", entries,
                       "next_page_token", lb->page ? lb->page->next_page_token : "", "total",
                       (json_int_t)(lb->page ? lb->page->total : -1), "own", entry(lb->own),
                       "own_opted_out", lb->own_opted_out, "week_start",
                       gw_json_time(lb->week_start), "week_end", gw_json_time(lb->week_end));
    r->status = 200;
    return 0;
}

int gw_h_draft_get(gw_req_t *r, err_t **err)
{
    if (gw_req_auth(r, err) < 0)
        return -1;
    const char *lang = gw_query(r, "language");
    if (strlen(r->segs[1]) > 64)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "slug: too long");
    if (lang && strlen(lang) > 32)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "language: too long");
    Dojo__Gamification__V1__GetDraftRequest req = DOJO__GAMIFICATION__V1__GET_DRAFT_REQUEST__INIT;
    req.task_slug = (char *)r->segs[1];
    req.language = (char *)(lang ? lang : "");
    cleanup_pb Dojo__Gamification__V1__GetDraftResponse *d = NULL;
    rpc_call_opts_t o = gw_opts(r, gw_md_user(r), true);
    if (rpc_client_call(r->gw->game, GAME_SVC, "GetDraft", &req.base, (ProtobufCMessage **)&d, &o,
                        err) < 0)
        return -1;
    json_t *draft = json_null();
    if (d->found && d->draft)
        draft = json_pack("{s:s,s:s,s:s,s:o}", "task_slug", d->draft->task_slug, "language",
                          d->draft->language, "code", d->draft->code, "updated_at",
                          gw_json_time(d->draft->updated_at));
    r->out = json_pack("{s:b,s:o}", "found", d->found && d->draft, "draft", draft);
    r->status = 200;
    return 0;
}

int gw_h_draft_put(gw_req_t *r, err_t **err)
{
    if (gw_req_auth(r, err) < 0)
        return -1;
    json_t *body = NULL;
    if (gw_body_json(r, false, &body, err) < 0)
        return -1;
    const char *lang, *code;
    if (gw_json_str(body, "language", true, 32, &lang, err) < 0)
        return -1;
    {
        json_t *jc = json_object_get(body, "code");
        if (jc == NULL || !json_is_string(jc)) {
            err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "code: %s",
                    jc ? "must be a string" : "is required");
            return -1;
        }
        if ((int64_t)json_string_length(jc) > r->gw->cfg.max_code) {
            gw_err_http(err, 413, "payload_too_large", "code", "code: must be at most %lld bytes",
                        (long long)r->gw->cfg.max_code);
            return -1;
        }
        code = json_string_value(jc);
    }
    if (strlen(r->segs[1]) > 64) {
        err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "slug: too long");
        return -1;
    }
    {
        Dojo__Gamification__V1__SaveDraftRequest req =
            DOJO__GAMIFICATION__V1__SAVE_DRAFT_REQUEST__INIT;
        req.task_slug = (char *)r->segs[1];
        req.language = (char *)lang;
        req.code = (char *)code;
        cleanup_pb Dojo__Gamification__V1__SaveDraftResponse *s = NULL;
        rpc_call_opts_t o = gw_opts(r, gw_md_user(r), true);
        if (rpc_client_call(r->gw->game, GAME_SVC, "SaveDraft", &req.base,
                            (ProtobufCMessage **)&s, &o, err) < 0)
            return -1;
        r->out = json_pack("{s:o}", "updated_at", gw_json_time(s->updated_at));
        r->status = 200;
    }
    return 0;
}
