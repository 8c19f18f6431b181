/* running.c — what this executor is running: the list ListRunning reports
 * (oldest first) with the jobs_running gauge, and the sandbox slots (a slot
 * is a uid range; workers own theirs, RunJob borrows from the rest). */
#define _GNU_SOURCE
#include "executor.h"
#include "libcommon/metrics.h"

void exec_running_add(exec_t *ex, exec_job_t *j)
{
    pthread_mutex_lock(&ex->lock);
    j->next = NULL;
    j->prev = NULL;
    if (!ex->running) {
        ex->running = j;
    } else {
        exec_job_t *t = ex->running;
        while (t->next)
            t = t->next;
        t->next = j;
        j->prev = t;
    }
    pthread_mutex_unlock(&ex->lock);
    atomic_fetch_add(&ex->jobs_running, 1);
    metrics_gauge_set("dojo_executor_jobs_running", "", atomic_load(&ex->jobs_running));
}

void exec_running_remove(exec_t *ex, exec_job_t *j)
{
    pthread_mutex_lock(&ex->lock);
    if (j->prev)
        j->prev->next = j->next;
    else if (ex->running == j)
        ex->running = j->next;
    if (j->next)
        j->next->prev = j->prev;
    j->prev = j->next = NULL;
    pthread_mutex_unlock(&ex->lock);
    atomic_fetch_sub(&ex->jobs_running, 1);
    metrics_gauge_set("dojo_executor_jobs_running", "", atomic_load(&ex->jobs_running));
}

int exec_slot_take(exec_t *ex, int from, int to)
{
    int got = -1;
    pthread_mutex_lock(&ex->lock);
    for (int s = from; s < to; s++) {
        if (!ex->slot_busy[s]) {
            ex->slot_busy[s] = true;
            got = s;
            break;
        }
    }
    pthread_mutex_unlock(&ex->lock);
    return got;
}

void exec_slot_release(exec_t *ex, int slot)
{
    if (slot < 0)
        return;
    pthread_mutex_lock(&ex->lock);
    ex->slot_busy[slot] = false;
    pthread_mutex_unlock(&ex->lock);
}
