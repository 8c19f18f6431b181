/* text.h — checks on learner-supplied text shared by the services: UTF-8,
 * control characters, IANA time zones and display names. Messages name the
 * field ("time_zone: unknown time zone \"Mars/Base\""). */
#ifndef DOJO_TEXT_H
#define DOJO_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/** Length (1-4) of the valid UTF-8 sequence at `s`, or 0 when it is not one
 * (overlong forms, surrogates and code points past U+10FFFF are invalid). */
size_t text_utf8_seq(const unsigned char *s, size_t left);

/** Number of code points in `s`, or -1 when it is not valid UTF-8. */
long text_utf8_length(const char *s);

/** True when `s` holds a C0 control character or DEL. */
bool text_has_control(const char *s);

/** An IANA zone name that tzdata has a TZif file for (PostgreSQL's AT TIME
 * ZONE reads the same database). INVALID_ARGUMENT names `field`. */
int text_check_time_zone(const char *field, const char *in, err_t **err);

/** A display name: valid UTF-8, 1-64 characters, no C0/C1 control
 * characters, no leading or trailing space. */
int text_check_display_name(const char *in, err_t **err);

#endif
