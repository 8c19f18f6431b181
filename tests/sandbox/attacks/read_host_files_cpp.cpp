// attack: read host files from C++ by their host paths: /etc/shadow, the
// repository, the executor's workdir and rootfs folder (paths on stdin).
// why: as read_host_files.py: the sandbox sees only its own read-only
//      language root; /etc/shadow is the rootfs's copy and unreadable, host
//      paths do not exist, and neither the host's machine id nor its shadow
//      hash appears anywhere.
// input@0: {WORKDIR} {ROOTFS_DIR} {REPO}
// expect: verdict=OK stdout-contains=SHADOW-DENIED stdout-not-contains=HOST-PATH-VISIBLE stdout-not-contains={MACHINE_ID} stdout-not-contains={SHADOW_ROOT_HASH}
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <sys/stat.h>

int main()
{
    std::string workdir, rootfs, repo;
    std::cin >> workdir >> rootfs >> repo;
    std::ifstream shadow("/etc/shadow");
    if (shadow) {
        std::stringstream s;
        s << shadow.rdbuf();
        std::cout << "SHADOW-READ " << s.str() << '\n';
    } else {
        std::cout << "SHADOW-DENIED\n";
    }
    for (const std::string &p : {workdir, rootfs, repo, std::string("/work"), std::string("/root/.ssh")}) {
        struct stat st;
        if (stat(p.c_str(), &st) == 0 && p != "/")
            std::cout << "HOST-PATH-VISIBLE " << p << '\n';
        else
            std::cout << "absent " << p << '\n';
    }
}
