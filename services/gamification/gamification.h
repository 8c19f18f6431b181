/* gamification.h — the gamification service's shared state and the handlers
 * of each file. Internal to services/gamification. */
#ifndef DOJO_GAMIFICATION_H
#define DOJO_GAMIFICATION_H

#include <stdbool.h>
#include <stdint.h>

#include "dojo/auth/v1/auth.pb-c.h"
#include "dojo/content/v1/content.pb-c.h"
#include "dojo/gamification/v1/gamification.pb-c.h"
#include "libcommon/err.h"
#include "libcommon/identity.h"
#include "libcommon/kv.h"
#include "libcommon/pg.h"
#include "libcommon/rpc.h"

/* ------------------------------------------------------------------------
 * Configuration (read once at start; see docs/operators.md)
 * ------------------------------------------------------------------------ */
typedef struct gam_config {
    const char *addr;
    const char *metrics_addr;
    const char *pg_url;
    const char *redis_addr;
    const char *auth_addr;
    const char *content_addr;
    const char *service_key;
    const char *clock_file;   /* "" = real time */
    const char *redis_prefix; /* every Redis key starts with it */
    int64_t content_ttl_ms;   /* how long achievement defs and the task list are cached */
    int64_t board_max_age_s;  /* a Redis board older than this is rebuilt */
    int64_t sweep_interval_ms; /* the sweeper's period; 0 = no sweeper */
    int64_t orphan_after_ms;   /* pending this long without a queued job: an orphan */
    int64_t pending_max_ms;    /* pending this long: finished as an internal error */
    const char *public_url;   /* links in class invitations and reminders */
    int64_t reminder_interval_ms; /* how often due-date reminders are looked for */
    int64_t event_ttl_s;       /* of the queued events the sweeper and rejudges write */
    int64_t contest_max_pending; /* unjudged contest submissions a team may hold */
} gam_config_t;

typedef struct gam_catalog gam_catalog_t;
typedef struct gam_sweeper gam_sweeper_t;
typedef struct gam_reminders gam_reminders_t;
typedef struct gam_contests gam_contests_t;
typedef struct gam_boards gam_boards_t;

typedef struct gam {
    gam_config_t cfg;
    pg_pool_t *pg;
    kv_pool_t *kv;
    identity_verifier_t *ids;
    rpc_channel_t *content;
    rpc_channel_t *auth; /* accounts, provisioning and mail (classes) */
    gam_catalog_t *catalog;
    gam_sweeper_t *sweeper;
    gam_reminders_t *reminders;
    gam_contests_t *contests; /* the contests' definitions cache */
    gam_boards_t *boards;     /* the scoreboard publisher (scoreboard.c) */
} gam_t;

/** Reads every DOJO_* variable gamification uses; exits naming a bad one. */
void gam_config_load(gam_config_t *cfg);

/* ------------------------------------------------------------------------
 * Shared helpers (common.c)
 * ------------------------------------------------------------------------ */

/** "Now" in microseconds since the epoch: the contents of DOJO_CLOCK_FILE
 * when it is set (unix seconds, possibly fractional, or RFC 3339 such as
 * 2026-03-08T09:30:00Z / +05:30), read on every call; real time otherwise
 * (and, with a warning, when the file cannot be read or parsed). */
int64_t gam_now_us(gam_t *g);

/** SQL for a timestamptz from a parameter of microseconds since the epoch. */
#define GAM_TS(n) "(timestamptz 'epoch' + $" #n "::bigint * interval '1 microsecond')"
/** SQL for microseconds since the epoch of a timestamptz column (NULL → 0). */
#define GAM_US(col) "coalesce((extract(epoch from " col ") * 1000000)::bigint, 0)"

/** Takes a connection from the pool for the current call. */
int gam_conn(gam_t *g, pg_conn_t **out, err_t **err);
/** A Timestamp message in the call's arena; NULL for 0. */
Dojo__Common__V1__Timestamp *gam_timestamp(rpc_call_t *call, int64_t unix_micros);
/** Decimal text of v in the call's arena. */
char *gam_i64(rpc_call_t *call, int64_t v);

