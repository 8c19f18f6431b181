/* test_rpc.c — the gRPC layer end to end on loopback: a real server from
 * rpc_server.c, a real client from rpc_client.c, gRPC's C core between. */
#define _GNU_SOURCE /* testutil.h: F_SETPIPE_SZ */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dojo/auth/v1/auth.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "libcommon/cleanup.h"
#include "libcommon/rpc.h"
#include "testutil.h"

/* The auth service's descriptor serves as a test service here; the
 * handlers below are test doubles of *handlers*, not of gRPC. */

static int echo_request_id(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                           err_t **err)
{
    Dojo__Auth__V1__GetPublicKeysResponse *resp = RPC_NEW(
        call, Dojo__Auth__V1__GetPublicKeysResponse, DOJO__AUTH__V1__GET_PUBLIC_KEYS_RESPONSE__INIT);
    const char *who = rpc_call_metadata(call, "x-who");
    resp->issuer = rpc_sprintf(call, "%s|%s", rpc_call_request_id(call), who ? who : "-");
    resp->access_token_ttl_seconds = rpc_call_deadline_left_ms(call);
    *out = &resp->base;
    return 0;
}

static int always_throttled(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                            err_t **err)
{
    err_set(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "slow down");
    return err_set_retry_after(err, 7);
}

static int internal_failure(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                            err_t **err)
{
    return err_set(err, GRPC_STATUS_INTERNAL, "secret database detail");
}

typedef struct fixture {
    test_server_t srv;
    rpc_channel_t *channel;
    /* What the handlers below saw (written on server threads). */
    int profile_attempts;
    int profile_failures;      /* attempts answered UNAVAILABLE first (0 = 1) */
    char profile_names[4][32]; /* display_name of each attempt */
    bool stream_send_failed;   /* the client went away mid-stream */
    bool release_stall;        /* SignUp "stall" may answer now */
    bool sign_up_started;      /* a SignUp handler is running */
    int held;                  /* ChangePassword handlers running */
    bool release_held;         /* they may answer now */
} fixture_t;

/* ChangePassword holds its worker until the test releases it (at most 10 s). */
static int held_call(rpc_call_t *call, const ProtobufCMessage *req, ProtobufCMessage **out,
                     err_t **err)
{
    fixture_t *f = rpc_call_payload(call);
    __atomic_fetch_add(&f->held, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 2000 && !__atomic_load_n(&f->release_held, __ATOMIC_SEQ_CST); i++)
        usleep(5 * 1000);
    *out = &RPC_NEW(call, Dojo__Auth__V1__ChangePasswordResponse,
                    DOJO__AUTH__V1__CHANGE_PASSWORD_RESPONSE__INIT)
                ->base;
    return 0;
}

static int slow_sign_up(rpc_call_t *call, const ProtobufCMessage *req_msg, ProtobufCMessage **out,
                        err_t **err)
{
    fixture_t *f = rpc_call_payload(call);
    const Dojo__Auth__V1__SignUpRequest *req = (const void *)req_msg;
    __atomic_store_n(&f->sign_up_started, true, __ATOMIC_SEQ_CST);
    if (!strcmp(req->username, "stall")) {
        /* Until the test has seen its deadline pass (at most 10 s): on a
         * busy machine a reply after a fixed sleep could still come first. */
        for (int i = 0; i < 2000 && !__atomic_load_n(&f->release_stall, __ATOMIC_SEQ_CST); i++)
            usleep(5 * 1000);
    } else {
        usleep(300 * 1000);
    }
    Dojo__Auth__V1__SignUpResponse *resp =
        RPC_NEW(call, Dojo__Auth__V1__SignUpResponse, DOJO__AUTH__V1__SIGN_UP_RESPONSE__INIT);
    resp->user = RPC_NEW(call, Dojo__Auth__V1__User, DOJO__AUTH__V1__USER__INIT);
    resp->user->username = rpc_strdup(call, req->username);
    *out = &resp->base;
    return 0;
}

/* UNAVAILABLE to the first attempt (the first profile_failures ones, when
 * set), then the display name it was sent. */
