/* validate.c — input rules for account fields, with messages that name the
 * field and say what was expected; role names. Pure functions, unit-tested
 * in t/. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "libcommon/cleanup.h"
#include "libcommon/text.h"

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
    long n = text_utf8_length(in);
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
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "%s: must not be one character repeated",
                       field);
    return 0;
}

/* ------------------------------------------------------------------------
 * Roles
 * ------------------------------------------------------------------------ */

int auth_role_from_text(const char *role)
{
    if (!strcmp(role, "admin"))
        return DOJO__COMMON__V1__ROLE__ROLE_ADMIN;
    if (!strcmp(role, "author"))
        return DOJO__COMMON__V1__ROLE__ROLE_AUTHOR;
    if (!strcmp(role, "teacher"))
        return DOJO__COMMON__V1__ROLE__ROLE_TEACHER;
    return DOJO__COMMON__V1__ROLE__ROLE_LEARNER;
}

const char *auth_role_text(int role)
{
    switch (role) {
    case DOJO__COMMON__V1__ROLE__ROLE_ADMIN:
        return "admin";
    case DOJO__COMMON__V1__ROLE__ROLE_AUTHOR:
        return "author";
    case DOJO__COMMON__V1__ROLE__ROLE_TEACHER:
        return "teacher";
    case DOJO__COMMON__V1__ROLE__ROLE_LEARNER:
        return "learner";
    default:
        return NULL;
    }
}
