import platform
print(f"CPython {platform.python_version()}")
