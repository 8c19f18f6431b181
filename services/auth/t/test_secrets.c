/* test_secrets — password hashes (argon2id at the cheapest cost the
 * configuration allows) verify only their own password; bearer secrets are
 * fresh, URL-safe and stored as their SHA-256. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>

#include "libcommon/cleanup.h"
#include "services/auth/auth.h"

static int setup(void **state)
{
    static auth_t auth;
    auth.cfg.argon_ops = 1;
    auth.cfg.argon_mem_bytes = 8192 * 1024; /* the smallest DOJO_AUTH_ARGON2_MEM_KIB */
    *state = &auth;
    return sodium_init() < 0 ? -1 : 0;
}

static void test_a_password_hash_verifies_its_password_and_no_other(void **state)
{
    char hash[128];
    cleanup_err err_t *err = NULL;
    assert_int_equal(auth_hash_password(*state, "correct horse battery", hash, &err), 0);
    assert_true(strncmp(hash, "$argon2id$", 10) == 0);
    assert_true(auth_verify_password(hash, "correct horse battery"));
    assert_false(auth_verify_password(hash, "correct horse batterY"));
    assert_false(auth_verify_password(hash, ""));
}

static void test_the_same_password_hashes_differently_each_time(void **state)
{
    char a[128], b[128];
    cleanup_err err_t *err = NULL;
    assert_int_equal(auth_hash_password(*state, "correct horse battery", a, &err), 0);
    assert_int_equal(auth_hash_password(*state, "correct horse battery", b, &err), 0);
    assert_string_not_equal(a, b); /* salted */
    assert_true(auth_verify_password(a, "correct horse battery"));
    assert_true(auth_verify_password(b, "correct horse battery"));
}

static void test_a_broken_hash_verifies_nothing(void **state)
{
    assert_false(auth_verify_password("", "anything"));
    assert_false(auth_verify_password("$argon2id$v=19$garbage", "anything"));
}

static void test_bearer_secrets_are_43_url_safe_characters_and_fresh(void **state)
{
    cleanup_free char *a = auth_random_token();
    cleanup_free char *b = auth_random_token();
    assert_int_equal(strlen(a), 43); /* 32 bytes, base64url without padding */
    assert_string_not_equal(a, b);
    for (const char *p = a; *p; p++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
}

static void test_a_secret_is_stored_as_its_sha256_in_hex(void **state)
{
    char hex[65];
    auth_token_hash("abc", hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    auth_token_hash("", hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_password_hash_verifies_its_password_and_no_other),
        cmocka_unit_test(test_the_same_password_hashes_differently_each_time),
        cmocka_unit_test(test_a_broken_hash_verifies_nothing),
        cmocka_unit_test(test_bearer_secrets_are_43_url_safe_characters_and_fresh),
        cmocka_unit_test(test_a_secret_is_stored_as_its_sha256_in_hex),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