static int unavailable_once(rpc_call_t *call, const ProtobufCMessage *req_msg,
                            ProtobufCMessage **out, err_t **err)
{
    fixture_t *f = rpc_call_payload(call);
    const Dojo__Auth__V1__UpdateProfileRequest *req = (const void *)req_msg;
    int attempt = __atomic_fetch_add(&f->profile_attempts, 1, __ATOMIC_SEQ_CST);
    if (attempt < 4)
        snprintf(f->profile_names[attempt], sizeof f->profile_names[attempt], "%s",
                 req->display_name);
    if (attempt < (f->profile_failures > 0 ? f->profile_failures : 1))
        return err_set(err, GRPC_STATUS_UNAVAILABLE, "warming up");
    Dojo__Auth__V1__UpdateProfileResponse *resp = RPC_NEW(
        call, Dojo__Auth__V1__UpdateProfileResponse, DOJO__AUTH__V1__UPDATE_PROFILE_RESPONSE__INIT);
    resp->user = RPC_NEW(call, Dojo__Auth__V1__User, DOJO__AUTH__V1__USER__INIT);
    resp->user->display_name = rpc_strdup(call, req->display_name);
    *out = &resp->base;
    return 0;
}

/* A server-streaming test handler on GetUser: username "N:how" sends N
 * replies (user.username "reply-i", user.id the request id), then ends as
 * `how` says: "ok", "fail" (RESOURCE_EXHAUSTED with retry-after 3) or
 * "endless" (keeps sending until the client cancels). */
static int stream_users(rpc_call_t *call, const ProtobufCMessage *req_msg, err_t **err)
{
    fixture_t *f = rpc_call_payload(call);
    const Dojo__Auth__V1__GetUserRequest *req = (const void *)req_msg;
    int n = atoi(req->username);
    const char *how = strchr(req->username, ':');
    how = how ? how + 1 : "ok";
    bool endless = !strcmp(how, "endless");
    for (int i = 0; endless ? i < 2000 : i < n; i++) {
        Dojo__Auth__V1__User user = DOJO__AUTH__V1__USER__INIT;
        user.username = rpc_sprintf(call, "reply-%d", i);
        user.id = (char *)rpc_call_request_id(call);
        Dojo__Auth__V1__GetUserResponse resp = DOJO__AUTH__V1__GET_USER_RESPONSE__INIT;
        resp.user = &user;
        if (rpc_stream_send(call, &resp.base, err) < 0) {
            f->stream_send_failed = true;
            return -1;
        }
        if (endless)
            usleep(5 * 1000);
    }
    if (!strcmp(how, "fail")) {
        err_set(err, GRPC_STATUS_RESOURCE_EXHAUSTED, "stop now");
        return err_set_retry_after(err, 3);
    }
    return 0;
}

