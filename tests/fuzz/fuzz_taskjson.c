/* fuzz_taskjson — the task-file validator (services/content taskjson.c and
 * the kit of check.c) on any bytes: it must report, never crash, leak or
 * misbehave. A document it accepts must also be a fixed point: normalising
 * the normalised form, the exported (pretty) text read back, or the Task
 * message made from it (taskmsg.c, as TaskInput.task comes) turned back into
 * the file form, all give the same canonical text, or hashes, exports and
 * the API would disagree. The messages built from it (Task, TaskView,
 * JudgeBundle, solutions) must pack.
 *
 * The messages are built in an RPC call's arena: this harness stands in for
 * the RPC layer with a call that is only an arena (as test_taskmsg.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "libcommon/arena.h"
#include "libcommon/text.h"
#include "services/content/model.h"

struct rpc_call {
    arena_t arena;
};

void *rpc_alloc(rpc_call_t *call, size_t size)
{
    return arena_alloc(&call->arena, size);
}

char *rpc_strdup(rpc_call_t *call, const char *s)
{
    return arena_strdup(&call->arena, s);
}

static void fail(const char *what, const char *a, const char *b)
{
    fuzz_fail("fuzz_taskjson: %s; first: %.400s; second: %.400s", what, a, b);
}

static bool utf8_valid(const char *s)
{
    for (size_t i = 0, n, len = strlen(s); i < len; i += n)
        if ((n = text_utf8_seq((const unsigned char *)s + i, len - i)) == 0)
            return false;
    return true;
}

/* The report must hold what it says it holds, in text that can travel (a
 * protobuf string, a JSON string: UTF-8). */
static void check_issues(const content_issue_t *is, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (is[i].path[0] != '$' || is[i].message[0] == '\0')
            fail("an issue without a path or a message", is[i].path, is[i].message);
        if (!utf8_valid(is[i].path) || !utf8_valid(is[i].message))
            fail("an issue that is not UTF-8", is[i].path, is[i].message);
    }
}

static void check_report(const content_report_t *rep)
{
    check_issues(rep->errors, rep->n_errors);
    check_issues(rep->warnings, rep->n_warnings);
}

/* A message must serialise to the size it says. */
static void pack(const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n ? n : 1);
    if (protobuf_c_message_pack(m, buf) != n)
        fail("a message packs to another size than it said", "", "");
    free(buf);
}

/* The properties only run on accepted tasks: a harness that refused every
 * task (a report from a file whose name is not the slug, say) would fuzz
 * nothing of them and still pass. So a valid task must be accepted first. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char valid[] =
        "{\"slug\": \"sum-two\", \"title\": \"Sum of two\", \"difficulty\": \"easy\","
        " \"description\": \"Add two numbers.\", \"languages\": [{\"language\": \"python3\"}],"
        " \"tests\": [{\"name\": \"s1\", \"input\": \"1 2\\n\", \"expected\": \"3\\n\"}],"
        " \"reference_solutions\": [{\"name\": \"direct\", \"language\": \"python3\","
        " \"code\": \"print(sum(map(int, input().split())))\"}]}";
    content_report_t rep;
    content_report_init(&rep, "");
    json_t *norm = NULL;
    if (taskjson_parse(valid, sizeof valid - 1, &rep, &norm) < 0)
        fail("the harness refuses a valid task", rep.errors[0].path, rep.errors[0].message);
    json_decref(norm);
    content_report_free(&rep);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Not from a file (""): a file's name must be its slug. */
    content_report_t rep;
    content_report_init(&rep, "");
    json_t *norm = NULL;
    int rc = taskjson_parse((const char *)data, size, &rep, &norm);
    check_report(&rep);
    if (rc < 0) {
        if (rep.n_errors == 0)
            fail("refused without an error", "", "");
        content_report_free(&rep);
        return 0;
    }
    char *canon = check_canonical(norm);

    content_report_t again;
    content_report_init(&again, "");
    json_t *norm2 = NULL;
    if (taskjson_normalize(norm, &again, &norm2) < 0)
        fail("the normalised form is refused", canon,
             again.n_errors ? again.errors[0].message : "");
    char *canon2 = check_canonical(norm2);
    if (strcmp(canon, canon2) != 0)
        fail("normalising twice changes the document", canon, canon2);

    char *pretty = check_pretty(norm);
    content_report_t back;
    content_report_init(&back, "");
    json_t *norm3 = NULL;
    if (taskjson_parse(pretty, strlen(pretty), &back, &norm3) < 0)
        fail("the exported text is refused", pretty,
             back.n_errors ? back.errors[0].message : "");
    char *canon3 = check_canonical(norm3);
    if (strcmp(canon, canon3) != 0)
        fail("export and import change the document", canon, canon3);

    /* The messages, and the Task message back to the file form. */
    struct rpc_call call = {{0}};
    Dojo__Content__V1__Task *task = taskjson_to_task(&call, norm);
    pack((const ProtobufCMessage *)task);
    pack((const ProtobufCMessage *)taskjson_to_view(&call, norm));
    pack((const ProtobufCMessage *)taskjson_to_bundle(&call, norm));
    pack((const ProtobufCMessage *)taskjson_to_solutions(&call, norm));
    json_t *file = taskjson_from_message(task);
    content_report_t msg;
    content_report_init(&msg, "");
    json_t *norm4 = NULL;
    if (taskjson_normalize(file, &msg, &norm4) < 0)
        fail("the Task message of an accepted task is refused", canon,
             msg.n_errors ? msg.errors[0].message : "");
    char *canon4 = check_canonical(norm4);
    if (strcmp(canon, canon4) != 0)
        fail("the Task message changes the document", canon, canon4);
    free(canon4);
    json_decref(norm4);
    content_report_free(&msg);
    json_decref(file);
    arena_release(&call.arena);

    free(canon3);
    json_decref(norm3);
    content_report_free(&back);
    free(pretty);
    free(canon2);
    json_decref(norm2);
    content_report_free(&again);
    free(canon);
    json_decref(norm);
    content_report_free(&rep);
    return 0;
}
