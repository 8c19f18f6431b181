"""sql_migrations: compiles a folder of SQL migrations into a cc_library.

Usage, in services/auth/BUILD:

    load("//tools/embed:defs.bzl", "sql_migrations")

    sql_migrations(
        name = "migrations",
        srcs = glob(["migrations/*.sql"]),
        prefix = "auth",
    )

    cc_binary(name = "auth", srcs = [...], deps = [":migrations", "//libcommon"])

and in C:

    #include "services/auth/migrations.h"   // <package path>/<name>.h
    ...
    pg_migrate(pool, "auth", auth_migrations, auth_migrations_count, &err);

The header declares `const pg_migration_t <prefix>_migrations[]` (sorted by
file base name, each entry named by it, e.g. "001_users.sql") and
`const size_t <prefix>_migrations_count`. Migration files are trusted static
SQL: see pg_migrate in libcommon/pg.h for what they may contain.
"""

def sql_migrations(name, srcs, prefix, visibility = None, testonly = False):
    """Embeds `srcs` (.sql files) as <prefix>_migrations in cc_library `name`.

    Args:
      name: the cc_library; its header is `<package>/<name>.h`.
      srcs: the .sql files; their base names must be unique and sort in the
        order they are to be applied (001_..., 002_...).
      prefix: a C identifier prefixed to the two symbols; the service name.
      visibility: of the cc_library.
      testonly: passed to both rules.
    """
    native.genrule(
        name = name + "_embed",
        srcs = srcs,
        outs = [name + ".c", name + ".h"],
        cmd = "$(location //tools/embed:embed_sql) --header $(RULEDIR)/%s.h $(RULEDIR)/%s.c %s $(SRCS)" % (name, name, prefix),
        tools = ["//tools/embed:embed_sql"],
        testonly = testonly,
        visibility = ["//visibility:private"],
    )
    native.cc_library(
        name = name,
        srcs = [name + ".c"],
        hdrs = [name + ".h"],
        deps = ["//libcommon"],
        testonly = testonly,
        visibility = visibility,
    )

def embedded_files(name, srcs, prefix, ext, visibility = None, testonly = False):
    """Embeds `srcs` (data files ending in .`ext`) in cc_library `name`.

    The header `<package>/<name>.h` declares `const embed_file_t
    <prefix>_files[]` (tools/embed/embed.h: base name and text, sorted by
    base name) and `const size_t <prefix>_files_count`.

    Args:
      name: the cc_library.
      srcs: the files; their base names must be unique.
      prefix: a C identifier prefixed to the two symbols.
      ext: the extension every file has, without the dot ("json").
      visibility: of the cc_library.
      testonly: passed to both rules.
    """
    native.genrule(
        name = name + "_embed",
        srcs = srcs,
        outs = [name + ".c", name + ".h"],
        cmd = "$(location //tools/embed:embed_sql) --files %s --header $(RULEDIR)/%s.h $(RULEDIR)/%s.c %s $(SRCS)" % (ext, name, name, prefix),
        tools = ["//tools/embed:embed_sql"],
        testonly = testonly,
        visibility = ["//visibility:private"],
    )
    native.cc_library(
        name = name,
        srcs = [name + ".c"],
        hdrs = [name + ".h"],
        deps = ["//tools/embed:embed_hdr"],
        testonly = testonly,
        visibility = visibility,
    )
