/* fuzz.h — what the harnesses of tests/fuzz share.
 *
 * The targets run with libFuzzer's -close_fd_mask=2 (the services' log lines,
 * all formatted at debug level, would drown the output), which sends fd 2 to
 * /dev/null: a broken property is reported through the sanitizer's report
 * file, which libFuzzer keeps, then aborts, so libFuzzer saves the input. */
#ifndef DOJO_TESTS_FUZZ_H
#define DOJO_TESTS_FUZZ_H

#include <sanitizer/common_interface_defs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noreturn, format(printf, 1, 2))) static inline void fuzz_fail(const char *fmt,
                                                                               ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    __sanitizer_report_error_summary(msg);
    abort();
}

#endif
