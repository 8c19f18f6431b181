// attack: memory bomb in Java — keep 4 MiB arrays, touched, until something
// gives.
// why: must be MLE: the JVM's heap is given the task's memory limit (-Xmx),
//      so the program dies of java.lang.OutOfMemoryError near it, or the
//      driver stops it at the limit first (the JVM's own memory counts too);
//      either way the verdict names memory, not a runtime error.
// limits: memory-kib=131072 cpu-ms=5000 wall-ms=10000
// expect: verdict=MLE
import java.util.ArrayList;
import java.util.Arrays;

public class Main {
    public static void main(String[] args) {
        ArrayList<long[]> keep = new ArrayList<>();
        for (;;) {
            long[] block = new long[512 * 1024];
            Arrays.fill(block, 1L);
            keep.add(block);
        }
    }
}
