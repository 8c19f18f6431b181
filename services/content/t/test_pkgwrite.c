/* test_pkgwrite — a task written as a problem package (pkgwrite.c) when its
 * hidden tests' data are blobs: the blob's bytes come through the copy
 * callback into the scratch file, each blob once, and the package is byte
 * for byte the one the same data inline makes; it reads back with the data
 * as a blob again; without a way to read blobs, or when reading one fails,
 * nothing is written. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <zip.h>

#include <cmocka.h>

#include "testkit.h"

/* The stand-in blob store: one blob, its name and bytes. */
#define BLOB_SHA "abababababababababababababababababababababababababababababababab"
#define BLOB_BYTES (100 * 1024) /* over the 64 KiB a file kept inline */

static char blob_data[BLOB_BYTES + 1];
static int copies;

static int copy_blob(void *payload, const char *sha256, int fd, int64_t *size, err_t **err)
{
    assert_string_equal(sha256, BLOB_SHA);
    copies++;
    if (payload != NULL)
        return err_set(err, GRPC_STATUS_NOT_FOUND, "no complete blob");
    assert_int_equal(write(fd, blob_data, BLOB_BYTES), BLOB_BYTES);
    *size = BLOB_BYTES;
    return 0;
}

static int stored;

/* The stand-in store of an import: every large file is the blob. */
static int store_blob(void *payload, const void *data, size_t len, char sha256_out[65], err_t **err)
{
    assert_int_equal(len, BLOB_BYTES);
    assert_memory_equal(data, blob_data, BLOB_BYTES);
    stored++;
    memcpy(sha256_out, BLOB_SHA, 65);
    return 0;
}

/* A task whose hidden tests hold the data inline, or name the blob (the
 * second test's input and answer both). New. */
static json_t *task(bool blob)
{
    json_t *doc =
        doc_of("{\"slug\": \"big-data\", \"title\": \"Big data\", \"difficulty\": \"hard\","
               " \"description\": \"Echo.\", \"languages\": [{\"language\": \"python3\"}],"
               " \"tests\": [{\"name\": \"ex\", \"input\": \"1\\n\", \"expected\": \"1\\n\"}],"
               " \"reference_solutions\": [{\"name\": \"ref\", \"language\": \"python3\","
               " \"code\": \"print(input())\\n\"}]}");
    json_t *tests = json_object_get(doc, "tests");
    for (int i = 0; i < 2; i++) {
        json_t *t = json_pack("{s:s, s:b}", "name", i ? "echo" : "count", "hidden", 1);
        if (blob) {
            json_object_set_new(t, "input_sha256", json_string(BLOB_SHA));
            if (i)
                json_object_set_new(t, "expected_sha256", json_string(BLOB_SHA));
            else
                json_object_set_new(t, "expected", json_string("102400\n"));
        } else {
            json_object_set_new(t, "input", json_string(blob_data));
            json_object_set_new(t, "expected", json_string(i ? blob_data : "102400\n"));
        }
        json_array_append_new(tests, t);
    }
    content_report_t rep;
    content_report_init(&rep, "");
    json_t *norm = NULL;
    int rc = taskjson_normalize(doc, &rep, &norm);
    assert_no_errors(&rep);
    assert_int_equal(rc, 0);
    content_report_free(&rep);
    json_decref(doc);
    return norm;
}

