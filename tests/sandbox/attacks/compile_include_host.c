// attack: read files at compile time: #include the rootfs's /etc/shadow, the
// compiler's own environment, the host's machine id (by its host path) and
// the repository on the host, so that the compiler's error output leaks them.
// why: compilation runs sandboxed too: /etc/shadow is unreadable
//      (permission denied), host paths do not exist; the compile fails and its
//      output holds no host secret (the harness also checks for the canary,
//      the machine id and the host's shadow hash).
// expect-run: compile=fail end=COMPILE_ERROR compile-output-not-contains={MACHINE_ID} compile-output-not-contains={CANARY} compile-output-not-contains={SHADOW_ROOT_HASH} compile-output-not-contains=DOJO_
#include "/proc/self/environ"
#include "/proc/1/environ"
#include "/etc/shadow"
#include "/work/shared/DESIGN.md"
int main(void) { return 0; }
