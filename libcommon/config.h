/* config.h — configuration from environment variables (12-factor), with
 * defaults that work for a local run. A bad value stops the service with a
 * message naming the variable: config_* print it and exit(2). */
#ifndef DOJO_CONFIG_H
#define DOJO_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

/** The variable's value, or `def` when unset or empty. Borrowed (from the
 * environment or `def`); valid for the life of the process. */
const char *config_str(const char *name, const char *def);

/** The variable's value; exits naming the variable when it is unset or empty. */
const char *config_str_required(const char *name);

/** An integer in [min, max]; `def` when unset. Exits on garbage or out of range. */
int64_t config_int(const char *name, int64_t def, int64_t min, int64_t max);

/** A boolean: 1/0, true/false, yes/no, on/off; `def` when unset. */
bool config_bool(const char *name, bool def);

/** A duration with a unit suffix (ms, s, m, h, d; bare numbers are seconds),
 * returned in milliseconds, in [min_ms, max_ms]. */
int64_t config_duration_ms(const char *name, const char *def, int64_t min_ms, int64_t max_ms);

/** A "host:port" address. Exits when it has no port or the port is invalid. */
const char *config_addr(const char *name, const char *def);

/** One of `choices` (NULL-terminated); returns its index. */
int config_enum(const char *name, const char *def, const char *const *choices);

/** Parses the same syntax as config_duration_ms without exiting: 0 or -1. */
int config_parse_duration_ms(const char *text, int64_t *out_ms);

#endif
