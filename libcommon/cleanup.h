/* cleanup.h — scope-bound cleanup, the crun way: a variable declared with one
 * of these attributes is released when it goes out of scope, so early returns
 * are safe. Start such variables at NULL / -1, and steal them (set to NULL)
 * when ownership moves elsewhere. */
#ifndef DOJO_CLEANUP_H
#define DOJO_CLEANUP_H

#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_free_fn(void *p) { free(*(void **)p); }
static inline void cleanup_close_fn(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}
static inline void cleanup_json_fn(json_t **j) { json_decref(*j); }

/** free() */
#define cleanup_free __attribute__((cleanup(cleanup_free_fn)))
/** close() of a file descriptor; -1 is none */
#define cleanup_close __attribute__((cleanup(cleanup_close_fn)))
/** json_decref() of a jansson value (one reference) */
#define cleanup_json __attribute__((cleanup(cleanup_json_fn)))

/* Helpers for the types of libcommon's own modules are declared next to
 * them: cleanup_err (below, for err.h), cleanup_pgresult and cleanup_pgconn
 * (pg.h), cleanup_redis_reply (kv.h), cleanup_pb (rpc.h, any protobuf-c
 * message from rpc_client_call). */

struct err;
void err_free(struct err *e);
static inline void cleanup_err_fn(struct err **e) { err_free(*e); }
#define cleanup_err __attribute__((cleanup(cleanup_err_fn)))

/** Moves ownership out of a cleanup variable: returns *p and sets it to NULL. */
#define DOJO_STEAL(p)                                                                              \
    ({                                                                                             \
        __typeof__(p) stolen_ = (p);                                                               \
        (p) = NULL;                                                                                \
        stolen_;                                                                                   \
    })

#endif