static const rpc_handler_t handlers[] = {
    {.method = "GetPublicKeys", .unary = echo_request_id},
    {.method = "Login", .unary = always_throttled},
    {.method = "Refresh", .unary = internal_failure},
    {.method = "SignUp", .unary = slow_sign_up},
    {.method = "UpdateProfile", .unary = unavailable_once},
    {.method = "GetUser", .stream = stream_users},
    {.method = "ChangePassword", .unary = held_call},
    {0},
};

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    test_server_start(&f->srv, &dojo__auth__v1__auth__descriptor, handlers, f);
    cleanup_err err_t *err = NULL;
    assert_int_equal(rpc_channel_open(&f->channel, f->srv.target, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    rpc_channel_close(f->channel);
    test_server_free(&f->srv);
    free(f);
    return 0;
}

static void test_unary_call_carries_request_id_metadata_and_deadline(void **state)
{
    fixture_t *f = *state;
    Dojo__Auth__V1__GetPublicKeysRequest req = DOJO__AUTH__V1__GET_PUBLIC_KEYS_REQUEST__INIT;
    const char *md[] = {"x-who", "tester", NULL};
    rpc_call_opts_t opts = {.timeout_ms = 2000, .request_id = "req-42", .metadata = md};
    cleanup_pb ProtobufCMessage *out = NULL;
    cleanup_err err_t *err = NULL;
    assert_int_equal(rpc_client_call(f->channel, &dojo__auth__v1__auth__descriptor,
                                     "GetPublicKeys", &req.base, &out, &opts, &err),
                     0);
    Dojo__Auth__V1__GetPublicKeysResponse *resp = (void *)out;
    assert_string_equal(resp->issuer, "req-42|tester");
    /* gRPC sends the timeout rounded to coarse units: allow some slack. */
    assert_true(resp->access_token_ttl_seconds > 500 && resp->access_token_ttl_seconds <= 2500);
}

static void test_handler_error_becomes_status_with_retry_after_trailer(void **state)
{
    fixture_t *f = *state;
    Dojo__Auth__V1__LoginRequest req = DOJO__AUTH__V1__LOGIN_REQUEST__INIT;
    cleanup_pb ProtobufCMessage *out = NULL;
    cleanup_err err_t *err = NULL;
    assert_int_equal(rpc_client_call(f->channel, &dojo__auth__v1__auth__descriptor, "Login",
                                     &req.base, &out, NULL, &err),
                     -1);
    assert_int_equal(err->code, GRPC_STATUS_RESOURCE_EXHAUSTED);
    assert_string_equal(err_public_message(err), "slow down");
    assert_int_equal(err->retry_after_s, 7);
}

static void test_internal_errors_reach_the_client_as_a_generic_message(void **state)
{
    fixture_t *f = *state;
    Dojo__Auth__V1__RefreshRequest req = DOJO__AUTH__V1__REFRESH_REQUEST__INIT;
    cleanup_pb ProtobufCMessage *out = NULL;
    cleanup_err err_t *err = NULL;
    assert_int_equal(rpc_client_call(f->channel, &dojo__auth__v1__auth__descriptor, "Refresh",
                                     &req.base, &out, NULL, &err),
                     -1);
    assert_int_equal(err->code, GRPC_STATUS_INTERNAL);
    assert_null(strstr(err->msg, "secret"));
    assert_string_equal(err_public_message(err), "internal error");
}

static void test_method_without_handler_is_unimplemented_at_once(void **state)
{
    fixture_t *f = *state;
    Dojo__Auth__V1__LogoutRequest req = DOJO__AUTH__V1__LOGOUT_REQUEST__INIT;
    cleanup_pb ProtobufCMessage *out = NULL;
    cleanup_err err_t *err = NULL;
    /* "At once": a call that waited instead would end DEADLINE_EXCEEDED. */
    rpc_call_opts_t opts = {.timeout_ms = 5000};
    assert_int_equal(rpc_client_call(f->channel, &dojo__auth__v1__auth__descriptor, "Logout",
                                     &req.base, &out, &opts, &err),
                     -1);
    assert_int_equal(err->code, GRPC_STATUS_UNIMPLEMENTED);
}

/* One call, from one stack frame for every method: the client's path buffer
 * sits at the same address each time. */
static int call_method(fixture_t *f, const char *method, const ProtobufCMessage *req,
                       int *code)
{
    cleanup_pb ProtobufCMessage *out = NULL;
    cleanup_err err_t *err = NULL;
    int rc = rpc_client_call(f->channel, &dojo__auth__v1__auth__descriptor, method, req, &out,
                             NULL, &err);
    *code = rc == 0 ? GRPC_STATUS_OK : (int)err->code;
    return rc;
}

static void test_methods_of_equal_length_alternating_reach_their_own_handler(void **state)
{
    /* GetPublicKeys and ResetPassword are both 13 letters and their paths
     * sit at one address in call_method's frame: each must still reach its
     * own handler (a path handed to gRPC as a static slice may be matched by
     * address and length). */
    fixture_t *f = *state;
    Dojo__Auth__V1__GetPublicKeysRequest keys = DOJO__AUTH__V1__GET_PUBLIC_KEYS_REQUEST__INIT;
    Dojo__Auth__V1__ResetPasswordRequest reset = DOJO__AUTH__V1__RESET_PASSWORD_REQUEST__INIT;
    for (int i = 0; i < 4; i++) {
        int code;
        assert_int_equal(call_method(f, "GetPublicKeys", &keys.base, &code), 0);
        assert_int_equal(call_method(f, "ResetPassword", &reset.base, &code), -1);
        assert_int_equal(code, GRPC_STATUS_UNIMPLEMENTED);
    }
}

static void test_client_deadline_expires_as_deadline_exceeded(void **state)
{
    fixture_t *f = *state;
    Dojo__Auth__V1__SignUpRequest req = DOJO__AUTH__V1__SIGN_UP_REQUEST__INIT;
    req.username = "stall"; /* the handler answers only after this call has returned */
    cleanup_pb ProtobufCMessage *out = NULL;
    cleanup_err err_t *err = NULL;
    rpc_call_opts_t opts = {.timeout_ms = 100};
    int rc = rpc_client_call(f->channel, &dojo__auth__v1__auth__descriptor, "SignUp", &req.base,
                             &out, &opts, &err);
    __atomic_store_n(&f->release_stall, true, __ATOMIC_SEQ_CST);
    assert_int_equal(rc, -1);
    assert_int_equal(err->code, GRPC_STATUS_DEADLINE_EXCEEDED);
}

static void test_health_check_reports_registered_services(void **state)
{
    fixture_t *f = *state;
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    req.service = "dojo.auth.v1.Auth";
    cleanup_pb ProtobufCMessage *out = NULL;
    cleanup_err err_t *err = NULL;
    assert_int_equal(rpc_client_call(f->channel, &grpc__health__v1__health__descriptor, "Check",
                                     &req.base, &out, NULL, &err),
                     0);
    assert_int_equal(((Grpc__Health__V1__HealthCheckResponse *)out)->status,
                     GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);

    cleanup_pb ProtobufCMessage *out2 = NULL;
    cleanup_err err_t *err2 = NULL;
    req.service = "no.such.Service";
    assert_int_equal(rpc_client_call(f->channel, &grpc__health__v1__health__descriptor, "Check",
                                     &req.base, &out2, NULL, &err2),
                     -1);
    assert_int_equal(err2->code, GRPC_STATUS_NOT_FOUND);
}

typedef struct inflight {
    rpc_channel_t *channel;
    int rc;
    grpc_status_code code;
    char username[32];
} inflight_t;

static void *call_slow(void *arg)
{
    inflight_t *c = arg;
    Dojo__Auth__V1__SignUpRequest req = DOJO__AUTH__V1__SIGN_UP_REQUEST__INIT;
    req.username = "drained";
    cleanup_pb ProtobufCMessage *out = NULL;
    cleanup_err err_t *err = NULL;
    rpc_call_opts_t opts = {.timeout_ms = 5000};
    c->rc = rpc_client_call(c->channel, &dojo__auth__v1__auth__descriptor, "SignUp", &req.base,
                            &out, &opts, &err);
    c->code = err ? err->code : GRPC_STATUS_OK;
    if (out)
        snprintf(c->username, sizeof c->username, "%s",
                 ((Dojo__Auth__V1__SignUpResponse *)out)->user->username);
    return NULL;
}

static void test_stop_drains_an_in_flight_call_before_returning(void **state)
{
    fixture_t *f = *state;
    inflight_t c = {.channel = f->channel};
    pthread_t th;
    pthread_create(&th, NULL, call_slow, &c);
    /* Until the handler runs (at most 10 s), however busy the machine. */
    for (int i = 0; i < 2000 && !__atomic_load_n(&f->sign_up_started, __ATOMIC_SEQ_CST); i++)
        usleep(5 * 1000);
    assert_true(__atomic_load_n(&f->sign_up_started, __ATOMIC_SEQ_CST));
    test_server_stop(&f->srv); /* rpc_server_run returns after the drain */
    pthread_join(th, NULL);
    assert_int_equal(c.rc, 0);
    assert_int_equal(c.code, GRPC_STATUS_OK);
    assert_string_equal(c.username, "drained");
}

static void test_idempotent_calls_to_an_unreachable_server_end_unavailable(void **state)
{
    /* A port nobody listens on: every attempt is UNAVAILABLE, with or
     * without retries, and the call ends instead of waiting for ever. */
    int port = free_port();
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    rpc_channel_t *ch = NULL;
    cleanup_err err_t *err = NULL;
    assert_int_equal(rpc_channel_open(&ch, target, &err), 0);
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    rpc_call_opts_t opts[] = {{.timeout_ms = 3000}, {.timeout_ms = 3000, .idempotent = true}};
    for (size_t i = 0; i < 2; i++) {
        cleanup_pb ProtobufCMessage *out = NULL;
        assert_int_equal(rpc_client_call(ch, &grpc__health__v1__health__descriptor, "Check",
                                         &req.base, &out, &opts[i], &err),
                         -1);
        assert_int_equal(err->code, GRPC_STATUS_UNAVAILABLE);
        err_clear(&err);
    }
    rpc_channel_close(ch);
}

static void test_idempotent_calls_give_up_after_three_attempts(void **state)
{
    fixture_t *f = *state;
    f->profile_failures = 100;
    Dojo__Auth__V1__UpdateProfileRequest req = DOJO__AUTH__V1__UPDATE_PROFILE_REQUEST__INIT;
    req.display_name = "Ann Lee";
    rpc_call_opts_t opts = {.timeout_ms = 5000, .idempotent = true};
    cleanup_pb ProtobufCMessage *out = NULL;
    cleanup_err err_t *err = NULL;
    assert_int_equal(rpc_client_call(f->channel, &dojo__auth__v1__auth__descriptor, "UpdateProfile",
                                     &req.base, &out, &opts, &err),
                     -1);
    assert_int_equal(err->code, GRPC_STATUS_UNAVAILABLE);
    assert_int_equal(f->profile_attempts, 3);
}

static void test_a_retry_cut_short_by_the_deadline_still_reports_the_last_error(void **state)
{
    /* The pause before a retry outlasts this deadline: the call gives up
     * before a second attempt, and must still say why (it used to return -1
     * with the error already cleared for the attempt it never made). */
    fixture_t *f = *state;
    f->profile_failures = 100;
    Dojo__Auth__V1__UpdateProfileRequest req = DOJO__AUTH__V1__UPDATE_PROFILE_REQUEST__INIT;
    req.display_name = "Ann Lee";
    rpc_call_opts_t opts = {.timeout_ms = 20, .idempotent = true};
    for (int i = 0; i < 5; i++) {
        cleanup_pb ProtobufCMessage *out = NULL;
        cleanup_err err_t *err = NULL;
        assert_int_equal(rpc_client_call(f->channel, &dojo__auth__v1__auth__descriptor,
                                         "UpdateProfile", &req.base, &out, &opts, &err),
                         -1);
        assert_null(out);
        assert_non_null(err);
        /* UNAVAILABLE from the handler, or the deadline if it came first. */
        assert_true(err->code == GRPC_STATUS_UNAVAILABLE ||
                    err->code == GRPC_STATUS_DEADLINE_EXCEEDED);
    }
}

static void test_idempotent_retry_sends_the_whole_request_again(void **state)
{
    fixture_t *f = *state;
    Dojo__Auth__V1__UpdateProfileRequest req = DOJO__AUTH__V1__UPDATE_PROFILE_REQUEST__INIT;
    req.display_name = "Ann Lee";
    rpc_call_opts_t opts = {.timeout_ms = 3000, .idempotent = true};
    cleanup_pb ProtobufCMessage *out = NULL;
    cleanup_err err_t *err = NULL;
    assert_int_equal(rpc_client_call(f->channel, &dojo__auth__v1__auth__descriptor, "UpdateProfile",
                                     &req.base, &out, &opts, &err),
                     0);
    assert_null(err);
    assert_int_equal(f->profile_attempts, 2);
    assert_string_equal(f->profile_names[0], "Ann Lee");
    assert_string_equal(f->profile_names[1], "Ann Lee");
    assert_string_equal(((Dojo__Auth__V1__UpdateProfileResponse *)out)->user->display_name,
                        "Ann Lee");
}

static void test_calls_not_marked_idempotent_are_not_retried(void **state)
{
    fixture_t *f = *state;
    Dojo__Auth__V1__UpdateProfileRequest req = DOJO__AUTH__V1__UPDATE_PROFILE_REQUEST__INIT;
    req.display_name = "Ann Lee";
    cleanup_pb ProtobufCMessage *out = NULL;
    cleanup_err err_t *err = NULL;
    assert_int_equal(rpc_client_call(f->channel, &dojo__auth__v1__auth__descriptor, "UpdateProfile",
                                     &req.base, &out, NULL, &err),
                     -1);
    assert_int_equal(err->code, GRPC_STATUS_UNAVAILABLE);
    assert_string_equal(err_public_message(err), "warming up");
    assert_int_equal(f->profile_attempts, 1);
}

typedef struct collected {
    int n;
    int stop_after; /* 0: never stop */
    char names[8][32];
    char request_id[32];
} collected_t;

static int collect_user(const ProtobufCMessage *msg, void *payload)
{
    collected_t *c = payload;
    const Dojo__Auth__V1__GetUserResponse *resp = (const void *)msg;
    if (c->n < 8)
        snprintf(c->names[c->n], sizeof c->names[c->n], "%s", resp->user->username);
    snprintf(c->request_id, sizeof c->request_id, "%s", resp->user->id);
    c->n++;
    return c->stop_after > 0 && c->n >= c->stop_after;
}

static int stream_users_call(fixture_t *f, const char *username, collected_t *c, err_t **err)
{
    Dojo__Auth__V1__GetUserRequest req = DOJO__AUTH__V1__GET_USER_REQUEST__INIT;
    req.username = (char *)username;
    rpc_call_opts_t opts = {.timeout_ms = 5000, .request_id = "req-stream"};
    return rpc_client_stream(f->channel, &dojo__auth__v1__auth__descriptor, "GetUser", &req.base,
                             &opts, collect_user, c, err);
}

static void test_stream_delivers_every_reply_in_order_then_ends_ok(void **state)
{
    fixture_t *f = *state;
    collected_t c = {0};
    cleanup_err err_t *err = NULL;
    assert_int_equal(stream_users_call(f, "3:ok", &c, &err), 0);
    assert_null(err);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.names[0], "reply-0");
    assert_string_equal(c.names[1], "reply-1");
    assert_string_equal(c.names[2], "reply-2");
    assert_string_equal(c.request_id, "req-stream");
}