/* A temporary file's name (made, empty). New. */
static char *temp_path(void)
{
    char *path = strdup("/tmp/test-pkgwrite-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    return path;
}

static int scratch_file(void)
{
    char *path = temp_path();
    int fd = open(path, O_RDWR);
    unlink(path);
    free(path);
    assert_true(fd >= 0);
    return fd;
}

/* The file's bytes. New; *len its size. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = NULL;
    size_t cap = 0;
    FILE *out = open_memstream(&buf, &cap);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, out);
    fclose(f);
    fclose(out);
    *len = cap;
    return buf;
}

static void test_blob_tests_export_the_same_bytes_as_their_inline_twin(void **state)
{
    json_t *inline_task = task(false), *blob_task = task(true);
    char *a = temp_path(), *b = temp_path();
    const char *why = NULL;
    err_t *err = NULL;
    assert_int_equal(pkg_write_task(inline_task, a, -1, NULL, NULL, &why, &err), 0);
    int scratch = scratch_file();
    copies = 0;
    assert_int_equal(pkg_write_task(blob_task, b, scratch, copy_blob, NULL, &why, &err), 0);
    assert_null(err);
    assert_int_equal(copies, 1); /* three files, one blob: copied once */
    size_t la = 0, lb = 0;
    char *za = slurp(a, &la), *zb = slurp(b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(za, zb, la);

    /* The blob's files hold its bytes. */
    int zerr = 0;
    zip_t *za_r = zip_open(b, ZIP_RDONLY, &zerr);
    assert_non_null(za_r);
    static const char *const files[] = {"big-data/data/secret/count.in",
                                        "big-data/data/secret/echo.in",
                                        "big-data/data/secret/echo.ans"};
    for (size_t i = 0; i < 3; i++) {
        zip_file_t *zf = zip_fopen(za_r, files[i], 0);
        assert_non_null(zf);
        char *got = calloc(1, BLOB_BYTES + 1);
        assert_int_equal(zip_fread(zf, got, BLOB_BYTES + 1), BLOB_BYTES);
        assert_memory_equal(got, blob_data, BLOB_BYTES);
        free(got);
        zip_fclose(zf);
    }
    zip_discard(za_r);

    /* It reads back with the large files as blobs again (this store names
     * every blob BLOB_SHA), the small answer inline. */
    int fd = open(b, O_RDONLY);
    assert_true(fd >= 0);
    pkg_source_t src = {.fd = fd, .blob = store_blob};
    content_report_t rep;
    content_report_init(&rep, "big-data.zip");
    json_t *doc = NULL, *paths = NULL, *back = NULL;
    stored = 0;
    int rc = pkg_read_task(&src, "big-data.zip", "", &rep, &doc, &paths, &err);
    assert_no_errors(&rep);
    assert_int_equal(rc, 0);
    assert_int_equal(stored, 3);
    assert_int_equal(pkg_normalize(doc, &rep, &back), 0);
    assert_true(json_equal(back, blob_task));
    content_report_free(&rep);
    json_decref(doc);
    json_decref(paths);
    json_decref(back);
    close(fd);
    free(za);
    free(zb);
    close(scratch);
    unlink(a);
    unlink(b);
    free(a);
    free(b);
    json_decref(inline_task);
    json_decref(blob_task);
}

static void test_no_package_without_the_blobs(void **state)
{
    json_t *blob_task = task(true);
    char *path = temp_path();
    unlink(path);
    const char *why = NULL;
    err_t *err = NULL;
    /* No way to read blobs: refused, nothing written. */
    assert_int_equal(pkg_write_task(blob_task, path, -1, NULL, NULL, &why, &err), -1);
    assert_non_null(why);
    assert_null(err);
    assert_int_equal(access(path, F_OK), -1);
    /* A blob that cannot be read: its error comes back. */
    int scratch = scratch_file();
    why = NULL;
    assert_int_equal(pkg_write_task(blob_task, path, scratch, copy_blob, "fail", &why, &err), -1);
    assert_non_null(err);
    assert_int_equal(err->code, GRPC_STATUS_NOT_FOUND);
    assert_int_equal(access(path, F_OK), -1);
    err_free(err);
    close(scratch);
    free(path);
    json_decref(blob_task);
}

/* ---- a test group's own validator flags ---------------------------------- */

/* A package of `files` (path, text pairs, NULL-ended) under "groups/". New
 * zip in *len bytes. */
static char *zip_of(const char *const *files, size_t *len)
{
    pkg_writer_t *w = pkg_writer_new("groups");
    assert_non_null(w);
    for (size_t i = 0; files[i]; i += 2)
        pkg_writer_add_text(w, files[i], files[i + 1]);
    char *zip = NULL;
    const char *why = NULL;
    assert_int_equal(pkg_writer_finish(w, &zip, len, &why), 0);
    return zip;
}

/* The package read and normalised: 0 with *norm (new), or -1 with the
 * problems in `rep` (content_report_free it). */
static int read_zip(const char *zip, size_t len, content_report_t *rep, json_t **norm)
{
    pkg_source_t src = {.zip = zip, .len = len, .fd = -1};
    content_report_init(rep, "groups.zip");
    json_t *doc = NULL, *paths = NULL;
    err_t *err = NULL;
    *norm = NULL;
    int rc = pkg_read_task(&src, "groups.zip", "", rep, &doc, &paths, &err);
    if (rc == 0)
        rc = pkg_normalize(doc, rep, norm);
    json_decref(doc);
    json_decref(paths);
    return rc;
}

/* The flags of the test named `name`, compact ("null" when it has none). */
static const char *flags_of(json_t *norm, const char *name, char *buf, size_t cap)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(norm, "tests"), i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "name")), name))
            continue;
        json_t *f = json_object_get(t, "validator_flags");
        char *d = f ? json_dumps(f, JSON_COMPACT) : strdup("null");
        snprintf(buf, cap, "%s", d);
        free(d);
        return buf;
    }
    fail_msg("no test %s", name);
    return NULL;
}

