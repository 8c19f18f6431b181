/* arena.h — memory tied to one request's life (the h2o way): many small
 * allocations, one release. Not thread-safe: one arena per request. */
#ifndef DOJO_ARENA_H
#define DOJO_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef struct arena_chunk arena_chunk_t;

typedef struct arena {
    arena_chunk_t *head;
    char *cur;
    size_t left;
} arena_t;

/** Zeroed, 16-byte aligned memory valid until arena_release. Aborts when
 * out of memory. */
void *arena_alloc(arena_t *a, size_t size);

/** A copy of `s` (NULL stays NULL). */
char *arena_strdup(arena_t *a, const char *s);

/** A copy of `n` bytes of `s` plus a terminating NUL. */
char *arena_strndup(arena_t *a, const char *s, size_t n);

/** Frees everything allocated from `a`; `a` can be reused afterwards. */
void arena_release(arena_t *a);

/** A protobuf-c allocator drawing from `a` (free is a no-op), so a decoded
 * message lives exactly as long as the arena. */
void arena_pb_allocator(arena_t *a, ProtobufCAllocator *out);

#endif