bool gam_is_uuid(const char *s);
/** 1-64 characters of [a-z0-9-] (task and cohort slugs). */
int gam_check_slug(const char *field, const char *s, bool required, err_t **err);
/** 1-32 characters of [a-z0-9_+.-]. */
int gam_check_language(const char *field, const char *s, err_t **err);
/* Time zones, display names and UTF-8 lengths: libcommon/text.h. */

/* Paging: libcommon/page.h. */

/** The learner a request is about. `user_id` "" means the caller (a user;
 * services must name one: INVALID_ARGUMENT). A user caller naming someone
 * else is PERMISSION_DENIED unless `allow_author` (authors and admins) or
 * `allow_admin` (admins) lets them. *out is borrowed (request or identity). */
int gam_subject(const identity_t *id, const char *user_id, bool allow_author, bool allow_admin,
                const char **out, err_t **err);

/** A protobuf-c allocator drawing from the call's arena. */
void gam_pb_allocator(rpc_call_t *call, ProtobufCAllocator *out);

/** Hex of packed `msg`, malloc'ed (free it). */
char *gam_pack_hex(const ProtobufCMessage *msg);
/** Unpacks hex text (as written by gam_pack_hex / encode(..,'hex')) into the
 * call's arena; NULL when empty or broken. */
ProtobufCMessage *gam_unpack_hex(rpc_call_t *call, const ProtobufCMessageDescriptor *d,
                                 const char *hex);

/* ------------------------------------------------------------------------
 * Content: task facts and achievement definitions (catalog.c)
 * ------------------------------------------------------------------------ */

/** What points and achievements need of a task version. */
typedef struct gam_task_facts {
    int difficulty; /* Dojo__Common__V1__Difficulty */
    int points;
} gam_task_facts_t;

/** An active task, as listed. */
typedef struct gam_task {
    char *slug;
    char *title;
    char *owner_id; /* the author who created it through the API, or "" */
    int points;
    int difficulty;
    char **tags;
    size_t ntags;
} gam_task_t;

/** An achievement definition. */
typedef struct gam_achievement {
    char *slug, *title, *description, *icon;
    int kind; /* Dojo__Content__V1__AchievementRuleKind */
    int64_t threshold;
    char *tag;
    int difficulty;
} gam_achievement_t;

/** One consistent view of the active tasks and achievement definitions. */
typedef struct gam_snapshot {
    int refs;
    gam_task_t *tasks;
    size_t ntasks;
    gam_achievement_t *achievements; /* definition order */
    size_t nachievements;
    int64_t fetched_ms; /* monotonic */
} gam_snapshot_t;

int gam_catalog_open(gam_catalog_t **out, err_t **err);
void gam_catalog_close(gam_catalog_t *c);
/** Facts of (slug, version), from Content.GetTask, cached for good (a pair
 * never changes meaning). UNAVAILABLE when content cannot be reached. */
int gam_task_facts(gam_t *g, const char *slug, int version, gam_task_facts_t *out, err_t **err);
/** The current snapshot, refreshed from content when older than the TTL (a
 * stale one is used, with a warning, when content is away). *out is a new
 * reference: gam_snapshot_release it. */
int gam_snapshot_get(gam_t *g, gam_snapshot_t **out, err_t **err);
/** Like gam_snapshot_get, but fetched again (a few times a second at most)
 * when one of `slugs` is not in it: a task created since the last fetch.
 * Slugs that name no active task are then simply missing from *out. */
int gam_snapshot_get_with(gam_t *g, char *const *slugs, size_t n, gam_snapshot_t **out,
                          err_t **err);
void gam_snapshot_release(gam_snapshot_t *s);
/** The active task with this slug, or NULL. Borrowed from `s`. */
const gam_task_t *gam_snapshot_task(const gam_snapshot_t *s, const char *slug);

/* ------------------------------------------------------------------------
 * Streaks and progress (progress.c)
 * ------------------------------------------------------------------------ */

