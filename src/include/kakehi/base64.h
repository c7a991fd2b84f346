/* ISC license. */
/* Standard base64 (RFC 4648 section 4: '+' and '/', '=' padding, no line
 * breaks): how certificate files travel inside verb lines. */
#ifndef KAKEHI_BASE64_H
#define KAKEHI_BASE64_H

#include <stddef.h>
#include <kakehi/str.h>

/* Appends the encoding of len bytes. 1 ok, 0 ENOMEM (out unchanged). */
int kk_base64_encode(kk_str *out, const unsigned char *p, size_t len);
/* Decodes s (slen characters, exactly the canonical encoding: padded,
 * no blank, no bits set past the data) into a new buffer *out of *outlen
 * bytes, which the caller frees. 1 ok; 0 not base64 (errno EINVAL) or
 * ENOMEM, *out untouched. */
int kk_base64_decode(const char *s, size_t slen, unsigned char **out, size_t *outlen);
/* The same into out (cap bytes), allocating nothing: for the worker,
 * which decodes what a client sends. 1 ok; 0 not base64 or longer than
 * cap (errno EINVAL). */
int kk_base64_decode_into(const char *s, size_t slen, unsigned char *out, size_t cap,
    size_t *outlen);

#endif
