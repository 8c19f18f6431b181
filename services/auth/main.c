/* main.c — the auth service: wiring, and the operator command line.
 *
 *   auth [serve]                          run the gRPC service
 *   auth migrate                          apply database migrations and exit
 *   auth create-admin EMAIL USERNAME      create an admin; password on stdin
 *   auth set-role LOGIN learner|teacher|author|admin
 *   auth rotate-keys                      start signing with a new key
 *   auth create-institution SLUG NAME
 *   auth set-institution LOGIN SLUG|- [--admin]
 */
#define _GNU_SOURCE
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "libcommon/cleanup.h"
#include "libcommon/config.h"
#include "libcommon/service.h"
#include "services/auth/migrations.h"

void auth_config_load(auth_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->addr = service_setting(SERVICE_AUTH_ADDR);
    cfg->metrics_addr = service_setting(SERVICE_AUTH_METRICS_ADDR);
    cfg->pg_url = service_setting(SERVICE_PG_URL);
    cfg->redis_addr = service_setting(SERVICE_REDIS_ADDR);
    cfg->issuer = config_str("DOJO_AUTH_ISSUER", "dojo-auth");
    cfg->access_ttl_s = config_duration_ms("DOJO_AUTH_ACCESS_TTL", "15m", 10000, 86400000) / 1000;
    cfg->refresh_ttl_s =
        config_duration_ms("DOJO_AUTH_REFRESH_TTL", "30d", 60000, 365LL * 86400000) / 1000;
    cfg->reset_ttl_s = config_duration_ms("DOJO_AUTH_RESET_TTL", "1h", 60000, 86400000) / 1000;
    cfg->invite_ttl_s =
        config_duration_ms("DOJO_AUTH_INVITE_TTL", "7d", 3600000, 30LL * 86400000) / 1000;
    cfg->key_max_age_s =
        config_duration_ms("DOJO_AUTH_KEY_MAX_AGE", "30d", 3600000, 3650LL * 86400000) / 1000;
    /* OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane (~40 ms here). */
    cfg->argon_ops = (unsigned long long)config_int("DOJO_AUTH_ARGON2_OPS", 2, 1, 10);
    cfg->argon_mem_bytes =
        (size_t)config_int("DOJO_AUTH_ARGON2_MEM_KIB", 19456, 8192, 1048576) * 1024;
    /* Hashes beyond the cores only share them (docs/operators.md#auth).
     * Those waiting for one hold an RPC worker each (a thread on a condition
     * variable, no database connection): auth runs 128 by default, and the
     * queue leaves two of them to the calls that hash nothing. */
    rpc_server_default_workers(128);
    /* At most 8 by default, as many as auth ever hashed at once before the
     * gate: each hash holds DOJO_AUTH_ARGON2_MEM_KIB, and a pod on a big node
     * sees the node's cores but has its own memory limit. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    long hashers = ncpu < 1 ? 1 : ncpu > 8 ? 8 : ncpu;
    cfg->hash_concurrency = (int)config_int("DOJO_AUTH_HASH_CONCURRENCY", hashers, 1, 256);
    /* Every hash that finishes wants a connection at once (a sign-up's
     * insert, a login's session): the eight of the other services, plus one
     * per hash slot, at most 32 (PostgreSQL's connections are shared by every
     * replica of every service). */
    int pool = 8 + cfg->hash_concurrency;
    service_pool_default(pool > 32 ? 32 : pool);
    /* Past the 128 workers (most of them waiting for a hash slot) as many
     * calls again may wait; the next hears "busy" at once. */
    rpc_server_default_queue_max(128);
    int spare = rpc_server_workers_setting() - cfg->hash_concurrency - 2;
    cfg->hash_queue = (int)config_int("DOJO_AUTH_HASH_QUEUE", spare > 0 ? spare : 0, 0, 4096);
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
    cfg->public_url = service_setting(SERVICE_PUBLIC_URL);
    cfg->service_key = config_str("DOJO_SERVICE_KEY", "");

    const char *mk = config_str_required("DOJO_AUTH_MASTER_KEY");
    size_t len = 0;
    if (sodium_base642bin(cfg->master_key, sizeof cfg->master_key, mk, strlen(mk), NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len != sizeof cfg->master_key) {
        fprintf(stderr, "configuration error: DOJO_AUTH_MASTER_KEY: must be 32 bytes in base64 "
                        "(make one with: head -c32 /dev/urandom | base64)\n");
        exit(2);
    }
}

static int auth_open(auth_t *auth, bool with_keys, err_t **err)
{
    if (service_pg_open(&auth->pg, auth->cfg.pg_url, "auth", auth_migrations, auth_migrations_count,
                        err) < 0)
        return -1;
    if (kv_pool_open(&auth->kv, auth->cfg.redis_addr, service_pool_size(), 2000, err) < 0)
        return err_wrap(err, "connect to Redis");
    if (crypto_pwhash_str(auth->dummy_hash, "dojo-dummy-password", 19, auth->cfg.argon_ops,
                          auth->cfg.argon_mem_bytes) != 0)
        return err_set(err, GRPC_STATUS_INTERNAL, "argon2id: cannot hash");
    if (with_keys && auth_keyring_open(&auth->keys, auth, err) < 0)
        return err_wrap(err, "signing keys");
    return 0;
}

static void auth_close(void *payload)
{
    auth_t *auth = payload;
    auth_mailer_stop(auth->mailer);
    auth_keyring_close(auth->keys);
    kv_pool_close(auth->kv);
    pg_pool_close(auth->pg);
    auth_hash_gate_destroy(&auth->hash_gate);
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
    {.method = "CreateInstitution", .unary = auth_rpc_create_institution},
    {.method = "ListInstitutions", .unary = auth_rpc_list_institutions},
    {.method = "SetInstitution", .unary = auth_rpc_set_institution},
    {.method = "ListInstitutionMembers", .unary = auth_rpc_list_institution_members},
    {.method = "GetUsers", .unary = auth_rpc_get_users},
    {.method = "ProvisionAccounts", .unary = auth_rpc_provision_accounts},
    {.method = "SendMail", .unary = auth_rpc_send_mail},
    {0},
};

static void describe(void *payload, char *out, size_t cap)
{
    auth_t *auth = payload;
    snprintf(out, cap, "outbox=%s hash_concurrency=%d hash_queue=%d pg_pool=%d",
             auth->cfg.smtp_url[0] ? "(smtp)" : auth->cfg.mail_outbox, auth->cfg.hash_concurrency,
             auth->cfg.hash_queue, service_pool_size());
}

static int serve(void *payload, int argc, char **argv, err_t **err)
{
    auth_t *auth = payload;
    if (auth_open(auth, true, err) < 0 || auth_mailer_start(&auth->mailer, &auth->cfg, err) < 0)
        return -1;
    return service_serve(&(service_server_t){.name = "auth",
                                             .addr = auth->cfg.addr,
                                             .metrics_addr = auth->cfg.metrics_addr,
                                             .service = &dojo__auth__v1__auth__descriptor,
                                             .handlers = auth_handlers,
                                             .payload = auth,
                                             .describe = describe},
                         err);
}

static int migrate(void *payload, int argc, char **argv, err_t **err)
{
    if (auth_open(payload, false, err) < 0)
        return -1;
    printf("migrations applied\n");
    return 0;
}

static int read_password_stdin(char *out, size_t cap)
{
    if (fgets(out, (int)cap, stdin) == NULL)
        return -1;
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

static int create_admin(void *payload, int argc, char **argv, err_t **err)
{
    auth_t *auth = payload;
    const char *email = argv[0], *username = argv[1];
    if (auth_open(auth, false, err) < 0)
        return -1;
    char password[600];
    fprintf(stderr, "password for %s (one line on stdin): ", username);
    if (read_password_stdin(password, sizeof password) < 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "password: none given on stdin");
    cleanup_pgconn pg_conn_t *conn = NULL;
    cleanup_pgresult PGresult *r = NULL;
    int rc = pg_pool_acquire(auth->pg, &conn, 5000, err) < 0
                 ? -1
                 : auth_create_user(auth, NULL, &conn, email, username, password, "UTC", "",
                                    "admin", &r, err);
    sodium_memzero(password, sizeof password);
    if (rc == 0)
        printf("admin created: id=%s username=%s\n", pg_get(r, 0, 0), pg_get(r, 0, 1));
    return rc;
}

static int set_role(void *payload, int argc, char **argv, err_t **err)
{
    const char *login = argv[0], *role = argv[1];
    if (strcmp(role, "learner") && strcmp(role, "teacher") && strcmp(role, "author") &&
        strcmp(role, "admin"))
        return SERVICE_USAGE;
    if (auth_open(payload, false, err) < 0 || auth_set_role_by_login(payload, login, role, err) < 0)
        return -1;
    printf("%s is now %s\n", login, role);
    return 0;
}

static int rotate_keys(void *payload, int argc, char **argv, err_t **err)
{
    if (auth_open(payload, false, err) < 0 || auth_keys_rotate(payload, err) < 0)
        return -1;
    printf("new signing key created; replicas pick it up within a minute\n");
    return 0;
}

static int create_institution(void *payload, int argc, char **argv, err_t **err)
{
    if (auth_open(payload, false, err) < 0 ||
        auth_create_institution(payload, argv[0], argv[1], err) < 0)
        return -1;
    printf("institution %s created\n", argv[0]);
    return 0;
}

static int set_institution(void *payload, int argc, char **argv, err_t **err)
{
    const char *login = argv[0], *slug = argv[1];
    bool admin = argc == 3;
    if (admin && strcmp(argv[2], "--admin") != 0)
        return SERVICE_USAGE;
    if (auth_open(payload, false, err) < 0 ||
        auth_set_institution_by_login(payload, login, slug, admin, err) < 0)
        return -1;
    if (!strcmp(slug, "-"))
        printf("%s belongs to no institution now\n", login);
    else
        printf("%s belongs to %s%s\n", login, slug, admin ? " as its admin" : "");
    return 0;
}

static const service_cmd_t auth_commands[] = {
    {.name = "serve", .run = serve},
    {.name = "migrate", .run = migrate},
    {.name = "create-admin", .min_args = 2, .max_args = 2, .run = create_admin},
    {.name = "set-role", .min_args = 2, .max_args = 2, .run = set_role},
    {.name = "rotate-keys", .run = rotate_keys},
    {.name = "create-institution", .min_args = 2, .max_args = 2, .run = create_institution},
    {.name = "set-institution", .min_args = 2, .max_args = 3, .run = set_institution},
    {0},
};

static void configure(void *payload, const char *argv0)
{
    auth_t *auth = payload;
    auth_config_load(&auth->cfg);
    auth_hash_gate_init(&auth->hash_gate, auth->cfg.hash_concurrency, auth->cfg.hash_queue);
}

static auth_t auth_state;

static const service_def_t auth_service = {
    .name = "auth",
    .usage = "usage: auth [serve]\n"
             "       auth migrate\n"
             "       auth create-admin EMAIL USERNAME   (password on stdin)\n"
             "       auth set-role USERNAME|EMAIL learner|teacher|author|admin\n"
             "       auth rotate-keys\n"
             "       auth create-institution SLUG NAME\n"
             "       auth set-institution USERNAME|EMAIL SLUG|- [--admin]\n",
    .commands = auth_commands,
    .payload = &auth_state,
    .configure = configure,
    .close = auth_close,
};

int main(int argc, char **argv)
{
    return service_main(&auth_service, argc, argv);
}