static void test_stream_with_no_replies_ends_ok(void **state)
{
    fixture_t *f = *state;
    collected_t c = {0};
    cleanup_err err_t *err = NULL;
    assert_int_equal(stream_users_call(f, "0:ok", &c, &err), 0);
    assert_int_equal(c.n, 0);
}

static void test_stream_error_after_replies_carries_status_message_and_retry_after(void **state)
{
    fixture_t *f = *state;
    collected_t c = {0};
    cleanup_err err_t *err = NULL;
    assert_int_equal(stream_users_call(f, "2:fail", &c, &err), -1);
    assert_int_equal(c.n, 2);
    assert_int_equal(err->code, GRPC_STATUS_RESOURCE_EXHAUSTED);
    assert_string_equal(err_public_message(err), "stop now");
    assert_int_equal(err->retry_after_s, 3);
    assert_non_null(strstr(err->msg, "/dojo.auth.v1.Auth/GetUser"));
}

static void test_stream_stopped_by_the_callback_cancels_the_call(void **state)
{
    fixture_t *f = *state;
    collected_t c = {.stop_after = 2};
    cleanup_err err_t *err = NULL;
    assert_int_equal(stream_users_call(f, "0:endless", &c, &err), 0);
    assert_null(err);
    assert_int_equal(c.n, 2);
    /* The handler's next send fails; the drain waits for the handler. */
    test_server_stop(&f->srv);
    assert_true(f->stream_send_failed);
}

