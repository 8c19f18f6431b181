/* service.c — the service skeleton: local defaults, command dispatch,
 * PostgreSQL with migrations, and serving gRPC with metrics. */
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "config.h"
#include "log.h"
#include "metrics.h"

/* ------------------------------------------------------------------------
 * Local defaults: DESIGN.md's table, the one place these addresses are
 * written in C. scripts/lib/common.sh and docs/operators.md repeat
 * them for people; the services read them from here.
 * ------------------------------------------------------------------------ */

static const struct {
    const char *var;
    const char *def;
    bool is_addr; /* "host:port", checked; otherwise a URL, taken as is */
} settings[SERVICE_SETTING_COUNT] = {
    [SERVICE_GATEWAY_ADDR] = {"DOJO_GATEWAY_ADDR", "127.0.0.1:8080", true},
    [SERVICE_AUTH_ADDR] = {"DOJO_AUTH_ADDR", "127.0.0.1:7001", true},
    [SERVICE_CONTENT_ADDR] = {"DOJO_CONTENT_ADDR", "127.0.0.1:7002", true},
    [SERVICE_GAMIFICATION_ADDR] = {"DOJO_GAMIFICATION_ADDR", "127.0.0.1:7003", true},
    [SERVICE_EXECUTOR_ADDR] = {"DOJO_EXECUTOR_ADDR", "127.0.0.1:7004", true},
    [SERVICE_AUTH_METRICS_ADDR] = {"DOJO_AUTH_METRICS_ADDR", "127.0.0.1:9101", true},
    [SERVICE_CONTENT_METRICS_ADDR] = {"DOJO_CONTENT_METRICS_ADDR", "127.0.0.1:9102", true},
    [SERVICE_GAMIFICATION_METRICS_ADDR] = {"DOJO_GAMIFICATION_METRICS_ADDR", "127.0.0.1:9103",
                                           true},
    [SERVICE_EXECUTOR_METRICS_ADDR] = {"DOJO_EXECUTOR_METRICS_ADDR", "127.0.0.1:9104", true},
    [SERVICE_GATEWAY_METRICS_ADDR] = {"DOJO_GATEWAY_METRICS_ADDR", "127.0.0.1:9105", true},
    [SERVICE_PG_URL] = {"DOJO_PG_URL", "postgresql://dojo@127.0.0.1:55432/dojo", false},
    [SERVICE_REDIS_ADDR] = {"DOJO_REDIS_ADDR", "127.0.0.1:56379", true},
    [SERVICE_PUBLIC_URL] = {"DOJO_PUBLIC_URL", "http://127.0.0.1:8080", false},
};

const char *service_setting(service_setting_t setting)
{
    if ((unsigned)setting >= SERVICE_SETTING_COUNT)
        abort();
    if (settings[setting].is_addr)
        return config_addr(settings[setting].var, settings[setting].def);
    return config_str(settings[setting].var, settings[setting].def);
}

const char *service_setting_var(service_setting_t setting)
{
    if ((unsigned)setting >= SERVICE_SETTING_COUNT)
        abort();
    return settings[setting].var;
}

const char *service_setting_default(service_setting_t setting)
{
    if ((unsigned)setting >= SERVICE_SETTING_COUNT)
        abort();
    return settings[setting].def;
}

/* ------------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------------ */

static const service_cmd_t *find_command(const service_def_t *def, const char *name)
{
    for (const service_cmd_t *c = def->commands; c->name; c++)
        if (!strcmp(c->name, name))
            return c;
    return NULL;
}

int service_main(const service_def_t *def, int argc, char **argv)
{
    rpc_init();
    log_init(def->name);
    return service_dispatch(def, argc, argv);
}

int service_dispatch(const service_def_t *def, int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : def->commands[0].name;
    int nargs = argc > 2 ? argc - 2 : 0;
    if (def->configure)
        def->configure(def->payload, argc > 0 ? argv[0] : NULL);
    const service_cmd_t *cmd = find_command(def, name);
    if (!cmd || nargs < cmd->min_args || (cmd->max_args >= 0 && nargs > cmd->max_args)) {
        fputs(def->usage, stderr);
        return SERVICE_USAGE;
    }
    cleanup_err err_t *err = NULL;
    int rc = cmd->run(def->payload, nargs, argc > 2 ? argv + 2 : argv + argc, &err);
    if (def->close)
        def->close(def->payload);
    if (rc == SERVICE_USAGE) {
        fputs(def->usage, stderr);
        return SERVICE_USAGE;
    }
    if (rc > 0)
        return rc;
    if (rc < 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s failed", def->name);
        LOG_ERROR(msg, "command=%s error=\"%s\"", log_esc(name), err ? log_esc(err->msg) : "?");
        fprintf(stderr, "%s %s: %s\n", def->name, name, err ? err->msg : "failed");
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * PostgreSQL
 * ------------------------------------------------------------------------ */

static int default_pool_size = 8;

void service_pool_default(int n)
{
    default_pool_size = n;
}

int service_pool_size(void)
{
    return (int)config_int("DOJO_PG_POOL", default_pool_size, 1, 256);
}

int service_pg_open(pg_pool_t **out, const char *url, const char *schema,
                    const pg_migration_t *migrations, size_t count, err_t **err)
{
    if (pg_pool_open(out, url, service_pool_size(), err) < 0)
        return err_wrap(err, "connect to PostgreSQL");
    if (pg_migrate(*out, schema, migrations, count, err) < 0)
        return err_wrap(err, "migrate");
    return 0;
}

/* ------------------------------------------------------------------------
 * Serving
 * ------------------------------------------------------------------------ */

int service_serve(const service_server_t *s, err_t **err)
{
    rpc_server_t *server = NULL;
    if (metrics_start(s->metrics_addr, err) < 0)
        return -1;
    if (rpc_server_new(&server, s->name, s->addr, err) < 0 ||
        rpc_server_add_service(server, s->service, s->handlers, s->payload, err) < 0)
        goto fail;
    if (s->start && s->start(server, s->payload, err) < 0)
        goto fail;
    if (rpc_server_start(server, err) < 0) {
        if (s->stop)
            s->stop(s->payload);
        goto fail;
    }
    char msg[96], more[1024] = "";
    snprintf(msg, sizeof msg, "%s serving", s->name);
    if (s->describe)
        s->describe(s->payload, more, sizeof more);
    LOG_INFO(msg, "addr=%s port=%d metrics=%s%s%s", s->addr, rpc_server_port(server),
             s->metrics_addr, more[0] ? " " : "", more);
    rpc_server_run(server);
    if (s->stop)
        s->stop(s->payload);
    rpc_server_free(server);
    metrics_stop();
    return 0;

fail:
    rpc_server_free(server);
    metrics_stop();
    return -1;
}
