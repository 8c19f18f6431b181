// The way problem packages and learners often write Java: a public class that
// is not Main (javac wants it in Solution.java), and more classes than a few
// (each nested, local and anonymous class is a class file of its own).
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.function.IntBinaryOperator;

public class Solution {
    static class A { int v(int x) { return x; } }
    static class B extends A { }
    static class C extends B { }
    static class D extends C { }
    static class E extends D { }
    static class F extends E { }
    static class G extends F { }
    static class H extends G { }
    static class I extends H { }
    static class J extends I { }
    interface Op { int apply(int a, int b); }
    enum Kind { SUM }
    record Pair(int a, int b) { }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String[] parts = in.readLine().trim().split("\\s+");
        Pair p = new Pair(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]));
        Op op = new Op() { public int apply(int a, int b) { return a + b; } };
        IntBinaryOperator check = (a, b) -> a + b;
        int sum = new J().v(op.apply(p.a(), p.b()));
        if (sum != check.applyAsInt(p.a(), p.b()) || Kind.SUM.ordinal() != 0)
            throw new AssertionError();
        System.out.println(sum);
    }
}
