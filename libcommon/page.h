/* page.h — paging, the one way every list RPC pages (common.proto's
 * PageRequest and PageInfo): the page token is the offset of the next row in
 * decimal, opaque to clients. */
#ifndef DOJO_PAGE_H
#define DOJO_PAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "dojo/common/v1/common.pb-c.h"
#include "err.h"
#include "rpc.h"

/** Reads `page` (NULL: the first page of `def` rows): *size is its
 * page_size (0 → def; more than `max` is refused), *offset the row its
 * token names ("" → 0). INVALID_ARGUMENT naming page.page_size or
 * page.page_token otherwise. */
int page_read(const Dojo__Common__V1__PageRequest *page, int def, int max, int64_t *offset,
              int *size, err_t **err);

/** The PageInfo of the page read at `offset` with `size` rows: the next
 * page's token when `has_more`, and `total` (-1: unknown). In the call's
 * arena. */
Dojo__Common__V1__PageInfo *page_info(rpc_call_t *call, int64_t offset, int size, bool has_more,
                                      int64_t total);

#endif
