// Prints what the catalogue's version says, and the heap the limit allows.
public class Main {
    public static void main(String[] args) {
        System.out.println("OpenJDK " + Runtime.version().feature());
        System.out.println("max-heap-mib " + Runtime.getRuntime().maxMemory() / (1024 * 1024));
    }
}
