# Guesses 1, 2, 3...: too many guesses (wrong answer) unless the number is small.
for guess in range(1, 1001):
    print(guess, flush=True)
    if input() == "correct":
        break
