/* text.c — see text.h. */
#include "text.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

size_t text_utf8_seq(const unsigned char *s, size_t left)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, min = 0x10000;
    else
        return 0;
    if (left < n)
        return 0;
    unsigned cp = c & (0xff >> (n + 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

long text_utf8_length(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);
    long count = 0;
    while (left > 0) {
        size_t n = text_utf8_seq(p, left);
        if (n == 0)
            return -1;
        p += n;
        left -= n;
        count++;
    }
    return count;
}

bool text_has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

int text_check_time_zone(const char *field, const char *in, err_t **err)
{
    size_t len = strlen(in);
    bool ok = len > 0 && len <= 64 && in[0] != '/' && in[len - 1] != '/' && !strstr(in, "..");
    for (size_t i = 0; ok && i < len; i++) {
        char c = in[i];
        ok = isalnum((unsigned char)c) || c == '_' || c == '-' || c == '+' ||
             (c == '/' && i > 0 && in[i - 1] != '/');
    }
    if (!ok)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT,
                       "%s: must be an IANA time zone such as Europe/Berlin", field);
    char path[128];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", in);
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    char magic[4];
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        read(fd, magic, sizeof magic) != 4 || memcmp(magic, "TZif", 4) != 0)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: unknown time zone \"%s\"", field,
                       in);
    return 0;
}

int text_check_display_name(const char *in, err_t **err)
{
    long n = text_utf8_length(in);
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
