/* validate.c — input rules for account fields, with messages that name the
 * field and say what was expected. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "libcommon/cleanup.h"

/* Number of UTF-8 code points, or -1 when `s` is not valid UTF-8. */
static long utf8_length(const char *s)
{
    long n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int extra;
        if (*p < 0x80)
            extra = 0;
        else if ((*p & 0xE0) == 0xC0 && *p >= 0xC2)
            extra = 1;
        else if ((*p & 0xF0) == 0xE0)
            extra = 2;
        else if ((*p & 0xF8) == 0xF0 && *p <= 0xF4)
            extra = 3;
        else
            return -1;
        p++;
        for (int i = 0; i < extra; i++, p++)
            if ((*p & 0xC0) != 0x80)
                return -1;
        n++;
    }
    return n;
}

int auth_validate_email(const char *in, char *out, size_t cap, err_t **err)
{
    size_t len = strlen(in);
    if (len == 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "email: is required");
    if (len > 254 || len >= cap)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "email: must be at most 254 characters");
    const char *at = strchr(in, '@');
    if (at == NULL || at == in || strchr(at + 1, '@') != NULL)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "email: must be a valid address like name@example.org");
    const char *domain = at + 1;
    const char *dot = strrchr(domain, '.');
    if (dot == NULL || dot == domain || dot[1] == '\0' || domain[0] == '.' ||
        strstr(domain, "..") != NULL)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "email: must be a valid address like name@example.org");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' ||
            c == ';' || c == ':' || c == '\\' || c == '"' || c == '[' || c == ']')
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "email: must not contain spaces, quotes or brackets");
        if (c >= 0x80)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "email: only ASCII addresses are supported");
        out[i] = (char)tolower(c);
    }
    out[len] = '\0';
    return 0;
}

int auth_validate_username(const char *in, char *out, size_t cap, err_t **err)
{
    size_t len = strlen(in);
    if (len == 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "username: is required");
    if (len < 3 || len > 32 || len >= cap)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "username: must be 3 to 32 characters long");
    for (size_t i = 0; i < len; i++) {
        char c = (char)tolower((unsigned char)in[i]);
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "username: may contain only letters a-z, digits, '_' and '-'");
        out[i] = c;
    }
    out[len] = '\0';
    return 0;
}

int auth_validate_password(const char *field, const char *in, err_t **err)
{
    long n = utf8_length(in);
    if (n < 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: must be valid UTF-8", field);
    if (n < 10)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: must be at least 10 characters",
                       field);
    if (n > 128 || strlen(in) > 512)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: must be at most 128 characters",
                       field);
    /* Compare code points, not bytes: "éééééééééé" is one character repeated. */
    size_t first = 1;
    while (in[first] && ((unsigned char)in[first] & 0xC0) == 0x80)
        first++;
    bool all_same = true;
    for (const char *p = in + first; *p && all_same; p += first)
        all_same = strncmp(p, in, first) == 0;
    if (all_same)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "%s: must not be one character repeated", field);
    return 0;
}

/* A zone is valid when its name is well-formed and tzdata has a TZif file
 * for it (tzdata is a dependency of every image we ship). */
int auth_validate_time_zone(const char *field, const char *in, err_t **err)
{
    size_t len = strlen(in);
    if (len == 0 || len > 64)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "%s: must be an IANA time zone such as Europe/Berlin", field);
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        bool ok = isalnum((unsigned char)c) || c == '_' || c == '-' || c == '+' ||
                  (c == '/' && i > 0 && in[i - 1] != '/');
        if (!ok)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "%s: must be an IANA time zone such as Europe/Berlin", field);
    }
    if (in[0] == '/' || in[len - 1] == '/' || strstr(in, "..") != NULL)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "%s: must be an IANA time zone such as Europe/Berlin", field);
    char path[128];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", in);
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ELOOP) /* some zones are links to others */
        fd = open(path, O_RDONLY | O_CLOEXEC);
    char magic[4];
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        read(fd, magic, sizeof magic) != 4 || memcmp(magic, "TZif", 4) != 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: unknown time zone \"%s\"", field,
                       in);
    return 0;
}

int auth_validate_display_name(const char *in, err_t **err)
{
    long n = utf8_length(in);
    if (n < 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "display_name: must be valid UTF-8");
    if (n < 1 || n > 64)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "display_name: must be 1 to 64 characters long");
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        /* C0 controls, DEL, and C1 controls (U+0080..U+009F = C2 80..C2 9F). */
        bool c1 = p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F;
        if (*p < 0x20 || *p == 0x7f || c1)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                           "display_name: must not contain control characters");
    }
    if (in[0] == ' ' || in[strlen(in) - 1] == ' ')
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "display_name: must not start or end with a space");
    return 0;
}
