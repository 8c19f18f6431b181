/* service.h — the skeleton of a Dojo service's main(): where things are in a
 * local run (DESIGN.md's "Local defaults", each overridable by its variable),
 * a command table with dispatch and usage, opening PostgreSQL and migrating a
 * schema, serving gRPC with metrics and health until SIGTERM, and how a failed
 * command is reported. A service's main.c is then wiring only: its
 * configuration, its handler table and its commands.
 *
 *   static const service_cmd_t commands[] = {
 *       {.name = "serve", .run = serve},
 *       {.name = "migrate", .run = migrate},
 *       {0},
 *   };
 *   int main(int argc, char **argv) { return service_main(&def, argc, argv); } */
#ifndef DOJO_SERVICE_H
#define DOJO_SERVICE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "err.h"
#include "pg.h"
#include "rpc.h"

/* ------------------------------------------------------------------------
 * Local defaults
 * ------------------------------------------------------------------------ */

/** The places every part of Dojo agrees on. Each is read from the variable
 * named after it (SERVICE_AUTH_ADDR: DOJO_AUTH_ADDR), or is its local
 * default: gRPC on 127.0.0.1:7001…7004, the gateway on :8080, metrics on
 * :9101…9105, PostgreSQL on :55432, Redis on :56379. */
typedef enum service_setting {
    SERVICE_GATEWAY_ADDR,      /* HTTP: the web app, the API, the WebSocket */
    SERVICE_AUTH_ADDR,         /* gRPC */
    SERVICE_CONTENT_ADDR,      /* gRPC */
    SERVICE_GAMIFICATION_ADDR, /* gRPC */
    SERVICE_EXECUTOR_ADDR,     /* gRPC (admin) */
    SERVICE_AUTH_METRICS_ADDR, /* Prometheus, GET /metrics */
    SERVICE_CONTENT_METRICS_ADDR,
    SERVICE_GAMIFICATION_METRICS_ADDR,
    SERVICE_EXECUTOR_METRICS_ADDR,
    SERVICE_GATEWAY_METRICS_ADDR,
    SERVICE_PG_URL, /* a libpq URI */
    SERVICE_REDIS_ADDR,
    SERVICE_PUBLIC_URL, /* the gateway as browsers reach it (links in mails) */
    SERVICE_SETTING_COUNT
} service_setting_t;

/** The setting's value: its variable when set and not empty (an address must
 * be "host:port": the process exits 2 naming the variable otherwise), else
 * its local default. Borrowed, valid for the life of the process. */
const char *service_setting(service_setting_t setting);

/** The variable that overrides `setting` ("DOJO_AUTH_ADDR"). Static string. */
const char *service_setting_var(service_setting_t setting);

/** The local default of `setting` ("127.0.0.1:7001"). Static string. */
const char *service_setting_default(service_setting_t setting);

/* ------------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------------ */

/** What a command returns when its operands are wrong: the usage is printed
 * and the process exits 2. */
#define SERVICE_USAGE 2

/** One operator command. `run` gets the service's payload and the operands
 * (the words after the command's name) and returns 0; -1 with *err set (the
 * error is reported, exit status 1); SERVICE_USAGE; or another positive exit
 * status when it has said why itself. */
typedef struct service_cmd {
    const char *name; /* "migrate" */
    int min_args;     /* operands it takes at least */
    int max_args;     /* and at most; -1 for any number */
    int (*run)(void *payload, int argc, char **argv, err_t **err);
} service_cmd_t;

/** A service's command line. */
typedef struct service_def {
    const char *name;              /* "auth": the log's svc=, messages */
    const char *usage;             /* the whole usage text, "usage: auth [serve]\n..." */
    const service_cmd_t *commands; /* ends with {0}; the first runs when no command is given */
    void *payload;                 /* handed to every hook and command */
    /* Optional: loads the configuration (may exit 2 naming a variable);
     * runs before the command is chosen. `argv0` is the program as started. */
    void (*configure)(void *payload, const char *argv0);
    /* Optional: releases what the command opened, whatever it returned. */
    void (*close)(void *payload);
} service_def_t;

/** A service's whole main(): rpc_init, log_init(def->name), then
 * service_dispatch. Returns the exit status. */
int service_main(const service_def_t *def, int argc, char **argv);

/** Runs `def->configure`, the command argv[1] names (the first of the table
 * when there is none) with its operands, then `def->close`. An unknown
 * command or a wrong number of operands prints the usage and returns 2. A
 * failed command is reported once in the log (`NAME failed command=…
 * error="…"`) and once on stderr (`NAME COMMAND: message`), and returns 1. */
int service_dispatch(const service_def_t *def, int argc, char **argv);

/* ------------------------------------------------------------------------
 * PostgreSQL
 * ------------------------------------------------------------------------ */

/** DOJO_PG_POOL: connections per pool (1 to 256, default 8 or what
 * service_pool_default set). Services size their Redis pools alike. */
int service_pool_size(void);

/** Changes the default of DOJO_PG_POOL for this process (auth: a connection
 * for every hash that may finish at once). Call before service_pg_open. */
void service_pool_default(int n);

/** Opens a pool of service_pool_size() connections to `url` and applies
 * `schema`'s migrations (pg_migrate). *out is set as soon as the pool is open
 * and is new: pg_pool_close it, also when migrating failed. Errors say
 * "connect to PostgreSQL: …" or "migrate: …". */
int service_pg_open(pg_pool_t **out, const char *url, const char *schema,
                    const pg_migration_t *migrations, size_t count, err_t **err);

/* ------------------------------------------------------------------------
 * Serving
 * ------------------------------------------------------------------------ */

/** What service_serve runs: one gRPC service (with grpc.health.v1.Health)
 * and the process's metrics. */
typedef struct service_server {
    const char *name;         /* "auth": the server's name in logs and metrics */
    const char *addr;         /* gRPC "host:port" */
    const char *metrics_addr; /* "host:port" of GET /metrics */
    const ProtobufCServiceDescriptor *service;
    const rpc_handler_t *handlers; /* ends with {0} */
    void *payload;                 /* rpc_call_payload in handlers; handed to the hooks */
    /* Optional: starts what works beside the handlers (the executor's job
     * workers) once the server exists, before it accepts calls. */
    int (*start)(rpc_server_t *server, void *payload, err_t **err);
    /* Optional: undoes `start`, after the drain or when starting failed
     * after `start` succeeded. */
    void (*stop)(void *payload);
    /* Optional: more `key=value` fields for the "NAME serving" log line. */
    void (*describe)(void *payload, char *out, size_t cap);
} service_server_t;

/** Starts the metrics and the gRPC server, logs "NAME serving addr=… port=…
 * metrics=…", serves until SIGTERM or SIGINT, drains (rpc_server_run), stops
 * and returns 0. Fails (nothing left running) when an address cannot be bound
 * or `start` fails. */
int service_serve(const service_server_t *s, err_t **err);

#endif
