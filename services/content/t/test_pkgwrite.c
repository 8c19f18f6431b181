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

int main(void)
{
    for (size_t i = 0; i < BLOB_BYTES; i++)
        blob_data[i] = i % 61 == 60 ? '\n' : (char)('a' + (i * 7919 % 26));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blob_tests_export_the_same_bytes_as_their_inline_twin),
        cmocka_unit_test(test_no_package_without_the_blobs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