static const char *const group_files[] = {
    "problem.yaml", "name: Groups\nvalidator_flags: case_sensitive\n",
    "statement/problem.en.md", "Print it.\n",
    "data/testdata.yaml", "output_validator_flags: space_change_sensitive\n",
    "data/sample/1.in", "1\n", "data/sample/1.ans", "1\n",
    /* its own flags */
    "data/secret/loose/testdata.yaml", "output_validator_flags: float_tolerance 1e-3\n",
    "data/secret/loose/a.in", "1\n", "data/secret/loose/a.ans", "0.5\n",
    /* a subgroup inherits them (its file sets something else) */
    "data/secret/loose/deep/test_group.yaml", "accept_score: 1\n",
    "data/secret/loose/deep/b.in", "1\n", "data/secret/loose/deep/b.ans", "0.5\n",
    /* the args form of 2023-07 */
    "data/secret/args/test_group.yaml", "output_validator_args: [float_relative_tolerance, 0.1]\n",
    "data/secret/args/c.in", "1\n", "data/secret/args/c.ans", "2\n",
    /* the root's flags again: the checker's */
    "data/secret/same/testdata.yaml", "output_validator_flags: space_change_sensitive\n",
    "data/secret/same/d.in", "1\n", "data/secret/same/d.ans", "2\n",
    /* none at all */
    "data/secret/none/testdata.yaml", "output_validator_flags: \"\"\n",
    "data/secret/none/e.in", "1\n", "data/secret/none/e.ans", "2\n",
    NULL,
};