/** A learner's stored streak state (game.stats). */
typedef struct gam_streak_state {
    int current, longest, freezes;
    char last_active[11]; /* "YYYY-MM-DD" or "" */
} gam_streak_state_t;

/** Applies an accepted SUBMIT on a day `diff` days after last_active
 * (ignored when has_last is false) to `st`. Frozen days do not count as
 * streak days; a freeze is earned at every 7th day of streak (at most 2). */
void gam_streak_apply(gam_streak_state_t *st, bool has_last, int64_t diff);
/** The streak as of today: `today_diff` = today - last_active in days. */
Dojo__Gamification__V1__Streak *gam_streak_view(rpc_call_t *call, const gam_streak_state_t *st,
                                                int64_t today_diff);
/** The learner's zone ("UTC" without a profile), into out (cap 80). */
int gam_user_zone(pg_conn_t *conn, const char *user_id, char *out, size_t cap, err_t **err);
/** Reads game.stats (zeros without a row) and the streak as seen today. */
int gam_read_streak(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const char *user_id,
                    const char *zone, int64_t now_us, gam_streak_state_t *st,
                    Dojo__Gamification__V1__Streak **view, int64_t *total_points, err_t **err);

int gam_rpc_get_progress(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                         err_t **err);
int gam_rpc_list_task_stats(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                            err_t **err);

/* ------------------------------------------------------------------------
 * Achievements (achievements.c)
 * ------------------------------------------------------------------------ */

/** What a learner has, for evaluating rules. */
typedef struct gam_facts_of_user {
    int64_t total_points;
    int streak_current;
    size_t nsolved;
    char **solved; /* slugs, sorted (arena) */
    int64_t first_attempts;
    int64_t solved_by_difficulty[4];
} gam_user_facts_t;

/** Loads the learner's facts inside the caller's transaction or not. Strings
 * live in the call's arena. */
int gam_user_facts_load(rpc_call_t *call, pg_conn_t *conn, const char *user_id,
                        gam_user_facts_t *out, err_t **err);
/** The rule's measure for this learner and its target. */
void gam_achievement_measure(const gam_snapshot_t *s, const gam_achievement_t *a,
                             const gam_user_facts_t *f, int64_t *current, int64_t *target);
/** Unlocks every achievement of `s` whose rule holds and that the learner
 * does not have yet, at `at_us`; the newly unlocked ones (definition order)
 * are appended to *out (arena). */
int gam_achievements_evaluate(rpc_call_t *call, pg_conn_t *conn, const gam_snapshot_t *s,
                              const char *user_id, const gam_user_facts_t *f, int64_t at_us,
                              Dojo__Gamification__V1__UnlockedAchievement ***out, size_t *n_out,
                              err_t **err);

/* ------------------------------------------------------------------------
 * Leaderboards (leaderboard.c)
 * ------------------------------------------------------------------------ */

/** Monday 00:00 UTC of the ISO week containing `us`, in microseconds. */
int64_t gam_week_start_us(int64_t us);
/** Moves the learner's entries after points were awarded (all-time, the
 * week of `at_us`, and each cohort). Best effort: a failure leaves the board
 * to be rebuilt. */
void gam_board_award(gam_t *g, pg_conn_t *conn, const char *user_id, int64_t total_points,
                     int64_t reached_us, int64_t at_us);
/** Marks every board stale (opt-out, cohort membership changed). In the
 * caller's transaction. */
int gam_boards_invalidate(pg_conn_t *conn, err_t **err);
/** The learner's all-time rank (0 when unranked). */
int gam_all_time_rank(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const char *user_id,
                      int64_t *out, err_t **err);

int gam_rpc_get_leaderboard(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                            err_t **err);
/** A page of a board (Board value; `cohort` for BOARD_COHORT), once the
 * caller may read it: entries with display names, and the own entry of
 * `own_user` (NULL: none). *out in the call's arena. */