static void test_stream_to_an_unknown_method_fails_without_a_call(void **state)
{
    fixture_t *f = *state;
    Dojo__Auth__V1__GetUserRequest req = DOJO__AUTH__V1__GET_USER_REQUEST__INIT;
    collected_t c = {0};
    cleanup_err err_t *err = NULL;
    assert_int_equal(rpc_client_stream(f->channel, &dojo__auth__v1__auth__descriptor, "NoSuch",
                                       &req.base, NULL, collect_user, &c, &err),
                     -1);
    assert_int_equal(err->code, GRPC_STATUS_INTERNAL);
    assert_int_equal(c.n, 0);
}

static void test_stream_to_a_method_without_handler_is_unimplemented(void **state)
{
    fixture_t *f = *state;
    Dojo__Auth__V1__LogoutRequest req = DOJO__AUTH__V1__LOGOUT_REQUEST__INIT;
    collected_t c = {0};
    cleanup_err err_t *err = NULL;
    assert_int_equal(rpc_client_stream(f->channel, &dojo__auth__v1__auth__descriptor, "Logout",
                                       &req.base, NULL, collect_user, &c, &err),
                     -1);
    assert_int_equal(err->code, GRPC_STATUS_UNIMPLEMENTED);
    assert_int_equal(c.n, 0);
}

