/* page.c — page tokens: the offset of the next row, in decimal. */
#define _GNU_SOURCE
#include "page.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

int page_read(const Dojo__Common__V1__PageRequest *page, int def, int max, int64_t *offset,
              int *size, err_t **err)
{
    *offset = 0;
    *size = def;
    if (page == NULL)
        return 0;
    if (page->page_size < 0 || page->page_size > max)
        return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "page.page_size: must be 0 to %d", max);
    if (page->page_size > 0)
        *size = page->page_size;
    const char *t = page->page_token ? page->page_token : "";
    if (t[0]) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(t, &end, 10);
        if (errno || *end || v < 0 || !isdigit((unsigned char)t[0]) || v > 100000000)
            return err_set(err, GRPC_STATUS_INVALID_ARGUMENT, "page.page_token: is not valid");
        *offset = v;
    }
    return 0;
}

Dojo__Common__V1__PageInfo *page_info(rpc_call_t *call, int64_t offset, int size, bool has_more,
                                      int64_t total)
{
    Dojo__Common__V1__PageInfo *p =
        RPC_NEW(call, Dojo__Common__V1__PageInfo, DOJO__COMMON__V1__PAGE_INFO__INIT);
    p->next_page_token = has_more ? rpc_sprintf(call, "%lld", (long long)(offset + size)) : "";
    p->total = total;
    return p;
}
