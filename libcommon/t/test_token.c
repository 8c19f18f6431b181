/* test_token.c — Ed25519 JWTs: round trip, tampering, expiry, unknown keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "libcommon/cleanup.h"
#include "libcommon/token.h"

static unsigned char sk[TOKEN_SK_BYTES];
static token_key_t key;

static void make_claims(token_claims_t *c, int64_t now)
{
    memset(c, 0, sizeof *c);
    snprintf(c->sub, sizeof c->sub, "3f2a1c9e-0000-4000-8000-000000000001");
    snprintf(c->role, sizeof c->role, "learner");
    snprintf(c->name, sizeof c->name, "ada");
    snprintf(c->iss, sizeof c->iss, "dojo-auth");
    c->iat = now;
    c->exp = now + 900;
}

static void test_signed_token_verifies_and_returns_its_claims(void **state)
{
    token_claims_t in, out;
    make_claims(&in, 1000000);
    cleanup_free char *jwt = NULL;
    cleanup_err err_t *err = NULL;
    assert_int_equal(token_sign(key.kid, sk, &in, &jwt, &err), 0);
    assert_int_equal(token_verify(jwt, &key, 1, "dojo-auth", 1000100, &out, &err), 0);
    assert_string_equal(out.sub, in.sub);
    assert_string_equal(out.role, "learner");
    assert_string_equal(out.name, "ada");
    assert_int_equal(out.exp, 1000900);
}

static void test_tampered_payload_is_unauthenticated(void **state)
{
    token_claims_t in, out;
    make_claims(&in, 1000000);
    cleanup_free char *jwt = NULL;
    cleanup_err err_t *err = NULL;
    assert_int_equal(token_sign(key.kid, sk, &in, &jwt, &err), 0);
    char *payload = strchr(jwt, '.') + 1;
    payload[5] = payload[5] == 'A' ? 'B' : 'A';
    assert_int_equal(token_verify(jwt, &key, 1, "dojo-auth", 1000100, &out, &err), -1);
    assert_int_equal(err->code, GRPC_STATUS_UNAUTHENTICATED);
}

static void test_expired_token_is_refused_after_the_leeway(void **state)
{
    token_claims_t in, out;
    make_claims(&in, 1000000);
    cleanup_free char *jwt = NULL;
    cleanup_err err_t *err = NULL;
    assert_int_equal(token_sign(key.kid, sk, &in, &jwt, &err), 0);
    assert_int_equal(token_verify(jwt, &key, 1, "dojo-auth", 1000900 + 29, &out, &err), 0);
    assert_int_equal(token_verify(jwt, &key, 1, "dojo-auth", 1000900 + 31, &out, &err), -1);
    assert_string_equal(err_public_message(err), "access token expired");
}

static void test_unknown_kid_returns_minus_two_so_callers_can_refetch(void **state)
{
    token_claims_t in, out;
    make_claims(&in, 1000000);
    cleanup_free char *jwt = NULL;
    cleanup_err err_t *err = NULL;
    assert_int_equal(token_sign("other-kid", sk, &in, &jwt, &err), 0);
    assert_int_equal(token_verify(jwt, &key, 1, "dojo-auth", 1000100, &out, &err), -2);
    assert_int_equal(err->code, GRPC_STATUS_UNAUTHENTICATED);
}

static void test_wrong_issuer_and_garbage_are_refused(void **state)
{
    token_claims_t in, out;
    make_claims(&in, 1000000);
    cleanup_free char *jwt = NULL;
    cleanup_err err_t *err = NULL;
    assert_int_equal(token_sign(key.kid, sk, &in, &jwt, &err), 0);
    assert_int_equal(token_verify(jwt, &key, 1, "someone-else", 1000100, &out, &err), -1);
    err_clear(&err);
    const char *garbage[] = {"", "a.b", "a.b.c.d", "....", "eyJhbGciOiJub25lIn0.e30.", NULL};
    for (int i = 0; garbage[i]; i++) {
        assert_true(token_verify(garbage[i], &key, 1, NULL, 1000100, &out, &err) < 0);
        err_clear(&err);
    }
}

static void test_base64url_round_trips_without_padding(void **state)
{
    const unsigned char data[] = {0xfb, 0xff, 0x00, 0x10};
    cleanup_free char *text = token_b64url_encode(data, sizeof data);
    assert_string_equal(text, "-_8AEA");
    unsigned char back[8];
    assert_int_equal(token_b64url_decode(text, back, sizeof back), 4);
    assert_memory_equal(back, data, 4);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    crypto_sign_keypair(key.pk, sk);
    snprintf(key.kid, sizeof key.kid, "test-kid");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signed_token_verifies_and_returns_its_claims),
        cmocka_unit_test(test_tampered_payload_is_unauthenticated),
        cmocka_unit_test(test_expired_token_is_refused_after_the_leeway),
        cmocka_unit_test(test_unknown_kid_returns_minus_two_so_callers_can_refetch),
        cmocka_unit_test(test_wrong_issuer_and_garbage_are_refused),
        cmocka_unit_test(test_base64url_round_trips_without_padding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
