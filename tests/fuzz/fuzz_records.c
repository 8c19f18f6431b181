/* fuzz_records — the executor's reader of the driver's record stream (the
 * parser of services/executor/sandbox.c), the bytes that come out of the
 * sandbox, on any bytes fed in chunks of any size (as reads from the pipe
 * would cut them). The reader is static in sandbox.c: this harness compiles
 * sandbox.c into itself to reach it, so the sandbox needs no change for it.
 *
 * Properties: every record and chunk handed over lies within what was fed
 * (and is copied here, so a bad length is caught), its status is a short
 * string, the count of records is the number of callbacks, and nothing is
 * consumed after "D"; a stream read before its job is known (a pooled
 * sandbox's "R") is read the same way, without callbacks. */
/* First: sandbox.c defines _GNU_SOURCE before its own includes. */
#include "services/executor/sandbox.c"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

typedef struct seen {
    parser_t *p;
    int records;
} seen_t;

static void fail(const char *what)
{
    fuzz_fail("fuzz_records: %s", what);
}

static void within(const parser_t *p, const char *s, size_t n)
{
    if (n == 0)
        return;
    if (s < p->buf || n > p->len || s - p->buf > (ptrdiff_t)(p->len - n))
        fail("a buffer handed over that is not within what was fed");
    char *copy = malloc(n);
    memcpy(copy, s, n);
    free(copy);
}

static void on_record(void *payload, const sandbox_record_t *r)
{
    seen_t *s = payload;
    if (memchr(r->status, 0, sizeof r->status) == NULL)
        fail("a status without its terminator");
    within(s->p, r->out, r->out_len);
    within(s->p, r->err, r->err_len);
    s->records++;
}

static void on_chunk(void *payload, char stream, const char *data, size_t len)
{
    seen_t *s = payload;
    if (stream != 'O' && stream != 'E')
        fail("a chunk of an unknown stream");
    within(s->p, data, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* The first byte: how the pipe cuts the stream (1 = a byte at a time). */
    size_t step = (size_t)data[0] % 64 + 1;
    if (data[0] >= 192)
        step = size;
    data++;
    size--;
    parser_t p = {0};
    seen_t seen = {.p = &p};
    sandbox_job_t job = {.payload = &seen, .on_record = on_record,
                         .on_chunk = (size % 2) ? on_chunk : NULL};
    /* A pooled sandbox's stream is read before its job exists (no job). */
    const sandbox_job_t *jp = size % 5 == 0 ? NULL : &job;
    for (size_t off = 0; off < size && !p.done;) {
        size_t n = size - off < step ? size - off : step;
        parser_feed(&p, (const char *)data + off, n);
        off += n;
        if (parser_drain(&p, jp) < 0)
            break;
        if (p.len > p.cap)
            fail("more held than allocated");
    }
    if (jp && seen.records != p.reported)
        fail("the count of records is not the number handed over");
    if (memchr(p.driver_error, 0, sizeof p.driver_error) == NULL)
        fail("a driver error without its terminator");
    free(p.buf);
    return 0;
}
