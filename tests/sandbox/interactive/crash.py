# Crashes before guessing: a runtime error, whatever the interactor says.
raise SystemExit(3)
