"""A broken output validator: it crashes on every test (a judge error, never
the learner's wrong answer)."""
import sys

raise RuntimeError("secret validator internals: " + open(sys.argv[2]).read())
