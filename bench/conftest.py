"""bench/conftest.py — the integration tests' fixtures for the benchmarks here
that run on pytest (a throwaway stack of real services on `./dojo test`'s
PostgreSQL and Redis): the fixtures and hooks of tests/integration/conftest.py
and tests/integration/executor/conftest.py, loaded by path. Run such a
benchmark from the repository root with bench/ as pytest's root:

    /usr/bin/python3 -m pytest -s -q -p no:cacheprovider --rootdir=bench bench/<file>.py
"""
import importlib.util
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests" / "integration"


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


for _module in (_load("dojo_integration_conftest", TESTS / "conftest.py"),
                _load("dojo_executor_conftest", TESTS / "executor" / "conftest.py")):
    for _name, _value in vars(_module).items():
        if hasattr(_value, "_pytestfixturefunction") or _name in (
                "pytest_configure", "pytest_runtest_makereport"):
            globals()[_name] = _value
