/* metrics.h — Prometheus metrics in the text exposition format, served at
 * http://<addr>/metrics by a small HTTP thread.
 *
 * The RPC layer records every call (per method: a call counter by status
 * code and a latency histogram); services add their own counters and gauges. */
#ifndef DOJO_METRICS_H
#define DOJO_METRICS_H

#include <stdint.h>

#include "err.h"

/** Starts serving GET /metrics (and GET /healthz → 200 "ok"; anything else
 * 404) on `addr` ("host:port", "[v6]:port", ":port" for all interfaces) in a
 * background thread. Besides the registered metrics the exposition always
 * has dojo_process_start_time_seconds and dojo_build_info{version=...} = 1,
 * the version read from DOJO_VERSION ("dev" when unset). Fails with
 * UNAVAILABLE when the port cannot be bound, FAILED_PRECONDITION when
 * already running. */
int metrics_start(const char *addr, err_t **err);

/** Stops the HTTP thread and closes the socket (used at the end of a drain);
 * returns once the thread has exited. No-op when not running; metrics_start
 * may be called again. The registry keeps its values. */
void metrics_stop(void);

/** Records one finished RPC: increments
 * dojo_rpc_calls_total{method="/pkg.Svc/M",code="OK"} and observes
 * dojo_rpc_duration_seconds{method=...} (buckets from 50 µs to 10 s). */
void metrics_rpc_observe(const char *method, const char *code_name, double seconds);

/** Adds `value` to counter `name` with a label set written as Prometheus
 * labels without braces (`kind="submit"`; "" for none). Thread-safe. Names
 * and label sets are copied on first use. */
void metrics_counter_add(const char *name, const char *labels, double value);

/** Sets gauge `name`{labels} to `value`. Thread-safe. A name registered as a
 * counter can not be used as a gauge (and vice versa): the call is ignored
 * with a warning. */
void metrics_gauge_set(const char *name, const char *labels, double value);

/** Registers a callback run at each scrape, on the HTTP thread, before the
 * exposition is rendered, to refresh gauges (for example the executor's
 * queue depth). `payload` is borrowed and passed back; it must outlive the
 * server. Callbacks can not be removed. */
void metrics_on_scrape(void (*fn)(void *payload), void *payload);

#endif