/* ------------------------------------------------------------------------
 * The bounded queue (DOJO_RPC_QUEUE_MAX)
 * ------------------------------------------------------------------------ */

static int setup_one_worker_one_queued(void **state)
{
    setenv("DOJO_RPC_WORKERS", "1", 1);
    setenv("DOJO_RPC_QUEUE_MAX", "1", 1);
    int rc = setup(state);
    unsetenv("DOJO_RPC_WORKERS");
    unsetenv("DOJO_RPC_QUEUE_MAX");
    return rc;
}

typedef struct held_client {
    rpc_channel_t *channel;
    int rc;
    grpc_status_code code;
} held_client_t;

static void *call_held(void *arg)
{
    held_client_t *c = arg;
    Dojo__Auth__V1__ChangePasswordRequest req = DOJO__AUTH__V1__CHANGE_PASSWORD_REQUEST__INIT;
    cleanup_pb ProtobufCMessage *out = NULL;
    cleanup_err err_t *err = NULL;
    rpc_call_opts_t opts = {.timeout_ms = 30000};
    c->rc = rpc_client_call(c->channel, &dojo__auth__v1__auth__descriptor, "ChangePassword",
                            &req.base, &out, &opts, &err);
    c->code = err ? err->code : GRPC_STATUS_OK;
    return NULL;
}

