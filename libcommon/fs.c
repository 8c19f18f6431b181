/* fs.c — small file-system helpers shared by the services. */
#include "fs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int fs_mkdir_p(const char *path, mode_t parent_mode, mode_t mode)
{
    char buf[1024];
    if (strlen(path) >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, parent_mode) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return (mkdir(buf, mode) < 0 && errno != EEXIST) ? -1 : 0;
}