int gam_board_page(gam_t *g, rpc_call_t *call, pg_conn_t *conn, int board, const char *cohort,
                   int64_t offset, int size, const char *own_user,
                   Dojo__Gamification__V1__GetLeaderboardResponse **out, err_t **err);

/* ------------------------------------------------------------------------
 * The sweeper of pending submissions nobody will finish (sweeper.c)
 * ------------------------------------------------------------------------ */

/** Starts the sweeper thread (*out NULL when DOJO_GAMIFICATION_SWEEP_INTERVAL
 * is 0). It uses g's pools until gam_sweeper_stop. */
int gam_sweeper_start(gam_t *g, gam_sweeper_t **out, err_t **err);
/** Stops and frees it (waits for a sweep under way; NULL is fine). */
void gam_sweeper_stop(gam_sweeper_t *s);

/* ------------------------------------------------------------------------
 * Handlers
 * ------------------------------------------------------------------------ */

/* submissions.c */
int gam_rpc_create_submission(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                              err_t **err);
int gam_rpc_record_result(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                          err_t **err);
int gam_rpc_get_submission(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                           err_t **err);
int gam_rpc_list_submissions(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                             err_t **err);

/* cohorts.c */
/** Adds `user_id` to the cohort `slug` (joined at `now_us`) in the caller's
 * transaction; *added when they were not a member yet (the boards are then
 * marked stale). */
int gam_cohort_member_add(rpc_call_t *call, pg_conn_t *conn, const char *slug, const char *user_id,
                          int64_t now_us, bool *added, err_t **err);
/** Removes `user_id` from the cohort `slug` in the caller's transaction;
 * *removed when they were a member (the boards are then marked stale). */
int gam_cohort_member_remove(pg_conn_t *conn, const char *slug, const char *user_id,
                             bool *removed, err_t **err);
int gam_rpc_create_cohort(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                          err_t **err);
int gam_rpc_add_cohort_member(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                              err_t **err);
int gam_rpc_remove_cohort_member(rpc_call_t *call, const ProtobufCMessage *req,
                                 ProtobufCMessage **out, err_t **err);
int gam_rpc_list_cohorts(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                         err_t **err);
int gam_rpc_list_cohort_members(rpc_call_t *call, const ProtobufCMessage *req,
                                ProtobufCMessage **out, err_t **err);
/** Whether the cohort exists and whether user_id is a member. */
int gam_cohort_membership(pg_conn_t *conn, const char *slug, const char *user_id, bool *exists,
                          bool *member, err_t **err);

/* profile.c */
int gam_rpc_set_user_profile(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                             err_t **err);
int gam_rpc_set_leaderboard_opt_out(rpc_call_t *call, const ProtobufCMessage *req,
                                    ProtobufCMessage **out, err_t **err);

/* ------------------------------------------------------------------------
 * Classes (classes.c, roster.c, assignments.c, grades.c, dashboard.c,
 * reminders.c): a cohort that teachers run; see classes.proto.
 * ------------------------------------------------------------------------ */

/** What the caller is to a class. */
typedef enum {
    GAM_CLASS_NONE = 0,
    GAM_CLASS_MEMBER,
    GAM_CLASS_TEACHER, /* a teacher of the class, an admin or a service */
} gam_class_role_t;

/** A class as its handlers need it. */
typedef struct gam_class {
    char slug[65];
    char title[512];
    char time_zone[80];
    bool archived;
    gam_class_role_t role;
} gam_class_t;

/** Reads class `class_id` and what `id` is to it. NOT_FOUND when there is
 * no such class or the caller is neither its teacher nor a member (nor an
 * admin or a service); PERMISSION_DENIED when `need_teacher` and the caller
 * is only a member; FAILED_PRECONDITION when `writable` and it is archived. */
int gam_class_open(pg_conn_t *conn, const identity_t *id, const char *class_id, bool need_teacher,
                   bool writable, gam_class_t *out, err_t **err);
/** A Classroom message for the class as `id` sees it (arena). */
int gam_classroom_read(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const identity_t *id,
                       const char *slug, Dojo__Gamification__V1__Classroom **out, err_t **err);
