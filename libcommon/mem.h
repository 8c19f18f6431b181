/* mem.h — allocation that aborts on out-of-memory (STYLE.md: "Out-of-memory
 * aborts"). A service that cannot get a few bytes cannot answer anyway, and
 * a check at every call site is a branch no test ever takes. Every pointer
 * these return is new: free() it. */
#ifndef DOJO_MEM_H
#define DOJO_MEM_H

#include <stdarg.h>
#include <stddef.h>

/** malloc(size), never NULL (a size of 0 still returns a pointer to free). */
void *xmalloc(size_t size) __attribute__((malloc, returns_nonnull));

/** calloc(n, size): zeroed, never NULL; aborts when n * size overflows. */
void *xcalloc(size_t n, size_t size) __attribute__((malloc, returns_nonnull));

/** realloc(p, size), never NULL; `p` may be NULL. */
void *xrealloc(void *p, size_t size) __attribute__((returns_nonnull));

/** realloc(p, n * size), never NULL; aborts when n * size overflows. */
void *xreallocarray(void *p, size_t n, size_t size) __attribute__((returns_nonnull));

/** strdup(s), never NULL; NULL stays NULL. */
char *xstrdup(const char *s) __attribute__((malloc));

/** strndup(s, n): at most n bytes of `s` and a NUL, never NULL. */
char *xstrndup(const char *s, size_t n) __attribute__((malloc, returns_nonnull));

/** asprintf: the formatted text, never NULL. */
char *xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), malloc, returns_nonnull));

/** vasprintf: the formatted text, never NULL. */
char *xvasprintf(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0), malloc, returns_nonnull));

#endif
