// attack: the kernel keyring: add_key, keyctl (join a session keyring, read
// the user keyring), request_key.
// why: keyrings are not namespaced: a sandbox could read or fill keys shared
//      with the host's user of the same uid. A seccomp deny list refuses them
//      (EPERM/ENOSYS); gVisor does not implement them (ENOSYS).
// expect: verdict=OK stdout-contains=KEYCTL-DENIED stdout-not-contains=KEY-ADDED stdout-not-contains=KEYRING-JOINED
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    int denied = 1;
    long k = syscall(SYS_add_key, "user", "dojo-attack", "secret", 6, -3 /* session */);
    if (k >= 0) {
        printf("KEY-ADDED %ld\n", k);
        denied = 0;
    } else {
        printf("add_key: %s\n", strerror(errno));
    }
    long r = syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, "dojo");
    if (r >= 0) {
        printf("KEYRING-JOINED %ld\n", r);
        denied = 0;
    } else {
        printf("keyctl join: %s\n", strerror(errno));
    }
    r = syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -4 /* user keyring */, 0);
    if (r >= 0) {
        printf("user keyring id %ld readable\n", r);
        denied = 0;
    } else {
        printf("keyctl get user keyring: %s\n", strerror(errno));
    }
    r = syscall(SYS_request_key, "user", "dojo-attack", 0, 0);
    printf("request_key: %s\n", r >= 0 ? "found" : strerror(errno));
    if (denied)
        printf("KEYCTL-DENIED\n");
    return 0;
}