/** Adds a learner to a class (their profile is made when missing, under
 * `display_name` and `zone`; NULL: the user id and UTC). *added is false
 * when they already were a member. In the caller's transaction. */
int gam_class_add_member(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const char *slug,
                         const char *user_id, const char *display_name, const char *zone,
                         bool *added, err_t **err);
/** Calls auth as this service (a longer deadline for bulk work). */
int gam_auth_call(gam_t *g, const char *method, const ProtobufCMessage *req,
                  ProtobufCMessage **out, int64_t timeout_ms, err_t **err);
/** Fills username and email of `members` from auth (GetUsers). */
int gam_members_from_auth(gam_t *g, rpc_call_t *call, Dojo__Gamification__V1__ClassMember **members,
                          size_t n, err_t **err);
/** A random base64url token (32 bytes) into out (cap >= 44), and its
 * SHA-256 in hex into hash (65 bytes). */
void gam_token_new(char *out, size_t cap, char hash[65]);
void gam_token_hash(const char *token, char hash[65]);

/** The grades of a class's learners on its assignments' tasks (grades.c). */
typedef struct gam_grade_column {
    char *assignment_id, *assignment_title, *task_slug;
    int late_policy, late_penalty;
    int64_t opens_us, due_us;
} gam_grade_column_t;

typedef struct gam_grade_row {
    Dojo__Gamification__V1__ClassMember *member;
    bool opted_out;
    double grade_percent; /* mean of the row's cells */
    int solved;
} gam_grade_row_t;

typedef struct gam_gradebook {
    gam_grade_column_t *columns;
    size_t ncolumns;
    gam_grade_row_t *rows;
    size_t nrows;
    Dojo__Gamification__V1__ProgressCell **cells; /* rows x columns, row-major */
    int64_t *cell_at_us; /* when each cell's grade was reached (0: never) */
} gam_gradebook_t;

/** Computes the gradebook of class `slug` (arena): every assignment's tasks
 * or one assignment's (`assignment_id`, NULL for all), for every member or
 * one (`user_id`, NULL for all); `visible_at_us` > 0 leaves out
 * assignments not open by then (what a learner sees). */
int gam_gradebook_load(rpc_call_t *call, pg_conn_t *conn, const char *slug,
                       const char *assignment_id, const char *user_id, int64_t visible_at_us,
                       gam_gradebook_t *out, err_t **err);
/** The title of an active task (its slug when not in the snapshot). */
const char *gam_task_title(const gam_snapshot_t *s, const char *slug);

/** Reads a local time of `zone` ("2026-03-10T23:59[:SS]") or RFC 3339 into
 * microseconds; INVALID_ARGUMENT names `field`, also for a local time the
 * zone skips. */
int gam_parse_class_time(pg_conn_t *conn, const char *field, const char *text, const char *zone,
                         int64_t *out, err_t **err);

/* classes.c */
int gam_rpc_create_class(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                         err_t **err);
int gam_rpc_get_class(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                      err_t **err);
int gam_rpc_list_classes(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                         err_t **err);
int gam_rpc_update_class(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                         err_t **err);
int gam_rpc_archive_class(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                          err_t **err);
int gam_rpc_delete_class(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                         err_t **err);
int gam_rpc_join_class(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                       err_t **err);
int gam_rpc_remove_class_member(rpc_call_t *call, const ProtobufCMessage *req,
                                ProtobufCMessage **out, err_t **err);
int gam_rpc_list_class_members(rpc_call_t *call, const ProtobufCMessage *req,
                               ProtobufCMessage **out, err_t **err);
/* roster.c */
int gam_rpc_import_roster(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                          err_t **err);
/* assignments.c */
int gam_rpc_create_assignment(rpc_call_t *call, const ProtobufCMessage *req,
                              ProtobufCMessage **out, err_t **err);
int gam_rpc_update_assignment(rpc_call_t *call, const ProtobufCMessage *req,
                              ProtobufCMessage **out, err_t **err);