static int get_public_keys(fixture_t *f, err_t **err)
{
    Dojo__Auth__V1__GetPublicKeysRequest req = DOJO__AUTH__V1__GET_PUBLIC_KEYS_REQUEST__INIT;
    cleanup_pb ProtobufCMessage *out = NULL;
    rpc_call_opts_t opts = {.timeout_ms = 30000};
    return rpc_client_call(f->channel, &dojo__auth__v1__auth__descriptor, "GetPublicKeys",
                           &req.base, &out, &opts, err);
}

static void test_a_call_past_the_full_queue_is_refused_busy_at_once_and_the_queued_are_served(
    void **state)
{
    fixture_t *f = *state;
    held_client_t first = {.channel = f->channel}, second = {.channel = f->channel};
    pthread_t t1, t2;
    /* The only worker held... */
    pthread_create(&t1, NULL, call_held, &first);
    for (int i = 0; i < 2000 && __atomic_load_n(&f->held, __ATOMIC_SEQ_CST) < 1; i++)
        usleep(5 * 1000);
    assert_int_equal(__atomic_load_n(&f->held, __ATOMIC_SEQ_CST), 1);
    /* ...and the one place in the queue taken. */
    pthread_create(&t2, NULL, call_held, &second);
    for (int i = 0; i < 2000 && rpc_server_queued(f->srv.server) < 1; i++)
        usleep(5 * 1000);
    assert_int_equal(rpc_server_queued(f->srv.server), 1);

    /* The next call is told at once: had it been queued it would have
     * waited for the release below, and been served. */
    cleanup_err err_t *err = NULL;
    int rc = get_public_keys(f, &err);
    __atomic_store_n(&f->release_held, true, __ATOMIC_SEQ_CST);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_int_equal(rc, -1);
    assert_int_equal(err->code, GRPC_STATUS_UNAVAILABLE);
    assert_string_equal(err_public_message(err), "busy: every worker taken");
    assert_int_equal(err->retry_after_s, 1);
    assert_int_equal(first.rc, 0);
    assert_int_equal(second.rc, 0);
    assert_int_equal(__atomic_load_n(&f->held, __ATOMIC_SEQ_CST), 2);

    /* With the worker free again, calls are served. */
    cleanup_err err_t *err2 = NULL;
    assert_int_equal(get_public_keys(f, &err2), 0);
    assert_int_equal(rpc_server_queued(f->srv.server), 0);
}

