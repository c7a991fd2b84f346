/* ISC license. */
/* Private to libkakehi: a --tls cluster's backend TLS settings
 * (kk_cluster_tls, state.h) as apply makes them from a cluster add line,
 * and their copy, comparison and release. */
#ifndef KAKEHI_CLUSTERTLS_H
#define KAKEHI_CLUSTERTLS_H

#include <stddef.h>
#include <kakehi/state.h>
#include <kakehi/verb.h>

/* The settings of v's --tls, --ca FILE (relative to filedir) or
 * --ca-data, --sni, --no-verify into *out (on the heap). The CA file must
 * hold PEM certificates and nothing else. 1 ok; 0 with err for the
 * operator, *out NULL. */
int kk_clustertls_from_verb(kk_cluster_tls **out, const kk_verb *v, const char *filedir,
    char *err, size_t errlen);
/* A deep copy; NULL copies as NULL. 1 ok, 0 ENOMEM (*dst NULL). */
int kk_clustertls_copy(kk_cluster_tls **dst, const kk_cluster_tls *src);
void kk_clustertls_free(kk_cluster_tls *);	/* NULL is fine */
/* Whether two settings say the same; NULL equals only NULL. */
int kk_clustertls_same(const kk_cluster_tls *, const kk_cluster_tls *);

#endif
