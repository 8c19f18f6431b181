/* common.c — what every handler file shares: the clock, input checks,
 * paging, the subject of a request, and packed messages in bytea columns. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gamification.h"
#include "libcommon/cleanup.h"
#include "libcommon/clock.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"

int64_t gam_now_us(gam_t *g)
{
    return clock_now_us(g->cfg.clock_file);
}

/* ------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------ */

int gam_conn(gam_t *g, pg_conn_t **out, err_t **err)
{
    return pg_pool_acquire(g->pg, out, 3000, err);
}

Dojo__Common__V1__Timestamp *gam_timestamp(rpc_call_t *call, int64_t us)
{
    if (us == 0)
        return NULL;
    Dojo__Common__V1__Timestamp *t =
        RPC_NEW(call, Dojo__Common__V1__Timestamp, DOJO__COMMON__V1__TIMESTAMP__INIT);
    t->unix_micros = us;
    return t;
}

char *gam_i64(rpc_call_t *call, int64_t v)
{
    return rpc_sprintf(call, "%" PRId64, v);
}

bool gam_is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !isxdigit((unsigned char)c))
            return false;
    }
    return true;
}

int gam_check_slug(const char *field, const char *s, bool required, err_t **err)
{
    size_t len = strlen(s);
    if (len == 0 && !required)
        return 0;
    if (len == 0 || len > 64)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: must be 1 to 64 characters", field);
    for (size_t i = 0; i < len; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "%s: may contain only a-z, 0-9 and '-'", field);
    return 0;
}

int gam_check_language(const char *field, const char *s, err_t **err)
{
    size_t len = strlen(s);
    if (len == 0 || len > 32)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: must be 1 to 32 characters", field);
    for (size_t i = 0; i < len; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || strchr("_+.-", s[i])))
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "%s: may contain only a-z, 0-9 and _+.-", field);
    return 0;
}

/* ------------------------------------------------------------------------
 * Who a request is about
 * ------------------------------------------------------------------------ */

int gam_subject(const identity_t *id, const char *user_id, bool allow_author, bool allow_admin,
                const char **out, err_t **err)
{
    if (user_id[0] == '\0') {
        if (id->kind != IDENTITY_USER)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "user_id: required when calling as a service");
        *out = id->claims.sub;
        return 0;
    }
    if (!gam_is_uuid(user_id))
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "user_id: must be a UUID");
    if (id->kind == IDENTITY_USER && strcasecmp(user_id, id->claims.sub) != 0) {
        bool ok =
            (allow_author && identity_is_author(id)) || (allow_admin && identity_is_admin(id));
        if (!ok)
            return err_set(err, GRPC_STATUS_PERMISSION_DENIED,
                           "you may only act on your own account");
    }
    *out = user_id;
    return 0;
}

/* ------------------------------------------------------------------------
 * Packed messages
 * ------------------------------------------------------------------------ */

static void *arena_alloc_fn(void *data, size_t size)
{
    return rpc_alloc(data, size);
}
static void arena_free_fn(void *data, void *p)
{
    (void)data, (void)p;
}

void gam_pb_allocator(rpc_call_t *call, ProtobufCAllocator *out)
{
    out->alloc = arena_alloc_fn;
    out->free = arena_free_fn;
    out->allocator_data = call;
}

char *gam_pack_hex(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    unsigned char *buf = xmalloc(len + 1);
    char *hex = xmalloc(len * 2 + 1);
    protobuf_c_message_pack(msg, buf);
    sodium_bin2hex(hex, len * 2 + 1, buf, len);
    free(buf);
    return hex;
}

ProtobufCMessage *gam_unpack_hex(rpc_call_t *call, const ProtobufCMessageDescriptor *d,
                                 const char *hex)
{
    size_t hexlen = strlen(hex);
    if (hexlen == 0)
        return NULL;
    unsigned char *bin = rpc_alloc(call, hexlen / 2 + 1);
    size_t len = 0;
    if (sodium_hex2bin(bin, hexlen / 2 + 1, hex, hexlen, NULL, &len, NULL) != 0)
        return NULL;
    ProtobufCAllocator a;
    gam_pb_allocator(call, &a);
    return protobuf_c_message_unpack(d, &a, len, bin);
}
