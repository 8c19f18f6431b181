/* languages.c — the languages Dojo can run. Languages are data: adding one
 * is a row here plus a rootfs for the executor. */
#include <string.h>

#include "content.h"

/* Ordered by display name, as ListLanguages returns them. */
static const content_language_t languages[] = {
    {.id = "c",
     .display_name = "C",
     .file_extension = "c",
     .editor_mode = "cpp",
     .version = "gcc 12.2.0 (C17)",
     .compiled = true},
    {.id = "python3",
     .display_name = "Python 3",
     .file_extension = "py",
     .editor_mode = "python",
     .version = "3.11.2",
     .compiled = false},
};

#define N_LANGUAGES (sizeof languages / sizeof languages[0])

const content_language_t *content_language_find(const char *id)
{
    for (size_t i = 0; i < N_LANGUAGES; i++)
        if (!strcmp(languages[i].id, id))
            return &languages[i];
    return NULL;
}

int content_rpc_list_languages(rpc_call_t *call, const ProtobufCMessage *req,
                               ProtobufCMessage **out, err_t **err)
{
    content_t *c = rpc_call_payload(call);
    identity_t id;
    if (content_require_signed_in(c, call, &id, err) < 0)
        return -1;
    Dojo__Content__V1__ListLanguagesResponse *resp =
        RPC_NEW(call, Dojo__Content__V1__ListLanguagesResponse,
                DOJO__CONTENT__V1__LIST_LANGUAGES_RESPONSE__INIT);
    resp->languages = rpc_alloc(call, N_LANGUAGES * sizeof *resp->languages);
    for (size_t i = 0; i < N_LANGUAGES; i++) {
        Dojo__Content__V1__Language *l =
            RPC_NEW(call, Dojo__Content__V1__Language, DOJO__CONTENT__V1__LANGUAGE__INIT);
        l->id = (char *)languages[i].id;
        l->display_name = (char *)languages[i].display_name;
        l->file_extension = (char *)languages[i].file_extension;
        l->editor_mode = (char *)languages[i].editor_mode;
        l->version = (char *)languages[i].version;
        l->compiled = languages[i].compiled;
        resp->languages[resp->n_languages++] = l;
    }
    *out = &resp->base;
    return 0;
}
