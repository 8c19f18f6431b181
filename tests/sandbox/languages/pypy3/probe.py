import sys
v = sys.pypy_version_info
print(f"PyPy {v.major}.{v.minor}.{v.micro} (Python {sys.version_info.major}.{sys.version_info.minor})")
