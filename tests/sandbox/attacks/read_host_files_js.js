// attack: read host files from JavaScript by their host paths: /etc/shadow,
// the repository, the executor's workdir and rootfs folder (paths on stdin).
// why: as read_host_files.py: the sandbox sees only its own read-only
//      language root; /etc/shadow is the rootfs's copy and unreadable, host
//      paths do not exist, and neither the host's machine id nor its shadow
//      hash appears anywhere.
// input@0: {WORKDIR} {ROOTFS_DIR} {REPO}
// expect: verdict=OK stdout-contains=SHADOW-DENIED stdout-not-contains=HOST-PATH-VISIBLE stdout-not-contains={MACHINE_ID} stdout-not-contains={SHADOW_ROOT_HASH}
const fs = require("fs");
const [workdir, rootfs, repo] = fs.readFileSync(0, "utf8").trim().split(/\s+/);
try {
  console.log("SHADOW-READ " + fs.readFileSync("/etc/shadow", "utf8"));
} catch (e) {
  console.log("SHADOW-DENIED " + e.code);
}
for (const p of [workdir, rootfs, repo, "/work", "/root/.ssh"]) {
  if (p && p !== "/" && fs.existsSync(p)) console.log("HOST-PATH-VISIBLE " + p);
  else console.log("absent " + p);
}
