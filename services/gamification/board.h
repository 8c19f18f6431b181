/* board.h — a contest's scoreboard as a pure function of its teams,
 * problems and judged submissions: ICPC and IOI ranking, what the freeze
 * hides, first-to-solve marks and awards. No database, no clock; the caller
 * (scoreboard.c) decides which submissions an audience sees judged. Unit
 * tests in t/test_board.c. */
#ifndef DOJO_GAMIFICATION_BOARD_H
#define DOJO_GAMIFICATION_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { BOARD_ICPC = 1, BOARD_IOI = 2 };
enum { BOARD_IOI_BEST = 1, BOARD_IOI_LAST = 2 };

typedef struct board_problem {
    const char *label;
    int64_t points_c; /* IOI: what it is worth, in hundredths of a point */
} board_problem_t;

typedef struct board_team {
    const char *id;
    const char *name;
} board_team_t;

/* One submission as the audience sees it. */
typedef struct board_sub {
    size_t team;     /* index into teams */
    size_t problem;  /* index into problems */
    int64_t seq;     /* submission order */
    int64_t time_ms; /* since the start */
    int verdict;     /* dojo.common.v1.Verdict of the current judgement; 0 = not judged */
    int64_t score_c; /* IOI: its points, in hundredths */
    bool frozen;     /* judged, but hidden from this audience by the freeze */
} board_sub_t;

typedef struct board_input {
    int scoring;  /* BOARD_ICPC or BOARD_IOI */
    int ioi_mode; /* BOARD_IOI_BEST or BOARD_IOI_LAST */
    int penalty_minutes;
    int gold, silver, bronze;
    const board_problem_t *problems;
    size_t nproblems;
    const board_team_t *teams;
    size_t nteams;
    const board_sub_t *subs; /* any order */
    size_t nsubs;
} board_input_t;

typedef struct board_cell {
    int num_judged;  /* ICPC: attempts up to the first accepted; IOI: judged submissions */
    int num_pending; /* not judged yet, or frozen */
    bool solved;     /* ICPC: accepted; IOI: full points */
    int64_t score_c; /* IOI */
    int64_t time_ms; /* of the solve (ICPC) or of the submission that gave the score; -1 */
    bool first_to_solve;
} board_cell_t;

typedef struct board_row {
    size_t team; /* index into teams */
    int rank;    /* from 1; equal for ties */
    int num_solved;
    int64_t total_minutes; /* ICPC penalty */
    int64_t score_c;       /* IOI total */
    int64_t last_ms;       /* last improvement; -1 for none */
    board_cell_t *cells;   /* nproblems, in problem order */
} board_row_t;

typedef struct board_award {
    char id[64]; /* "winner", "gold-medal", "first-to-solve-A" */
    char citation[96];
    size_t *teams; /* indexes into teams */
    size_t nteams;
} board_award_t;

typedef struct board {
    board_row_t *rows; /* nteams, by rank then team name */
    size_t nrows;
    board_award_t *awards;
    size_t nawards;
} board_t;

/** Computes the board of `in` into *out (new: board_free it). Verdicts that
 * are no attempt (compile errors, judge errors, cancelled) count for
 * nothing; in ICPC a team's submissions after its first accepted one count
 * for nothing, and once one is pending every later one is pending too (the
 * penalty of a solve after it is not known yet). */
void board_compute(const board_input_t *in, board_t *out);
void board_free(board_t *b);

/** Points of one IOI submission, in hundredths: the problem's points times
 * the weight of the groups passed whole over the weight of all tests,
 * rounded. groups[i] names test i's group (NULL or "" for a group of its
 * own). */
int64_t board_ioi_score_c(int64_t points_c, size_t ntests, const char *const *groups,
                          const int *weights, const bool *accepted);

#endif
