/* fuzz_checker — the executor's judging of output (services/executor
 * checker.c): the built-in comparisons of expected with actual output, the
 * verdict of a driver record, UTF-8 cleaning, and a custom checker's
 * protocol (its input bundle, and the records of its runs turned into
 * verdicts), with sandbox_run played here by the fuzz input.
 *
 * Input: 8 bytes of settings, then expected output, a NUL, actual output.
 * Every buffer handed over is an exact-size copy, so reading past one is
 * caught. Properties: identical outputs are accepted by every kind; the
 * message fits its buffer; a clean record is AC, any other has a message. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "libcommon/log.h"
#include "services/executor/executor.h"

static const uint8_t *fz_data;
static size_t fz_size;

static void fail(const char *what, const char *detail)
{
    fuzz_fail("fuzz_checker: %s: %.600s", what, detail ? detail : "(null)");
}

static char *copy(const uint8_t *p, size_t n)
{
    char *c = malloc(n ? n : 1);
    if (c == NULL)
        abort();
    if (n)
        memcpy(c, p, n);
    return c;
}

/* The stand-in sandbox: checks the bundle of each case, then reports one
 * record per case made from the fuzz input (status, exit code, stdout and
 * stderr as exact-size buffers, not NUL-terminated), with indexes in and
 * out of range. */
int sandbox_run(const sandbox_config_t *cfg, const sandbox_job_t *job, sandbox_outcome_t *out,
                err_t **err)
{
    static const char *const statuses[] = {"OK", "SG", "TC", "ML", "PL", "TW", "TS", "OL", "XX"};
    for (int i = 0; i < job->ntests; i++) {
        size_t l[4];
        if (sscanf(job->inputs[i], "DOJOCHK1 %zu %zu %zu %zu", &l[0], &l[1], &l[2], &l[3]) != 4)
            fail("a custom checker bundle without its header", job->inputs[i]);
        const char *nl = memchr(job->inputs[i], '\n', job->input_lens[i]);
        if (nl == NULL ||
            (size_t)(nl + 1 - job->inputs[i]) + l[0] + l[1] + l[2] + l[3] != job->input_lens[i])
            fail("a custom checker bundle of the wrong length", job->inputs[i]);
    }
    size_t half = fz_size / 2;
    for (int i = -1; i <= job->ntests; i++) {
        uint8_t b = fz_size ? fz_data[(size_t)(i + 1) % fz_size] : 0;
        sandbox_record_t r = {.index = i, .exit_code = b % 64 - 8, .term_signal = b % 32};
        snprintf(r.status, sizeof r.status, "%s", statuses[b % 9]);
        char *o = copy(fz_data, half), *e = copy(fz_data + half, fz_size - half);
        r.out = o;
        r.out_len = half;
        r.err = e;
        r.err_len = fz_size - half;
        job->on_record(job->payload, &r);
        free(o);
        free(e);
    }
    out->end = SANDBOX_DONE;
    out->tests_reported = job->ntests;
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* Every log line formatted: its arguments are read too. */
    log_min_level = LOG_LEVEL_DEBUG;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    fz_data = data;
    fz_size = size;
    uint8_t kind = data[0] % 6, tol = data[1], cap_b = data[2], lim_b = data[3];
    data += 8;
    size -= 8;
    const uint8_t *nul = memchr(data, 0, size);
    size_t elen = nul ? (size_t)(nul - data) : size / 2;
    size_t aoff = nul ? elen + 1 : elen;
    char *exp = copy(data, elen), *act = copy(data + aoff, size - aoff);
    size_t alen = size - aoff;

    Dojo__Content__V1__Checker cb = DOJO__CONTENT__V1__CHECKER__INIT;
    cb.kind = kind;
    cb.abs_tol = (tol & 0x0f) ? ldexp(1.0, -(tol & 0x0f)) : -(double)(tol >> 4);
    cb.rel_tol = (tol >> 4) ? ldexp(1.0, -(tol >> 4)) : 0;
    exec_checker_t ck;
    exec_checker_from_bundle(&cb, &ck);
    if (ck.abs_tol < 0 || ck.rel_tol < 0 || ck.kind == 0)
        fail("an unresolved checker", "");

    size_t cap = cap_b % 4 == 0 ? 0 : (size_t)cap_b;
    char *msg = malloc(cap ? cap : 1);
    if (ck.kind != DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_CUSTOM) {
        checker_compare(&ck, exp, elen, act, alen, msg, cap);
        if (cap && memchr(msg, 0, cap) == NULL)
            fail("a message without its terminator", "");
        char *self = copy(data, elen);
        if (!checker_compare(&ck, exp, elen, self, elen, msg, cap))
            fail("the expected output does not match itself", cap ? msg : "");
        free(self);
    }

    char *clean = exec_utf8_clean(act, alen, cap_b);
    if (strlen(clean) > cap_b)
        fail("a cleaned text longer than asked", clean);
    free(clean);

    /* The record the actual output would come with. */
    static const char *const statuses[] = {"OK", "SG", "TC", "ML", "PL", "TW", "TS", "OL", "XX", ""};
    sandbox_record_t rec = {.exit_code = lim_b % 4 == 0 ? 0 : lim_b - 128,
                            .term_signal = lim_b % 40,
                            .cpu_ms = (long)lim_b * 37,
                            .wall_ms = (long)lim_b * 91,
                            .rss_kib = (long)lim_b << 12,
                            .out = exp,
                            .out_len = elen,
                            .err = alen ? act : NULL,
                            .err_len = alen};
    snprintf(rec.status, sizeof rec.status, "%s", statuses[lim_b % 10]);
    sandbox_limits_t lim = {.cpu_ms = 1000, .wall_ms = 3000, .memory_kib = (lim_b & 1) ? 0 : 262144,
                            .output_kib = 1024};
    char vmsg[EXEC_MESSAGE_MAX + 1];
    exec_verdict_t v = exec_verdict_of_record(&rec, &lim, vmsg, sizeof vmsg);
    if (v == DOJO__COMMON__V1__VERDICT__VERDICT_AC ? vmsg[0] != '\0' : vmsg[0] == '\0')
        fail("a verdict and its message disagree", vmsg);
    (void)exec_verdict_name(v);
    (void)exec_verdict_phrase(v);

    /* A custom checker over two cases (the input, then the outputs swapped). */
    if (kind == DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_CUSTOM || (tol & 0x80)) {
        sandbox_lang_t lang;
        memset(&lang, 0, sizeof lang);
        snprintf(lang.id, sizeof lang.id, "%s", (lim_b & 2) ? "python3" : "c");
        checker_case_t cases[2] = {
            {.input = act, .input_len = alen, .expected = exp, .expected_len = elen,
             .actual = act, .actual_len = alen},
            {.input = "", .input_len = 0, .expected = act, .expected_len = alen,
             .actual = exp, .actual_len = elen},
        };
        char *src = malloc(elen + 1);
        memcpy(src, exp, elen);
        src[elen] = '\0';
        err_t *e = NULL;
        if (checker_run_custom(NULL, SANDBOX_CRUN, 0, &lang, src, cases, 2, NULL, &e) < 0)
            fail("the stand-in sandbox failed", "");
        for (int i = 0; i < 2; i++)
            if (memchr(cases[i].message, 0, sizeof cases[i].message) == NULL)
                fail("a case message without its terminator", "");
        free(src);
    }
    free(msg);
    free(exp);
    free(act);
    return 0;
}