static void test_a_groups_own_flags_go_to_its_tests_and_come_back_from_the_export(void **state)
{
    size_t len = 0;
    char *zip = zip_of(group_files, &len);
    content_report_t rep;
    json_t *norm = NULL;
    assert_int_equal(read_zip(zip, len, &rep, &norm), 0);
    assert_no_errors(&rep);
    content_report_free(&rep);
    char buf[256];
    /* problem.yaml's validator_flags first, as the format passes them */
    assert_string_equal(flags_of(norm, "secret.loose.a", buf, sizeof buf),
                        "[\"case_sensitive\",\"float_tolerance\",\"1e-3\"]");
    assert_string_equal(flags_of(norm, "secret.loose.deep.b", buf, sizeof buf),
                        "[\"case_sensitive\",\"float_tolerance\",\"1e-3\"]");
    assert_string_equal(flags_of(norm, "secret.args.c", buf, sizeof buf),
                        "[\"case_sensitive\",\"float_relative_tolerance\",\"0.10000000000000001\"]");
    assert_string_equal(flags_of(norm, "secret.same.d", buf, sizeof buf), "null");
    assert_string_equal(flags_of(norm, "secret.none.e", buf, sizeof buf), "[\"case_sensitive\"]");
    assert_string_equal(flags_of(norm, "1", buf, sizeof buf), "null");
    char *checker = json_dumps(json_object_get(norm, "checker"), JSON_COMPACT);
    assert_string_equal(checker, "{\"kind\":\"default_validator\",\"case_sensitive\":true,"
                                 "\"space_change_sensitive\":true}");
    free(checker);

    /* The export writes each group's flags to its testdata.yaml and reads
     * back to the same task, with dojo.json and without it. */
    char *path = temp_path();
    const char *why = NULL;
    err_t *err = NULL;
    assert_int_equal(pkg_write_task(norm, path, -1, NULL, NULL, &why, &err), 0);
    size_t elen = 0;
    char *exported = slurp(path, &elen);
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *zs = zip_source_buffer_create(exported, elen, 0, &ze);
    zip_t *za = zip_open_from_source(zs, ZIP_RDONLY, &ze);
    assert_non_null(za);
    zip_file_t *zf = zip_fopen(za, "groups/data/secret/loose/testdata.yaml", 0);
    assert_non_null(zf);
    char td[256] = "";
    assert_true(zip_fread(zf, td, sizeof td - 1) > 0);
    zip_fclose(zf);
    assert_string_equal(td, "output_validator_flags: \"case_sensitive float_tolerance 1e-3\"\n");
    assert_null(zip_fopen(za, "groups/data/secret/same/testdata.yaml", 0));
    /* A one-character name gets a prefix (the format wants two). */
    assert_true(zip_name_locate(za, "groups/data/sample/t-1.in", 0) >= 0);
    zip_discard(za);
    zip_error_fini(&ze);
    json_t *back = NULL;
    assert_int_equal(read_zip(exported, elen, &rep, &back), 0);
    assert_no_errors(&rep);
    content_report_free(&rep);
    assert_true(json_equal(back, norm));
    json_decref(back);

    int zerr = 0;
    za = zip_open(path, 0, &zerr);
    assert_non_null(za);
    assert_int_equal(zip_delete(za, (zip_uint64_t)zip_name_locate(za, "groups/dojo.json", 0)), 0);
    assert_int_equal(zip_close(za), 0);
    free(exported);
    exported = slurp(path, &elen);
    assert_int_equal(read_zip(exported, elen, &rep, &back), 0);
    content_report_free(&rep);
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(norm, "tests"), i, t)
    {
        json_t *f = json_object_get(t, "validator_flags");
        json_t *g = json_object_get(json_array_get(json_object_get(back, "tests"), i),
                                    "validator_flags");
        assert_true(f ? g && json_equal(f, g) : g == NULL);
    }
    json_decref(back);
    free(exported);
    unlink(path);
    free(path);
    json_decref(norm);
    free(zip);
}

/* A group's file that sets only its flags still inherits the root's
 * accept_score (each key on its own). */
static void test_a_groups_flags_file_keeps_the_inherited_weight(void **state)
{
    static const char *const files[] = {
        "problem.yaml", "name: Groups\ntype: scoring\n",
        "statement/problem.en.md", "Print it.\n",
        "data/testdata.yaml", "accept_score: 5\n",
        "data/sample/1.in", "1\n", "data/sample/1.ans", "1\n",
        "data/secret/g1/testdata.yaml", "output_validator_flags: case_sensitive\n",
        "data/secret/g1/a.in", "1\n", "data/secret/g1/a.ans", "1\n",
        NULL,
    };
    size_t len = 0;
    char *zip = zip_of(files, &len);
    content_report_t rep;
    json_t *norm = NULL;
    assert_int_equal(read_zip(zip, len, &rep, &norm), 0);
    assert_no_errors(&rep);
    content_report_free(&rep);
    json_t *t = json_array_get(json_object_get(norm, "tests"), 1);
    assert_string_equal(json_string_value(json_object_get(t, "name")), "secret.g1.a");
    assert_int_equal(json_integer_value(json_object_get(t, "weight")), 5);
    char buf[128];
    assert_string_equal(flags_of(norm, "secret.g1.a", buf, sizeof buf), "[\"case_sensitive\"]");
    json_decref(norm);
    free(zip);
}

