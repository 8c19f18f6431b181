# attack: hard links to files the sandbox must not change or keep: the plan,
# the inputs, the driver, /etc/passwd, python itself, the program's source —
# made in every writable folder, then written through; also link(2) through
# /proc/self/fd and O_TMPFILE + linkat.
# why: writable folders are separate filesystems (EXDEV) and the targets
#      are not ours (protected_hardlinks / read-only): no link to a judge or
#      host file exists, nothing is written.
# expect: verdict=OK stdout-not-contains=WROTE stdout-not-contains=LINKED-JUDGE stdout-contains=CHECKED
import os
import sys

targets = ["/judge/plan", "/judge/in/0", "/proc/1/exe", "/etc/passwd", "/etc/shadow",
           "/usr/bin/python3", os.path.abspath(sys.argv[0])]
for d in ("/tmp", "/dev/shm", "/var/tmp", "/judge"):
    for i, t in enumerate(targets):
        link = f"{d}/hard{i}"
        try:
            os.link(t, link)
        except OSError as e:
            print("no link", t, "in", d, e.strerror)
            continue
        print("LINKED-JUDGE" if t.startswith(("/judge", "/proc")) else "linked", t, "as", link)
        try:
            with open(link, "ab") as f:
                f.write(b"PWNED")
            print("WROTE through", link)
        except OSError as e:
            print("cannot write", link, e.strerror)
print("CHECKED")
