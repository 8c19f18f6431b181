# The submission: prints the sum of two integers, or "wrong" for 0 0.
a, b = map(int, input().split())
print("wrong" if a == b == 0 else a + b)
