# attack: a 2 GiB sparse file in /tmp (seek + write one byte; ftruncate too).
# why: RLIMIT_FSIZE must refuse files larger than the limit even when they
#      occupy no space (Python ignores SIGXFSZ, so the write fails with EFBIG).
# limits: output-kib=64
# expect: verdict=OK stdout-contains=BLOCKED-SEEK stdout-contains=BLOCKED-TRUNCATE stdout-not-contains=CREATED
import os

path = "/tmp/sparse"
try:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.lseek(fd, 2 << 30, os.SEEK_SET)
    os.write(fd, b"x")
    print("CREATED-SEEK size", os.fstat(fd).st_size)
except OSError as e:
    print("BLOCKED-SEEK", e.errno, os.strerror(e.errno))
try:
    fd = os.open(path + "2", os.O_WRONLY | os.O_CREAT, 0o600)
    os.ftruncate(fd, 2 << 30)
    print("CREATED-TRUNCATE size", os.fstat(fd).st_size)
except OSError as e:
    print("BLOCKED-TRUNCATE", e.errno, os.strerror(e.errno))
