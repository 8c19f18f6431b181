/* cleanup.h — scope-bound cleanup, the crun way: a variable declared with one
 * of these attributes is released when it goes out of scope, so early returns
 * are safe. Start such variables at NULL / -1, and steal them (set to NULL)
 * when ownership moves elsewhere. */
#ifndef DOJO_CLEANUP_H
#define DOJO_CLEANUP_H

#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_free_fn(void *p) { free(*(void **)p); }
static inline void cleanup_close_fn(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

#define cleanup_free __attribute__((cleanup(cleanup_free_fn)))
#define cleanup_close __attribute__((cleanup(cleanup_close_fn)))

/* Helpers for library types are declared next to their modules:
 * cleanup_err (err.h users: declared below), cleanup_pgresult (pg.h),
 * cleanup_redis_reply (kv.h), cleanup_pb (pb.h), cleanup_byte_buffer (rpc.h). */

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
