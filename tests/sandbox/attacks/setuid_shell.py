# attack: setuid binaries: copy a shell (dash, which keeps a raised euid) and
# python into /tmp, chmod u+s, run them; run the rootfs's own setuid-root
# binaries (mount, su, passwd, newgrp, chfn) in ways that only work as root.
# why: the copies belong to the sandbox user (nothing gained), /tmp may be
#      nosuid/noexec, and no_new_privs + the user namespace make setuid-root
#      binaries run with the caller's identity: the effective uid never
#      changes and no capability appears; no tmpfs gets mounted by `mount`.
# limits: output-kib=16384
# expect: verdict=OK stdout-contains=NO-PRIVILEGE-GAINED stdout-contains=COPIES-MADE stdout-not-contains=GAINED-ROOT
import os
import subprocess

me = os.geteuid()
print("euid before", me)


def copy(src, dst):
    with open(src, "rb") as f, open(dst, "wb") as g:
        g.write(f.read())
    os.chmod(dst, 0o4755)


gained = False
copies = 0
probe = "import os; print('EUID', os.geteuid(), 'CAPEFF', [l for l in open('/proc/self/status') if l.startswith('CapEff')][0].split()[1])"
for src, dst, argv in [("/bin/dash", "/tmp/sh", ["/tmp/sh", "-c", "python3 -c \"%s\"" % probe]),
                       ("/usr/bin/python3", "/tmp/py", ["/tmp/py", "-c", probe])]:
    try:
        copy(src, dst)
        copies += 1
        st = os.stat(dst)
        print("copied", dst, "mode", oct(st.st_mode), "owner", st.st_uid)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=5)
        print(dst, "->", r.returncode, r.stdout.strip(), r.stderr.strip()[:200])
        for line in r.stdout.splitlines():
            parts = line.split()
            if parts[:1] == ["EUID"] and (int(parts[1]) != me or int(parts[3], 16) != 0):
                gained = True
                print("GAINED-ROOT (or another uid/capabilities):", line)
    except OSError as e:
        print(dst, "failed:", e)
if copies == 2:
    print("COPIES-MADE")  # (the file-size limit must leave room: output-kib above)
os.makedirs("/tmp/mnt", exist_ok=True)
before = os.stat("/tmp/mnt").st_dev
for argv in (["/usr/bin/mount", "-t", "tmpfs", "none", "/tmp/mnt"], ["/bin/mount", "--bind", "/", "/tmp/mnt"],
             ["/usr/bin/su", "-c", "id -u"], ["/usr/bin/newgrp", "root"], ["/usr/bin/chfn", "-f", "x"]):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=5, stdin=subprocess.DEVNULL)
        print(argv[0], "->", r.returncode, (r.stdout + r.stderr).strip()[:200])
        if argv[0].endswith("su") and r.stdout.strip() == "0":
            gained = True
            print("GAINED-ROOT via su")
    except (OSError, subprocess.TimeoutExpired) as e:
        print(argv[0], "failed:", e)
if os.stat("/tmp/mnt").st_dev != before:
    gained = True
    print("GAINED-ROOT: mount succeeded")
print("euid after", os.geteuid())
if not gained and os.geteuid() == me:
    print("NO-PRIVILEGE-GAINED")
