"""The feedback files of the problem package format, and its exit codes."""
import os
import sys


def _write(feedback_dir, name, text):
    with open(os.path.join(feedback_dir, name), "w") as f:
        f.write(text + "\n")


def reject(feedback_dir, judge, team):
    _write(feedback_dir, "judgemessage.txt", judge)
    _write(feedback_dir, "teammessage.txt", team)
    sys.exit(43)


def accept(feedback_dir, judge):
    _write(feedback_dir, "judgemessage.txt", judge)
    sys.exit(42)