static int setup_no_queue(void **state)
{
    setenv("DOJO_RPC_WORKERS", "1", 1);
    setenv("DOJO_RPC_QUEUE_MAX", "0", 1);
    int rc = setup(state);
    unsetenv("DOJO_RPC_WORKERS");
    unsetenv("DOJO_RPC_QUEUE_MAX");
    return rc;
}

static void test_with_no_queue_a_free_worker_serves_and_a_taken_one_refuses(void **state)
{
    fixture_t *f = *state;
    cleanup_err err_t *err = NULL;
    assert_int_equal(get_public_keys(f, &err), 0); /* the worker is free */

    held_client_t first = {.channel = f->channel};
    pthread_t t1;
    pthread_create(&t1, NULL, call_held, &first);
    for (int i = 0; i < 2000 && __atomic_load_n(&f->held, __ATOMIC_SEQ_CST) < 1; i++)
        usleep(5 * 1000);
    cleanup_err err_t *err2 = NULL;
    int rc = get_public_keys(f, &err2);
    __atomic_store_n(&f->release_held, true, __ATOMIC_SEQ_CST);
    pthread_join(t1, NULL);
    assert_int_equal(rc, -1);
    assert_int_equal(err2->code, GRPC_STATUS_UNAVAILABLE);
    assert_string_equal(err_public_message(err2), "busy: every worker taken");
    assert_int_equal(first.rc, 0);
}

int main(void)
{
    rpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unary_call_carries_request_id_metadata_and_deadline,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_handler_error_becomes_status_with_retry_after_trailer,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_internal_errors_reach_the_client_as_a_generic_message,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_method_without_handler_is_unimplemented_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_methods_of_equal_length_alternating_reach_their_own_handler, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_deadline_expires_as_deadline_exceeded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_health_check_reports_registered_services, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stop_drains_an_in_flight_call_before_returning, setup,
                                        teardown),
        cmocka_unit_test(test_idempotent_calls_to_an_unreachable_server_end_unavailable),
        cmocka_unit_test_setup_teardown(test_idempotent_calls_give_up_after_three_attempts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_a_retry_cut_short_by_the_deadline_still_reports_the_last_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotent_retry_sends_the_whole_request_again, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_calls_not_marked_idempotent_are_not_retried, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stream_delivers_every_reply_in_order_then_ends_ok,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_with_no_replies_ends_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_stream_error_after_replies_carries_status_message_and_retry_after, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_stream_stopped_by_the_callback_cancels_the_call, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stream_to_an_unknown_method_fails_without_a_call,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_call_past_the_full_queue_is_refused_busy_at_once_and_the_queued_are_served,
            setup_one_worker_one_queued, teardown),
        cmocka_unit_test_setup_teardown(
            test_with_no_queue_a_free_worker_serves_and_a_taken_one_refuses, setup_no_queue,
            teardown),
        cmocka_unit_test_setup_teardown(test_stream_to_a_method_without_handler_is_unimplemented,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
