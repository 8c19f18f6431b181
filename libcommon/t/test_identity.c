/* test_identity.c — access tokens checked with auth's published keys: a real
 * gRPC server on loopback stands in for auth's GetPublicKeys (a test double
 * of the handler, not of gRPC), tokens are signed with token.c. */
#define _GNU_SOURCE /* testutil.h: F_SETPIPE_SZ */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first. */
#include <cmocka.h>

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dojo/auth/v1/auth.pb-c.h"
#include "libcommon/cleanup.h"
#include "libcommon/identity.h"
#include "libcommon/rpc.h"
#include "libcommon/token.h"
#include "testutil.h"

#define ISSUER "dojo-test"

typedef struct signer {
    char kid[32];
    unsigned char pk[TOKEN_PK_BYTES];
    unsigned char sk[TOKEN_SK_BYTES];
} signer_t;

typedef struct fixture {
    test_server_t srv;
    identity_verifier_t *ids;
    pthread_mutex_t mu; /* guards what the fake auth publishes */
    signer_t published[2];
    int npublished;
    bool auth_down;
    int calls; /* GetPublicKeys calls that reached the server (atomic) */
} fixture_t;

static void signer_make(signer_t *s, const char *kid)
{
    snprintf(s->kid, sizeof s->kid, "%s", kid);
    crypto_sign_keypair(s->pk, s->sk);
}

static int get_public_keys(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                           err_t **err)
{
    fixture_t *f = rpc_call_payload(call);
    __atomic_add_fetch(&f->calls, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&f->mu);
    if (f->auth_down) {
        pthread_mutex_unlock(&f->mu);
        return err_set(err, GRPC_STATUS_UNAVAILABLE, "auth is down");
    }
    Dojo__Auth__V1__GetPublicKeysResponse *resp =
        RPC_NEW(call, Dojo__Auth__V1__GetPublicKeysResponse,
                DOJO__AUTH__V1__GET_PUBLIC_KEYS_RESPONSE__INIT);
    resp->issuer = ISSUER;
    resp->n_keys = (size_t)f->npublished;
    resp->keys = rpc_alloc(call, resp->n_keys * sizeof *resp->keys);
    for (int i = 0; i < f->npublished; i++) {
        Dojo__Auth__V1__Jwk *k = RPC_NEW(call, Dojo__Auth__V1__Jwk, DOJO__AUTH__V1__JWK__INIT);
        k->kty = "OKP";
        k->crv = "Ed25519";
        k->alg = "EdDSA";
        k->kid = rpc_strdup(call, f->published[i].kid);
        char *x = token_b64url_encode(f->published[i].pk, TOKEN_PK_BYTES);
        k->x = rpc_strdup(call, x);
        free(x);
        resp->keys[i] = k;
    }
    pthread_mutex_unlock(&f->mu);
    *out = &resp->base;
    return 0;
}

