/* test_arena — per-request memory: zeroed and aligned, large requests, copies,
 * release and reuse, and protobuf-c messages decoded into an arena. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dojo/auth/v1/auth.pb-c.h"
#include "libcommon/arena.h"

static void test_allocations_are_zeroed_and_16_byte_aligned(void **state)
{
    arena_t a = {0};
    for (size_t size = 0; size < 100; size += 7) {
        unsigned char *p = arena_alloc(&a, size);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        for (size_t i = 0; i < size; i++)
            assert_int_equal(p[i], 0);
        memset(p, 0xAB, size);
    }
    arena_release(&a);
}

static void test_allocations_never_overlap(void **state)
{
    arena_t a = {0};
    enum { N = 2000 };
    unsigned char *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = arena_alloc(&a, 24);
        memset(p[i], i & 0xff, 24);
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < 24; j++)
            assert_int_equal(p[i][j], i & 0xff);
    arena_release(&a);
}

static void test_a_request_larger_than_a_chunk_gets_room_of_its_own(void **state)
{
    arena_t a = {0};
    char *small = arena_alloc(&a, 10);
    size_t big_size = 1 << 20;
    unsigned char *big = arena_alloc(&a, big_size);
    memset(big, 0x5A, big_size);
    char *after = arena_alloc(&a, 10);
    strcpy(small, "still here");
    assert_int_equal(big[0], 0x5A);
    assert_int_equal(big[big_size - 1], 0x5A);
    assert_int_equal(after[0], 0);
    assert_string_equal(small, "still here");
    arena_release(&a);
}

static void test_copies_are_terminated_and_null_stays_null(void **state)
{
    arena_t a = {0};
    assert_null(arena_strdup(&a, NULL));
    assert_string_equal(arena_strdup(&a, "kata"), "kata");
    assert_string_equal(arena_strdup(&a, ""), "");
    assert_string_equal(arena_strndup(&a, "kata dojo", 4), "kata");
    char *embedded = arena_strndup(&a, "a\0b", 3);
    assert_int_equal(embedded[1], '\0');
    assert_int_equal(embedded[2], 'b');
    assert_int_equal(embedded[3], '\0');
    arena_release(&a);
}

static void test_a_released_arena_can_be_used_again(void **state)
{
    arena_t a = {0};
    arena_alloc(&a, 100);
    arena_release(&a);
    assert_null(a.head);
    assert_int_equal(a.left, 0);
    char *p = arena_strdup(&a, "again");
    assert_string_equal(p, "again");
    arena_release(&a);
    arena_release(&a); /* releasing an empty arena is fine */
}

static void test_a_message_decoded_with_the_arena_allocator_lives_in_the_arena(void **state)
{
    Dojo__Auth__V1__LoginRequest in = DOJO__AUTH__V1__LOGIN_REQUEST__INIT;
    in.login = "ada@example.org";
    in.password = "correct horse";
    uint8_t buf[256];
    size_t len = dojo__auth__v1__login_request__pack(&in, buf);

    arena_t a = {0};
    ProtobufCAllocator alloc;
    arena_pb_allocator(&a, &alloc);
    Dojo__Auth__V1__LoginRequest *out = dojo__auth__v1__login_request__unpack(&alloc, len, buf);
    assert_non_null(out);
    assert_string_equal(out->login, "ada@example.org");
    assert_string_equal(out->password, "correct horse");
    assert_non_null(a.head); /* it came from the arena */
    /* Freeing through the allocator is a no-op; the arena frees it all. */
    dojo__auth__v1__login_request__free_unpacked(out, &alloc);
    arena_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocations_are_zeroed_and_16_byte_aligned),
        cmocka_unit_test(test_allocations_never_overlap),
        cmocka_unit_test(test_a_request_larger_than_a_chunk_gets_room_of_its_own),
        cmocka_unit_test(test_copies_are_terminated_and_null_stays_null),
        cmocka_unit_test(test_a_released_arena_can_be_used_again),
        cmocka_unit_test(test_a_message_decoded_with_the_arena_allocator_lives_in_the_arena),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