static void test_a_groups_flags_the_default_validator_does_not_know_are_refused_naming_its_file(
    void **state)
{
    static const char *const files[] = {
        "problem.yaml", "name: Groups\n",
        "statement/problem.en.md", "Print it.\n",
        "data/sample/1.in", "1\n", "data/sample/1.ans", "1\n",
        "data/secret/g1/test_group.yaml", "output_validator_args: [float_tolerance]\n",
        "data/secret/g1/a.in", "1\n", "data/secret/g1/a.ans", "1\n",
        "data/secret/g1/b.in", "1\n", "data/secret/g1/b.ans", "1\n",
        NULL,
    };
    size_t len = 0;
    char *zip = zip_of(files, &len);
    content_report_t rep;
    json_t *norm = NULL;
    assert_int_equal(read_zip(zip, len, &rep, &norm), -1);
    assert_one_error(&rep, "data/secret/g1/test_group.yaml",
                     "float_tolerance: must be followed by a number >= 0");
    content_report_free(&rep);
    free(zip);
}

/* ---- input validators --------------------------------------------------- */

/* The text of `path` in the zip `data` (len bytes). New; NULL when absent. */
static char *zip_text(const char *data, size_t len, const char *path)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *zs = zip_source_buffer_create(data, len, 0, &ze);
    zip_t *za = zip_open_from_source(zs, ZIP_RDONLY, &ze);
    assert_non_null(za);
    char *out = NULL;
    zip_file_t *zf = zip_fopen(za, path, 0);
    if (zf) {
        out = calloc(1, 65536);
        assert_true(zip_fread(zf, out, 65535) >= 0);
        zip_fclose(zf);
    }
    zip_discard(za);
    zip_error_fini(&ze);
    return out;
}

static void assert_same_task(json_t *a, json_t *b)
{
    if (!json_equal(a, b)) {
        char *x = json_dumps(a, JSON_COMPACT);
        char *y = json_dumps(b, JSON_COMPACT);
        printf("  want %s\n  got  %s\n", x ? x : "null", y ? y : "null");
        free(x);
        free(y);
    }
    assert_true(json_equal(a, b));
}

/* `norm` exported, then read back (with dojo.json or without): the task
 * read. New; the export's bytes in *zip (free them). */
static json_t *export_and_read(json_t *norm, bool drop_sidecar, char **zip, size_t *zlen)
{
    char *path = temp_path();
    const char *why = NULL;
    err_t *err = NULL;
    assert_int_equal(pkg_write_task(norm, path, -1, NULL, NULL, &why, &err), 0);
    if (drop_sidecar) {
        int zerr = 0;
        zip_t *za = zip_open(path, 0, &zerr);
        assert_non_null(za);
        const char *slug = json_string_value(json_object_get(norm, "slug"));
        char name[128];
        snprintf(name, sizeof name, "%s/dojo.json", slug);
        assert_int_equal(zip_delete(za, (zip_uint64_t)zip_name_locate(za, name, 0)), 0);
        assert_int_equal(zip_close(za), 0);
    }
    *zip = slurp(path, zlen);
    unlink(path);
    free(path);
    content_report_t rep;
    json_t *back = NULL;
    int rc = read_zip(*zip, *zlen, &rep, &back);
    if (rc < 0)
        report_print(&rep);
    assert_int_equal(rc, 0);
    content_report_free(&rep);
    return back;
}

