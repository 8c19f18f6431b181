/* arena.c — a bump allocator over a list of chunks. */
#include "arena.h"

#include <stdlib.h>
#include <string.h>

#include "mem.h"

struct arena_chunk {
    arena_chunk_t *next;
    size_t size;
    _Alignas(16) char data[];
};

#define ARENA_CHUNK 4096

void *arena_alloc(arena_t *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (size == 0)
        size = 16;
    if (size > a->left) {
        size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;
        arena_chunk_t *c = xmalloc(sizeof *c + cap);
        c->size = cap;
        c->next = a->head;
        a->head = c;
        a->cur = c->data;
        a->left = cap;
    }
    void *p = a->cur;
    a->cur += size;
    a->left -= size;
    memset(p, 0, size);
    return p;
}

char *arena_strndup(arena_t *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(arena_t *a, const char *s)
{
    return s == NULL ? NULL : arena_strndup(a, s, strlen(s));
}

void arena_release(arena_t *a)
{
    arena_chunk_t *c = a->head;
    while (c) {
        arena_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->cur = NULL;
    a->left = 0;
}

static void *pb_alloc(void *data, size_t size) { return arena_alloc(data, size); }
static void pb_free(void *data, void *ptr) {}

void arena_pb_allocator(arena_t *a, ProtobufCAllocator *out)
{
    out->alloc = pb_alloc;
    out->free = pb_free;
    out->allocator_data = a;
}