int gam_rpc_delete_assignment(rpc_call_t *call, const ProtobufCMessage *req,
                              ProtobufCMessage **out, err_t **err);
int gam_rpc_get_assignment(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                           err_t **err);
int gam_rpc_list_assignments(rpc_call_t *call, const ProtobufCMessage *req,
                             ProtobufCMessage **out, err_t **err);
int gam_rpc_list_due(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                     err_t **err);
/* dashboard.c */
int gam_rpc_get_class_board(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                            err_t **err);
int gam_rpc_get_class_progress(rpc_call_t *call, const ProtobufCMessage *req,
                               ProtobufCMessage **out, err_t **err);
int gam_rpc_get_task_analytics(rpc_call_t *call, const ProtobufCMessage *req,
                               ProtobufCMessage **out, err_t **err);
int gam_rpc_export_grades(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                          err_t **err);
int gam_rpc_record_task_open(rpc_call_t *call, const ProtobufCMessage *req,
                             ProtobufCMessage **out, err_t **err);
/** Whether `user_id` teaches the class (cohort) `slug`. */
int gam_teaches_class(pg_conn_t *conn, const char *slug, const char *user_id, bool *out,
                      err_t **err);
/** Whether `teacher` teaches `learner` in a class where `task_slug` is
 * assigned (task_slug NULL: in any class). */
int gam_teaches(pg_conn_t *conn, const char *teacher, const char *learner, const char *task_slug,
                bool *out, err_t **err);

/* reminders.c: mails learners who have not solved an assignment's tasks
 * remind_hours_before its due date, once each. */
int gam_reminders_start(gam_t *g, gam_reminders_t **out, err_t **err);
void gam_reminders_stop(gam_reminders_t *r);
/** One pass: finds what is due soon and mails it; *sent counts the mails. */
int gam_reminders_run_once(gam_t *g, int *sent, err_t **err);

/* ------------------------------------------------------------------------
 * Contests (contests.c, contest_subs.c, clarifications.c, scoreboard.c,
 * feed.c; board.h computes the board). Definitions come from content,
 * cached for content_ttl_ms; see gamification.proto for who sees what.
 * ------------------------------------------------------------------------ */

/** Memory for messages built outside a call (the board publisher) or in
 * one (handlers): a protobuf-c allocator (gam_pb_allocator, or an arena's). */
void *gam_new(ProtobufCAllocator *a, size_t size);
char *gam_strdup(ProtobufCAllocator *a, const char *s);
#define GAM_NEW(a, T, init)                                                                        \
    ({                                                                                             \
        T *m_ = gam_new((a), sizeof(T));                                                           \
        T init_ = init;                                                                            \
        memcpy(m_, &init_, sizeof(T));                                                             \
        m_;                                                                                        \
    })

/** Creates and frees the contests' definitions cache. */
int gam_contests_open(gam_t *g, err_t **err);
void gam_contests_close(gam_t *g);

/** The contest `slug` as content defines it, with the invitation hash,
 * decoded with `a`. NOT_FOUND for an unknown contest; UNAVAILABLE when
 * content is away and nothing is cached. */
int gam_contest_def(gam_t *g, const char *slug, ProtobufCAllocator *a,
                    Dojo__Content__V1__Contest **out, err_t **err);
/** Marks the cached definition of `slug` stale when it is older than
 * `min_version`, so the next gam_contest_def fetches it. */
void gam_contest_def_require(gam_t *g, const char *slug, int min_version);

/** Whether the submissions to `c` are judged to their first failing test
 * whatever their task says: ICPC contests (a verdict is its first failure's),
 * not IOI ones (the test groups passed are the score). */
bool gam_contest_stops_early(const Dojo__Content__V1__Contest *c);

/** Microseconds: the end of a contest (0 for open-ended), the start of its
 * freeze (0 when it never freezes). */
