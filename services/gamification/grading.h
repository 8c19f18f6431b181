/* grading.h — the arithmetic of assignment grades, without a database or a
 * server: late policies, assignment states, retries buckets, medians and
 * time to solve. Pure functions, unit-tested in t/test_grading.c. */
#ifndef DOJO_GAMIFICATION_GRADING_H
#define DOJO_GAMIFICATION_GRADING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* LatePolicy and AssignmentState of classes.proto. */
#define GRADING_ACCEPT 1
#define GRADING_PENALTY 2
#define GRADING_REFUSE 3

#define GRADING_UPCOMING 1
#define GRADING_OPEN 2
#define GRADING_LATE 3
#define GRADING_CLOSED 4

/** What a learner's SUBMITs of one task tell, split at the due date. A best
 * is a score fraction 0-1, or -1 when there was no such submission. */
typedef struct grading_facts {
    double best_on_time;
    int64_t best_on_time_at_us; /* when the first submission with that best was made */
    double best_late;
    int64_t best_late_at_us;
    bool accepted_on_time, accepted_late;
} grading_facts_t;

typedef struct grading_result {
    double percent; /* 0-100 */
    bool late;      /* the grade comes from a late submission */
    bool solved;    /* an accepted submission counts */
    int64_t at_us;  /* when the grade was reached; 0 when nothing counts */
} grading_result_t;

/** The grade by the late policy: on-time submissions count as they are;
 * late ones in full (accept), less penalty_percent of their score (penalty)
 * or not at all (refuse). The better of the two wins; an equal late one
 * does not. */
void grading_grade(const grading_facts_t *f, int policy, int penalty_percent,
                   grading_result_t *out);

/** Where an assignment stands at `now_us`. */
int grading_state(int64_t now_us, int64_t opens_us, int64_t due_us, int policy);

/** The retries bucket of a learner who needed `attempts` SUBMITs (solved)
 * or gave up after them: "1", "2", "3", "4-5", "6-10", "11+", "unsolved".
 * Static string. */
const char *grading_retries_label(int attempts, bool solved);
/** The buckets in display order, and their count. */
extern const char *const grading_retries_labels[];
extern const size_t grading_retries_nlabels;

/** The median of `n` values (sorts them in place); 0 for none. */
double grading_median(double *v, size_t n);

/** Seconds from when a learner started on a task — the earlier of first
 * opening it and first submitting it (0 = unknown) — to their first
 * accepted submission's result; -1 when not solved or nothing is known. */
int64_t grading_seconds_to_solve(int64_t opened_us, int64_t first_submit_us,
                                 int64_t first_accepted_us);

#endif