static const rpc_handler_t auth_handlers[] = {
    {.method = "GetPublicKeys", .unary = get_public_keys},
    {0},
};

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    signer_make(&f->published[0], "k1");
    f->npublished = 1;
    test_server_start(&f->srv, &dojo__auth__v1__auth__descriptor, auth_handlers, f);
    cleanup_err err_t *err = NULL;
    assert_int_equal(identity_verifier_open(&f->ids, f->srv.target, "svc-key", &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    identity_verifier_close(f->ids);
    test_server_free(&f->srv);
    pthread_mutex_destroy(&f->mu);
    free(f);
    return 0;
}

static int calls(fixture_t *f)
{
    return __atomic_load_n(&f->calls, __ATOMIC_SEQ_CST);
}

static void set_auth_down(fixture_t *f, bool down)
{
    pthread_mutex_lock(&f->mu);
    f->auth_down = down;
    pthread_mutex_unlock(&f->mu);
}

/* A token for user `sub` signed by `s` (or with s's kid but `forger`'s key),
 * valid from `iat` for 15 minutes. New: free it. */
static char *token_of(const signer_t *s, const signer_t *forger, const char *sub, int64_t iat)
{
    token_claims_t c;
    memset(&c, 0, sizeof c);
    snprintf(c.sub, sizeof c.sub, "%s", sub);
    snprintf(c.role, sizeof c.role, "learner");
    snprintf(c.name, sizeof c.name, "ada");
    snprintf(c.iss, sizeof c.iss, ISSUER);
    c.iat = iat;
    c.exp = iat + 900;
    char *jwt = NULL;
    cleanup_err err_t *err = NULL;
    assert_int_equal(token_sign(s->kid, forger ? forger->sk : s->sk, &c, &jwt, &err), 0);
    return jwt;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_token_signed_with_a_published_key_verifies_after_one_fetch(void **state)
{
    fixture_t *f = *state;
    cleanup_free char *jwt = token_of(&f->published[0], NULL, "user-1", time(NULL));
    for (int i = 0; i < 20; i++) {
        token_claims_t claims;
        cleanup_err err_t *err = NULL;
        assert_int_equal(identity_verify_token(f->ids, jwt, &claims, &err), 0);
        assert_null(err);
        assert_string_equal(claims.sub, "user-1");
        assert_string_equal(claims.role, "learner");
        assert_string_equal(claims.iss, ISSUER);
    }
    assert_int_equal(calls(f), 1);
}

static void test_forged_expired_and_malformed_tokens_are_unauthenticated(void **state)
{
    fixture_t *f = *state;
    signer_t forger;
    signer_make(&forger, "k1");
    cleanup_free char *forged = token_of(&f->published[0], &forger, "user-1", time(NULL));
    cleanup_free char *expired = token_of(&f->published[0], NULL, "user-1", time(NULL) - 3600);
    const char *const bad[] = {forged, expired, "not.a.token", "", "a.b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        token_claims_t claims;
        cleanup_err err_t *err = NULL;
        assert_int_equal(identity_verify_token(f->ids, bad[i], &claims, &err), -1);
        assert_int_equal(err->code, GRPC_STATUS_UNAUTHENTICATED);
    }
    cleanup_err err_t *err = NULL;
    token_claims_t claims;
    identity_verify_token(f->ids, expired, &claims, &err);
    assert_string_equal(err_public_message(err), "access token expired");
}

static void test_a_rotated_key_is_fetched_when_a_token_names_it(void **state)
{
    fixture_t *f = *state;
    cleanup_free char *old = token_of(&f->published[0], NULL, "user-1", time(NULL));
    token_claims_t claims;
    cleanup_err err_t *err = NULL;
    assert_int_equal(identity_verify_token(f->ids, old, &claims, &err), 0);
    assert_int_equal(calls(f), 1);

    /* auth rotates: the new key signs, the old one stays published. */
    pthread_mutex_lock(&f->mu);
    f->published[1] = f->published[0];
    signer_make(&f->published[0], "k2");
    f->npublished = 2;
    pthread_mutex_unlock(&f->mu);
    cleanup_free char *fresh = token_of(&f->published[0], NULL, "user-2", time(NULL));
    assert_int_equal(identity_verify_token(f->ids, fresh, &claims, &err), 0);
    assert_string_equal(claims.sub, "user-2");
    assert_int_equal(calls(f), 2);
    assert_int_equal(identity_verify_token(f->ids, old, &claims, &err), 0);
    assert_int_equal(calls(f), 2);
}

static void test_tokens_naming_unknown_kids_cannot_flood_auth(void **state)
{
    fixture_t *f = *state;
    double start = now_s();
    for (int i = 0; i < 50; i++) {
        signer_t stranger;
        char kid[24];
        snprintf(kid, sizeof kid, "forged-%d", i);
        signer_make(&stranger, kid);
        cleanup_free char *jwt = token_of(&stranger, NULL, "user-1", time(NULL));
        token_claims_t claims;
        cleanup_err err_t *err = NULL;
        assert_int_equal(identity_verify_token(f->ids, jwt, &claims, &err), -1);
        assert_int_equal(err->code, GRPC_STATUS_UNAUTHENTICATED);
    }
    /* The first fetch, then at most one refetch per 5 s (seconds are whole,
     * hence the extra one). */
    int allowed = 2 + (int)((now_s() - start) / 5.0) + 1;
    assert_true(calls(f) >= 2);
    assert_true(calls(f) <= allowed);
}

static void test_cached_keys_outlive_an_auth_outage(void **state)
{
    fixture_t *f = *state;
    cleanup_free char *jwt = token_of(&f->published[0], NULL, "user-1", time(NULL));
    token_claims_t claims;
    cleanup_err err_t *err = NULL;
    assert_int_equal(identity_verify_token(f->ids, jwt, &claims, &err), 0);
    set_auth_down(f, true);
    for (int i = 0; i < 10; i++)
        assert_int_equal(identity_verify_token(f->ids, jwt, &claims, &err), 0);
    assert_int_equal(calls(f), 1);
}

static void test_without_keys_auth_down_is_unavailable_then_recovers(void **state)
{
    fixture_t *f = *state;
    set_auth_down(f, true);
    cleanup_free char *jwt = token_of(&f->published[0], NULL, "user-1", time(NULL));
    double start = now_s();
    for (int i = 0; i < 20; i++) {
        token_claims_t claims;
        cleanup_err err_t *err = NULL;
        assert_int_equal(identity_verify_token(f->ids, jwt, &claims, &err), -1);
        assert_int_equal(err->code, GRPC_STATUS_UNAVAILABLE);
        assert_string_equal(err_public_message(err), "cannot verify tokens yet: auth unreachable");
    }
    /* One fetch (three tries: it is idempotent) per 5 s at most. */
    int fetches = 1 + (int)((now_s() - start) / 5.0) + 1;
    assert_true(calls(f) >= 1);
    assert_true(calls(f) <= 3 * fetches);

    /* Back up: verifying works again once the pause after the failure is
     * over (polled, bounded). */
    set_auth_down(f, false);
    int rc = -1;
    for (int i = 0; i < 100 && rc != 0; i++) {
        token_claims_t claims;
        cleanup_err err_t *err = NULL;
        rc = identity_verify_token(f->ids, jwt, &claims, &err);
        if (rc != 0)
            usleep(200 * 1000);
    }
    assert_int_equal(rc, 0);
}

static void test_roles_nest_learner_teacher_author_admin(void **state)
{
    (void)state;
    const struct {
        const char *role;
        bool teacher, author, admin;
    } cases[] = {
        {"learner", false, false, false},
        {"teacher", true, false, false},
        {"author", true, true, false},
        {"admin", true, true, true},
        {"", false, false, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        identity_t id = {.kind = IDENTITY_USER};
        snprintf(id.claims.role, sizeof id.claims.role, "%s", cases[i].role);
        assert_int_equal(identity_is_teacher(&id), cases[i].teacher);
        assert_int_equal(identity_is_author(&id), cases[i].author);
        assert_int_equal(identity_is_admin(&id), cases[i].admin);
    }
    identity_t svc = {.kind = IDENTITY_SERVICE}, anon = {.kind = IDENTITY_ANONYMOUS};
    assert_true(identity_is_teacher(&svc));
    assert_false(identity_is_teacher(&anon));
}

int main(void)
{
    rpc_init();
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles_nest_learner_teacher_author_admin),
        cmocka_unit_test_setup_teardown(
            test_token_signed_with_a_published_key_verifies_after_one_fetch, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_forged_expired_and_malformed_tokens_are_unauthenticated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_rotated_key_is_fetched_when_a_token_names_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tokens_naming_unknown_kids_cannot_flood_auth, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cached_keys_outlive_an_auth_outage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_keys_auth_down_is_unavailable_then_recovers,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
