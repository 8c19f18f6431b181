// attack: read host files from Java by their host paths: /etc/shadow, the
// repository, the executor's workdir and rootfs folder (paths on stdin).
// why: as read_host_files.py: the sandbox sees only its own read-only
//      language root; /etc/shadow is the rootfs's copy and unreadable, host
//      paths do not exist, and neither the host's machine id nor its shadow
//      hash appears anywhere.
// limits: memory-kib=262144
// input@0: {WORKDIR} {ROOTFS_DIR} {REPO}
// expect: verdict=OK stdout-contains=SHADOW-DENIED stdout-not-contains=HOST-PATH-VISIBLE stdout-not-contains={MACHINE_ID} stdout-not-contains={SHADOW_ROOT_HASH}
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Scanner;

public class Main {
    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        String[] paths = {in.next(), in.next(), in.next(), "/work", "/root/.ssh"};
        try {
            System.out.println("SHADOW-READ " + Files.readString(Path.of("/etc/shadow")));
        } catch (IOException e) {
            System.out.println("SHADOW-DENIED " + e.getClass().getSimpleName());
        }
        for (String p : paths) {
            if (!p.equals("/") && Files.exists(Path.of(p)))
                System.out.println("HOST-PATH-VISIBLE " + p);
            else
                System.out.println("absent " + p);
        }
    }
}
