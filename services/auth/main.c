/* main.c — the auth service: wiring, and the operator command line.
 *
 *   auth [serve]                          run the gRPC service
 *   auth migrate                          apply database migrations and exit
 *   auth create-admin EMAIL USERNAME      create an admin; password on stdin
 *   auth set-role LOGIN learner|teacher|author|admin
 *   auth rotate-keys                      start signing with a new key
 */
#define _GNU_SOURCE
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "libcommon/cleanup.h"
#include "libcommon/config.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"
#include "services/auth/migrations.h"

void auth_config_load(auth_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->addr = config_addr("DOJO_AUTH_ADDR", "127.0.0.1:7001");
    cfg->metrics_addr = config_addr("DOJO_AUTH_METRICS_ADDR", "127.0.0.1:9101");
    cfg->pg_url = config_str("DOJO_PG_URL", "postgresql://dojo@127.0.0.1:55432/dojo");
    cfg->redis_addr = config_addr("DOJO_REDIS_ADDR", "127.0.0.1:56379");
    cfg->issuer = config_str("DOJO_AUTH_ISSUER", "dojo-auth");
    cfg->access_ttl_s = config_duration_ms("DOJO_AUTH_ACCESS_TTL", "15m", 10000, 86400000) / 1000;
    cfg->refresh_ttl_s =
        config_duration_ms("DOJO_AUTH_REFRESH_TTL", "30d", 60000, 365LL * 86400000) / 1000;
    cfg->reset_ttl_s = config_duration_ms("DOJO_AUTH_RESET_TTL", "1h", 60000, 86400000) / 1000;
    cfg->key_max_age_s =
        config_duration_ms("DOJO_AUTH_KEY_MAX_AGE", "30d", 3600000, 3650LL * 86400000) / 1000;
    /* OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane (~40 ms here). */
    cfg->argon_ops = (unsigned long long)config_int("DOJO_AUTH_ARGON2_OPS", 2, 1, 10);
    cfg->argon_mem_bytes =
        (size_t)config_int("DOJO_AUTH_ARGON2_MEM_KIB", 19456, 8192, 1048576) * 1024;
    cfg->login_max_fails_account = (int)config_int("DOJO_AUTH_LOGIN_MAX_FAILS_ACCOUNT", 5, 1, 1000);
    cfg->login_max_fails_ip = (int)config_int("DOJO_AUTH_LOGIN_MAX_FAILS_IP", 50, 1, 100000);
    cfg->login_window_s =
        config_duration_ms("DOJO_AUTH_LOGIN_WINDOW", "15m", 1000, 86400000) / 1000;
    cfg->reset_max_per_email = (int)config_int("DOJO_AUTH_RESET_MAX_PER_EMAIL", 3, 1, 1000);
    cfg->reset_max_per_ip = (int)config_int("DOJO_AUTH_RESET_MAX_PER_IP", 20, 1, 100000);
    cfg->reset_window_s =
        config_duration_ms("DOJO_AUTH_RESET_WINDOW", "1h", 1000, 7 * 86400000LL) / 1000;
    cfg->mail_outbox = config_str("DOJO_MAIL_OUTBOX", ".dojo/outbox");
    cfg->smtp_url = config_str("DOJO_SMTP_URL", "");
    cfg->smtp_user = config_str("DOJO_SMTP_USER", "");
    cfg->smtp_password = config_str("DOJO_SMTP_PASSWORD", "");
    cfg->mail_from = config_str("DOJO_MAIL_FROM", "dojo@localhost");
    cfg->public_url = config_str("DOJO_PUBLIC_URL", "http://127.0.0.1:8080");
    cfg->service_key = config_str("DOJO_SERVICE_KEY", "");

    const char *mk = config_str_required("DOJO_AUTH_MASTER_KEY");
    size_t len = 0;
    if (sodium_base642bin(cfg->master_key, sizeof cfg->master_key, mk, strlen(mk), NULL, &len,
                          NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len != sizeof cfg->master_key) {
        fprintf(stderr,
                "configuration error: DOJO_AUTH_MASTER_KEY: must be 32 bytes in base64 "
                "(make one with: head -c32 /dev/urandom | base64)\n");
        exit(2);
    }
}

static int auth_open(auth_t *auth, bool with_keys, err_t **err)
{
    int pool = (int)config_int("DOJO_PG_POOL", 8, 1, 256);
    if (pg_pool_open(&auth->pg, auth->cfg.pg_url, pool, err) < 0)
        return err_wrap(err, "connect to PostgreSQL");
    if (pg_migrate(auth->pg, "auth", auth_migrations, auth_migrations_count, err) < 0)
        return err_wrap(err, "migrate");
    if (kv_pool_open(&auth->kv, auth->cfg.redis_addr, pool, 2000, err) < 0)
        return err_wrap(err, "connect to Redis");
    if (crypto_pwhash_str(auth->dummy_hash, "dojo-dummy-password", 19, auth->cfg.argon_ops,
                          auth->cfg.argon_mem_bytes) != 0)
        return err_set(err, GRPC_STATUS_INTERNAL, "argon2id: cannot hash");
    if (with_keys && auth_keyring_open(&auth->keys, auth, err) < 0)
        return err_wrap(err, "signing keys");
    return 0;
}

static void auth_close(auth_t *auth)
{
    auth_mailer_stop(auth->mailer);
    auth_keyring_close(auth->keys);
    kv_pool_close(auth->kv);
    pg_pool_close(auth->pg);
}

static const rpc_handler_t auth_handlers[] = {
    {.method = "SignUp", .unary = auth_rpc_sign_up},
    {.method = "Login", .unary = auth_rpc_login},
    {.method = "Refresh", .unary = auth_rpc_refresh},
    {.method = "Logout", .unary = auth_rpc_logout},
    {.method = "GetPublicKeys", .unary = auth_rpc_get_public_keys},
    {.method = "RequestPasswordReset", .unary = auth_rpc_request_password_reset},
    {.method = "ResetPassword", .unary = auth_rpc_reset_password},
    {.method = "ChangePassword", .unary = auth_rpc_change_password},
    {.method = "GetUser", .unary = auth_rpc_get_user},
    {.method = "UpdateProfile", .unary = auth_rpc_update_profile},
    {.method = "SetRole", .unary = auth_rpc_set_role},
    {0},
};

static int serve(auth_t *auth, err_t **err)
{
    rpc_server_t *server = NULL;
    if (auth_mailer_start(&auth->mailer, &auth->cfg, err) < 0 ||
        metrics_start(auth->cfg.metrics_addr, err) < 0 ||
        rpc_server_new(&server, "auth", auth->cfg.addr, err) < 0 ||
        rpc_server_add_service(server, &dojo__auth__v1__auth__descriptor, auth_handlers, auth,
                               err) < 0 ||
        rpc_server_start(server, err) < 0) {
        rpc_server_free(server);
        return -1;
    }
    LOG_INFO("auth serving", "addr=%s port=%d metrics=%s outbox=%s", auth->cfg.addr,
             rpc_server_port(server), auth->cfg.metrics_addr,
             auth->cfg.smtp_url[0] ? "(smtp)" : auth->cfg.mail_outbox);
    rpc_server_run(server);
    rpc_server_free(server);
    metrics_stop();
    return 0;
}

static int read_password_stdin(char *out, size_t cap)
{
    if (fgets(out, (int)cap, stdin) == NULL)
        return -1;
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

static int create_admin(auth_t *auth, const char *email, const char *username, err_t **err)
{
    char password[600];
    fprintf(stderr, "password for %s (one line on stdin): ", username);
    if (read_password_stdin(password, sizeof password) < 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "password: none given on stdin");
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    int rc = pg_pool_acquire(auth->pg, &conn, 5000, err) < 0
                 ? -1
                 : auth_create_user(auth, conn, email, username, password, "UTC", "", "admin", &r,
                                    err);
    sodium_memzero(password, sizeof password);
    if (rc == 0)
        printf("admin created: id=%s username=%s\n", pg_get(r, 0, 0), pg_get(r, 0, 1));
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: auth [serve]\n"
                    "       auth migrate\n"
                    "       auth create-admin EMAIL USERNAME   (password on stdin)\n"
                    "       auth set-role USERNAME|EMAIL learner|teacher|author|admin\n"
                    "       auth rotate-keys\n");
}

int main(int argc, char **argv)
{
    rpc_init();
    log_init("auth");
    const char *cmd = argc > 1 ? argv[1] : "serve";
    auth_t auth;
    memset(&auth, 0, sizeof auth);
    auth_config_load(&auth.cfg);
    cleanup_err err_t *err = NULL;
    int rc = 0;

    if (!strcmp(cmd, "serve") && argc <= 2) {
        rc = auth_open(&auth, true, &err) < 0 ? -1 : serve(&auth, &err);
    } else if (!strcmp(cmd, "migrate") && argc == 2) {
        rc = auth_open(&auth, false, &err);
        if (rc == 0)
            printf("migrations applied\n");
    } else if (!strcmp(cmd, "create-admin") && argc == 4) {
        rc = auth_open(&auth, false, &err) < 0 ? -1 : create_admin(&auth, argv[2], argv[3], &err);
    } else if (!strcmp(cmd, "set-role") && argc == 4) {
        if (strcmp(argv[3], "learner") && strcmp(argv[3], "teacher") && strcmp(argv[3], "author") &&
            strcmp(argv[3], "admin")) {
            usage();
            return 2;
        }
        rc = auth_open(&auth, false, &err) < 0 ? -1
                                               : auth_set_role_by_login(&auth, argv[2], argv[3], &err);
        if (rc == 0)
            printf("%s is now %s\n", argv[2], argv[3]);
    } else if (!strcmp(cmd, "rotate-keys") && argc == 2) {
        rc = auth_open(&auth, false, &err) < 0 ? -1 : auth_keys_rotate(&auth, &err);
        if (rc == 0)
            printf("new signing key created; replicas pick it up within a minute\n");
    } else {
        usage();
        return 2;
    }
    auth_close(&auth);
    if (rc < 0) {
        LOG_ERROR("auth failed", "command=%s error=\"%s\"", log_esc(cmd), err ? log_esc(err->msg) : "?");
        fprintf(stderr, "auth %s: %s\n", cmd, err ? err->msg : "failed");
        return 1;
    }
    return 0;
}
