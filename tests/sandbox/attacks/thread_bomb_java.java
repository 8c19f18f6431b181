// attack: thread bomb in Java — start sleeping threads until the JVM cannot
// make another.
// why: the process and thread limit (nproc) stops it: the driver ends the
//      test (PL) or the JVM gives up on a thread it cannot create and exits
//      with an error. A runtime error, not a memory verdict (the JVM's
//      message says OutOfMemoryError but names threads), and the host stays
//      clean. Under gVisor the threads' stacks (-Xss64m, counted in 2 MiB
//      units) reach the memory limit before the thread limit: MLE there.
// limits: cpu-ms=5000 wall-ms=10000 memory-kib=262144
// expect: verdict=RE
// expect[runsc]: verdict=MLE|RE
public class Main {
    public static void main(String[] args) throws Exception {
        for (int i = 0;; i++) {
            Thread t = new Thread(() -> {
                try {
                    Thread.sleep(60_000);
                } catch (InterruptedException e) {
                    // ends with the test
                }
            });
            t.setDaemon(true);
            t.start();
            if (i % 16 == 0)
                System.out.println("threads " + i);
        }
    }
}
