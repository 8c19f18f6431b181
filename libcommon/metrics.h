/* metrics.h — Prometheus metrics in the text exposition format, served at
 * http://<addr>/metrics by a small HTTP thread.
 *
 * The RPC layer records every call (per method: a call counter by status
 * code and a latency histogram); services add their own counters and gauges. */
#ifndef DOJO_METRICS_H
#define DOJO_METRICS_H

#include <stdint.h>

#include "err.h"

/** Starts serving GET /metrics (and GET /healthz → 200 "ok") on `addr`
 * ("host:port") in a background thread. Fails with UNAVAILABLE when the port
 * cannot be bound. */
int metrics_start(const char *addr, err_t **err);

/** Stops the HTTP thread (used at the end of a drain). */
void metrics_stop(void);

/** Records one finished RPC: increments
 * dojo_rpc_calls_total{method="/pkg.Svc/M",code="OK"} and observes
 * dojo_rpc_duration_seconds{method=...} (buckets from 50 µs to 10 s). */
void metrics_rpc_observe(const char *method, const char *code_name, double seconds);

/** Adds `value` to counter `name` with a label set written as Prometheus
 * labels without braces (`kind="submit"`; "" for none). Thread-safe. Names
 * and label sets are copied on first use. */
void metrics_counter_add(const char *name, const char *labels, double value);

/** Sets gauge `name`{labels} to `value`. */
void metrics_gauge_set(const char *name, const char *labels, double value);

/** Registers a callback run at each scrape to refresh gauges (for example the
 * executor's queue depth). `payload` is passed back. */
void metrics_on_scrape(void (*fn)(void *payload), void *payload);

#endif
