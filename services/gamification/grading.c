/* grading.c — see grading.h. */
#include "grading.h"

#include <stdlib.h>

void grading_grade(const grading_facts_t *f, int policy, int penalty_percent,
                   grading_result_t *out)
{
    *out = (grading_result_t){0};
    double late = -1;
    if (f->best_late >= 0 && policy != GRADING_REFUSE) {
        late = f->best_late;
        if (policy == GRADING_PENALTY)
            late *= (100 - penalty_percent) / 100.0;
    }
    if (f->best_on_time >= 0 && f->best_on_time >= late) {
        out->percent = f->best_on_time * 100;
        out->at_us = f->best_on_time_at_us;
    } else if (late >= 0) {
        out->percent = late * 100;
        out->late = true;
        out->at_us = f->best_late_at_us;
    }
    if (out->percent <= 0)
        out->at_us = 0;
    out->solved = f->accepted_on_time || (f->accepted_late && policy != GRADING_REFUSE);
}

int grading_state(int64_t now_us, int64_t opens_us, int64_t due_us, int policy)
{
    if (now_us < opens_us)
        return GRADING_UPCOMING;
    if (now_us <= due_us)
        return GRADING_OPEN;
    return policy == GRADING_REFUSE ? GRADING_CLOSED : GRADING_LATE;
}

const char *const grading_retries_labels[] = {"1", "2", "3", "4-5", "6-10", "11+", "unsolved"};
const size_t grading_retries_nlabels = sizeof grading_retries_labels / sizeof(char *);

const char *grading_retries_label(int attempts, bool solved)
{
    if (!solved)
        return "unsolved";
    if (attempts <= 1)
        return "1";
    if (attempts <= 3)
        return grading_retries_labels[attempts - 1];
    if (attempts <= 5)
        return "4-5";
    if (attempts <= 10)
        return "6-10";
    return "11+";
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double grading_median(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int64_t grading_seconds_to_solve(int64_t opened_us, int64_t first_submit_us,
                                 int64_t first_accepted_us)
{
    if (first_accepted_us <= 0)
        return -1;
    int64_t start = opened_us;
    if (start <= 0 || (first_submit_us > 0 && first_submit_us < start))
        start = first_submit_us;
    if (start <= 0 || start > first_accepted_us)
        return -1;
    return (first_accepted_us - start) / 1000000;
}
