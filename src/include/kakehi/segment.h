/* ISC license. */
/* Shared memory segments the supervisor creates and its workers map (the
 * board, the metrics): a memfd of a given size, sparse, close-on-exec. */
#ifndef KAKEHI_SEGMENT_H
#define KAKEHI_SEGMENT_H

#include <stddef.h>

/* A new memfd named name of size bytes, its first map bytes mapped shared
 * and writable for the caller to fill (then munmap): the mapping, with
 * its fd in *fd; NULL with errno, nothing left open. */
void *kk_segment_create(const char *name, size_t size, size_t map, int *fd);

#endif
