"""An output validator in Python that takes validator_flags ("tolerance T"),
imports a module of its own (feedback.py, next to it) and writes both feedback
files: the judge message for the jury, the team message for the learner."""
import sys

import feedback

input_file, answer_file, feedback_dir, *flags = sys.argv[1:]
tolerance = float(flags[flags.index("tolerance") + 1]) if "tolerance" in flags else 0.0
with open(input_file) as f:
    a, b = map(int, f.read().split())
with open(answer_file) as f:
    want = float(f.read())
got = sys.stdin.read().strip()
try:
    value = float(got)
except ValueError:
    feedback.reject(feedback_dir, f"{got!r} is not a number", "print a number")
if abs(value - want) > tolerance:
    feedback.reject(feedback_dir, f"{a}+{b}: expected {want} within {tolerance}, got {value}",
                    "off by more than the tolerance")
feedback.accept(feedback_dir, f"flags {' '.join(flags)}")
