# The sum, from a fork of the language's zygote (its command line is the
# zygote's, /judge/zygote.py): a zygote that dies before its first test, whose
# tests then run cold and pass all the same, prints no sum here.
a, b = map(int, input().split())
cmdline = open("/proc/self/cmdline", "rb").read().split(b"\0")
print(a + b if b"/judge/zygote.py" in cmdline else f"not in the zygote: {cmdline!r}")