int64_t gam_contest_end_us(const Dojo__Content__V1__Contest *c);
int64_t gam_contest_freeze_us(const Dojo__Content__V1__Contest *c);
/** The problem with `label`, or -1. */
int gam_contest_problem(const Dojo__Content__V1__Contest *c, const char *label);

/** The caller's access to a contest. */
typedef struct gam_access {
    int level;        /* Dojo__Gamification__V1__ContestAccess */
    char team_id[24]; /* CONTEST_ACCESS_TEAM: the caller's team */
    char actor[48];   /* a user id, or "service" */
} gam_access_t;
int gam_contest_access(gam_t *g, pg_conn_t *conn, const identity_t *id, const char *slug,
                       gam_access_t *out, err_t **err);
/** The token of the newest event of `slug`'s log that `acc` may see, into
 * `out` ("" when there is none) (feed.c). */
int gam_event_last(pg_conn_t *conn, const char *slug, const gam_access_t *acc, char out[24],
                   err_t **err);
/** PERMISSION_DENIED unless `acc` is the jury's. */
int gam_require_jury(const gam_access_t *acc, err_t **err);

/** Times of a contest's state, microseconds (0: not yet). */
typedef struct gam_state {
    int64_t started, frozen, ended, thawed, finalized, end_of_updates;
} gam_state_t;
/** The state at `now` with the jury's thaw and finalisation. */
void gam_contest_state(const Dojo__Content__V1__Contest *c, int64_t now, int64_t thawed,
                       int64_t finalized, gam_state_t *out);
Dojo__Gamification__V1__ContestState *gam_state_msg(ProtobufCAllocator *a, const gam_state_t *s);

/** Makes sure the contest has its row and that the event log announced its
 * current definition and state (with a fresh `now`); *st (may be NULL) gets
 * the state. Cheap when nothing changed since the last call. */
int gam_contest_sync(gam_t *g, pg_conn_t *conn, const Dojo__Content__V1__Contest *c, int64_t now,
                     gam_state_t *st, err_t **err);
/** What a contest handler starts from: the contest `slug` (decoded in the
 * call's arena), a connection (*conn: the caller's, cleanup_pgconn), the
 * contest synced at `now` (its state in *st; st may be NULL) and the
 * access of `id` — the caller as the handler checked it, or NULL for the
 * call's own identity (anonymous callers allowed). */
int gam_contest_open(gam_t *g, rpc_call_t *call, const identity_t *id, const char *slug,
                     int64_t now, Dojo__Content__V1__Contest **c, pg_conn_t **conn, gam_state_t *st,
                     gam_access_t *acc, err_t **err);

/** Appends an event to the log in the caller's transaction (or none): `ev`
 * carries type, id and data (its token is the row's seq). Seen by the jury
 * (for_jury), everyone (for_public) and/or one team (for_team, "" none). */
int gam_event_add(pg_conn_t *conn, const char *slug, const Dojo__Gamification__V1__ContestEvent *ev,
                  bool for_jury, bool for_public, const char *for_team, int64_t now, err_t **err);

/** The team's message, with members and join code when `full`. */
int gam_team_msg(ProtobufCAllocator *a, pg_conn_t *conn, const char *slug, const char *team_id,
                 bool full, Dojo__Gamification__V1__ContestTeam **out, err_t **err);

/** Marks the contest's boards for recomputation and publishing (soon, on
 * the publisher thread; many marks in a row make one computation). */
void gam_board_touch(gam_t *g, const char *slug);
/** The publisher thread (scoreboard.c): it also ticks every second so that
 * starts, freezes and ends reach the event log and viewers on time. */
int gam_boards_start(gam_t *g, err_t **err);
void gam_boards_stop(gam_t *g);

/** Computes the board of `c` for `audience` (PUBLIC or JURY), optionally
 * only for the teams of `group_id` (""/NULL: all), at `now`. */
int gam_board_build(gam_t *g, pg_conn_t *conn, const Dojo__Content__V1__Contest *c, int audience,
                    const char *group_id, int64_t now, ProtobufCAllocator *a,
                    Dojo__Gamification__V1__Scoreboard **out, err_t **err);