static void test_input_validators_are_kept_with_the_task_and_exported_where_they_came_from(
    void **state)
{
    static const char *const files[] = {
        "problem.yaml", "name: Checked\n",
        "statement/problem.en.md", "Print it.\n",
        "data/testdata.yaml", "input_validator_flags:\n  range: --max 100\n",
        "data/sample/one.in", "1\n", "data/sample/one.ans", "1\n",
        "input_format_validators/range/range.py", "import sys\nsys.exit(42)\n",
        "input_format_validators/range/util.py", "X = 1\n",
        "input_validators/format.c", "int main(void) { return 42; }\n",
        "input_validator/__main__.py", "raise SystemExit(42)\n",
        NULL,
    };
    size_t len = 0;
    char *zip = zip_of(files, &len);
    content_report_t rep;
    json_t *norm = NULL;
    int rc = read_zip(zip, len, &rep, &norm);
    assert_no_errors(&rep);
    assert_int_equal(rc, 0);
    content_report_free(&rep);
    char *ivs = json_dumps(json_object_get(norm, "input_validators"), JSON_COMPACT);
    assert_string_equal(
        ivs, "[{\"path\":\"input_format_validators/range\",\"language\":\"python3\",\"files\":"
             "[{\"name\":\"range.py\",\"content\":\"import sys\\nsys.exit(42)\\n\"},"
             "{\"name\":\"util.py\",\"content\":\"X = 1\\n\"}],\"flags\":[\"--max\",\"100\"]},"
             "{\"path\":\"input_validator\",\"language\":\"python3\",\"files\":"
             "[{\"name\":\"__main__.py\",\"content\":\"raise SystemExit(42)\\n\"}]},"
             "{\"path\":\"input_validators/format.c\",\"language\":\"c\",\"files\":"
             "[{\"name\":\"format.c\",\"content\":\"int main(void) { return 42; }\\n\"}]}]");
    free(ivs);

    /* Each where it came from, the flags in data/testdata.yaml; read back
     * to the same task with dojo.json and without it. */
    for (int drop = 0; drop < 2; drop++) {
        char *exported = NULL;
        size_t elen = 0;
        json_t *back = export_and_read(norm, drop, &exported, &elen);
        assert_same_task(norm, back);
        char *td = zip_text(exported, elen, "groups/data/testdata.yaml");
        assert_non_null(td);
        assert_string_equal(td, "input_validator_flags:\n  \"range\": \"--max 100\"\n");
        free(td);
        static const char *const paths[] = {"groups/input_format_validators/range/range.py",
                                            "groups/input_format_validators/range/util.py",
                                            "groups/input_validators/format.c",
                                            "groups/input_validator/__main__.py", NULL};
        for (size_t i = 0; paths[i]; i++) {
            char *t = zip_text(exported, elen, paths[i]);
            assert_non_null(t);
            free(t);
        }
        json_decref(back);
        free(exported);
    }

    /* What the folders cannot say (a flag with a space, files in the
     * author's order, the same flags for all) comes back from dojo.json. */
    json_t *first = json_array_get(json_object_get(norm, "input_validators"), 0);
    json_t *fl = json_object_get(first, "files");
    json_t *swapped = json_pack("[O,O]", json_array_get(fl, 1), json_array_get(fl, 0));
    json_object_set_new(first, "files", swapped);
    json_object_set_new(first, "flags", json_pack("[s,s]", "--name", "two words"));
    json_t *last = json_array_get(json_object_get(norm, "input_validators"), 2);
    json_object_set_new(last, "flags", json_pack("[s,s]", "--name", "two words"));
    char *exported = NULL;
    size_t elen = 0;
    json_t *back = export_and_read(norm, false, &exported, &elen);
    assert_same_task(norm, back);
    json_decref(back);
    free(exported);

    json_decref(norm);
    free(zip);
}

int main(void)
{
    for (size_t i = 0; i < BLOB_BYTES; i++)
        blob_data[i] = i % 61 == 60 ? '\n' : (char)('a' + (i * 7919 % 26));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blob_tests_export_the_same_bytes_as_their_inline_twin),
        cmocka_unit_test(test_no_package_without_the_blobs),
        cmocka_unit_test(test_a_groups_own_flags_go_to_its_tests_and_come_back_from_the_export),
        cmocka_unit_test(test_a_groups_flags_file_keeps_the_inherited_weight),
        cmocka_unit_test(
            test_a_groups_flags_the_default_validator_does_not_know_are_refused_naming_its_file),
        cmocka_unit_test(
            test_input_validators_are_kept_with_the_task_and_exported_where_they_came_from),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
