"""The interactor of a guessing game (the problem package format's
interactive validation): the input file holds the secret number in 1..1000;
the program prints guesses, one per line, and reads "lower", "higher" or
"correct"; at most 10 guesses. Exit 42 when guessed, 43 otherwise, with a
judge message (and a team message) in the feedback directory."""
import sys

input_file, answer_file, feedback_dir = sys.argv[1:4]
secret = int(open(input_file).read())


def verdict(code, judge, team=None):
    with open(feedback_dir + "judgemessage.txt", "w") as f:
        f.write(judge + "\n")
    if team:
        with open(feedback_dir + "teammessage.txt", "w") as f:
            f.write(team + "\n")
    sys.exit(code)


for guess_no in range(1, 11):
    line = sys.stdin.readline()
    if not line:
        verdict(43, f"the program stopped after {guess_no - 1} guesses", "no guess")
    try:
        guess = int(line)
    except ValueError:
        verdict(43, f"guess {guess_no}: {line.strip()[:20]!r} is not a number", "not a number")
    if guess == secret:
        print("correct", flush=True)
        verdict(42, f"guessed in {guess_no}")
    print("lower" if secret < guess else "higher", flush=True)
verdict(43, "no more guesses after 10", "too many guesses")