/** The contest part of CreateSubmission (contest_slug set): checks the
 * caller's team, the time rules and the pending cap, resolves the task and
 * its version, and inserts the submission in `conn`'s open transaction.
 * Fills the response. */
int gam_contest_create_submission(gam_t *g, rpc_call_t *call, pg_conn_t *conn,
                                  const Dojo__Gamification__V1__CreateSubmissionRequest *req,
                                  int64_t now,
                                  Dojo__Gamification__V1__CreateSubmissionResponse *resp,
                                  err_t **err);
/** After a result was recorded for a contest submission (in the same
 * transaction): its first judgement, events. */
int gam_contest_judged(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const char *submission_id,
                       const Dojo__Gamification__V1__RecordResultRequest *req, int64_t now,
                       char *slug_out, size_t slug_cap, err_t **err);
/** RecordResult for a rejudge (`submission_id` names a judgement): found
 * (*handled) or not. Idempotent. */
int gam_contest_record_rejudge(gam_t *g, rpc_call_t *call,
                               const Dojo__Gamification__V1__RecordResultRequest *req,
                               bool *handled, ProtobufCMessage **out, err_t **err);
/** GetSubmission for a judgement id (services: the executor judging a
 * rejudge): the submission as that judgement sees it; *found false when the
 * id is no judgement. */
int gam_contest_judgement_submission(gam_t *g, rpc_call_t *call, pg_conn_t *conn, const char *id,
                                     bool *found, Dojo__Gamification__V1__Submission **out,
                                     err_t **err);

int gam_rpc_list_contest_views(rpc_call_t *call, const ProtobufCMessage *req,
                               ProtobufCMessage **out, err_t **err);
int gam_rpc_get_contest_view(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                             err_t **err);
int gam_rpc_register_contest(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                             err_t **err);
int gam_rpc_put_contest_team(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                             err_t **err);
int gam_rpc_list_contest_teams(rpc_call_t *call, const ProtobufCMessage *req,
                               ProtobufCMessage **out, err_t **err);
int gam_rpc_set_contest_jury(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                             err_t **err);
int gam_rpc_list_contest_submissions(rpc_call_t *call, const ProtobufCMessage *req,
                                     ProtobufCMessage **out, err_t **err);
int gam_rpc_get_contest_submission(rpc_call_t *call, const ProtobufCMessage *req,
                                   ProtobufCMessage **out, err_t **err);
int gam_rpc_list_contest_judgements(rpc_call_t *call, const ProtobufCMessage *req,
                                    ProtobufCMessage **out, err_t **err);
int gam_rpc_rejudge_contest(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                            err_t **err);
int gam_rpc_override_verdict(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                             err_t **err);
int gam_rpc_list_contest_audit(rpc_call_t *call, const ProtobufCMessage *req,
                               ProtobufCMessage **out, err_t **err);
int gam_rpc_create_clarification(rpc_call_t *call, const ProtobufCMessage *req,
                                 ProtobufCMessage **out, err_t **err);
int gam_rpc_list_clarifications(rpc_call_t *call, const ProtobufCMessage *req,
                                ProtobufCMessage **out, err_t **err);
int gam_rpc_get_scoreboard(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                           err_t **err);
int gam_rpc_thaw_contest(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                         err_t **err);
int gam_rpc_reveal_next(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                        err_t **err);
int gam_rpc_finalize_contest(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                             err_t **err);
int gam_rpc_list_contest_events(rpc_call_t *call, const ProtobufCMessage *req,
                                ProtobufCMessage **out, err_t **err);

/** An entry of the jury's audit log, in the caller's transaction. */
int gam_audit_add(pg_conn_t *conn, const char *slug, const gam_access_t *acc, const char *action,
                  const char *target, int from_verdict, int to_verdict, const char *reason,
                  int64_t now, err_t **err);

/* drafts.c */
int gam_rpc_save_draft(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                       err_t **err);
int gam_rpc_get_draft(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                      err_t **err);

#endif
