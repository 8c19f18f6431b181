// main in a class that is neither public nor called Main; a comment naming
// "public class Fake" and a string holding "class Main {" must not count.
import java.util.Scanner;

class Adder {
    /* public class Fake { public static void main(String[] a) {} } */
    static String decoy = "class Main { public static void main(String[] a) {} }";
    static long add(long a, long b) { return a + b; }
}

final class Solver {
    public static void main(String[] args) {
        Scanner sc = new Scanner(System.in);
        System.out.println(Adder.add(sc.nextLong(), sc.nextLong()));
    }
}
