/* fs.h — small file-system helpers shared by the services. */
#ifndef DOJO_FS_H
#define DOJO_FS_H

#include <sys/types.h>

/** mkdir -p: creates the missing directories of `path`, the parents with
 * `parent_mode` and the last one with `mode` (an existing one is left as it
 * is). Returns 0, or -1 with errno set. Paths longer than 1023 bytes are
 * ENAMETOOLONG. */
int fs_mkdir_p(const char *path, mode_t parent_mode, mode_t mode);

#endif
