# Makes one guess and then computes forever: the time limit.
print(500, flush=True)
while True:
    pass
