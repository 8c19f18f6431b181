// attack: a compile-time bomb: #include "/dev/zero" makes the preprocessor read
// an endless file (then /dev/urandom, in case the first is refused).
// why: compilation has its own wall clock and memory limit: it is stopped
//      within the compile limits, reported as a compile error (never a hung
//      executor or an internal error), and leaves nothing behind.
// expect-run: compile=fail end=COMPILE_ERROR total-wall-ms-max=40000
#include "/dev/zero"
#include "/dev/urandom"
int main(void) { return 0; }
