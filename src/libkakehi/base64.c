/* ISC license. */
/* kk_base64: RFC 4648 base64, strict on input, so one file's bytes have
 * exactly one text in a verb line and a state prints byte-identical. */

#include <errno.h>
#include <stdlib.h>
#include <kakehi/base64.h>
#include <kakehi/str.h>

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
kk_base64_encode(kk_str *out, const unsigned char *p, size_t len)
{
	size_t need = (len + 2) / 3 * 4, i;
	char *w;
	if (need < len || !kk_str_ready(out, need + 1)) {
		errno = ENOMEM;
		return 0;
	}
	w = out->s + out->len;
	for (i = 0; i + 2 < len; i += 3) {
		unsigned long v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8
		    | p[i + 2];
		*w++ = alphabet[v >> 18 & 63];
		*w++ = alphabet[v >> 12 & 63];
		*w++ = alphabet[v >> 6 & 63];
		*w++ = alphabet[v & 63];
	}
	if (i < len) {
		unsigned long v = (unsigned long)p[i] << 16;
		if (i + 1 < len) v |= (unsigned long)p[i + 1] << 8;
		*w++ = alphabet[v >> 18 & 63];
		*w++ = alphabet[v >> 12 & 63];
		*w++ = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
		*w++ = '=';
	}
	out->len += need;
	out->s[out->len] = 0;
	return 1;
}

static int
value(char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

int
kk_base64_decode_into(const char *s, size_t slen, unsigned char *d, size_t cap,
    size_t *outlen)
{
	size_t pad = 0, n, i, j = 0;
	if (slen % 4) goto inval;
	if (slen && s[slen - 1] == '=') pad++;
	if (slen > 1 && s[slen - 2] == '=') pad++;
	n = slen / 4 * 3 - pad;
	if (n > cap) goto inval;
	for (i = 0; i < slen; i += 4) {
		int q[4];
		unsigned long v;
		for (int k = 0; k < 4; k++) {
			int last = i + 4 == slen;
			if (last && k >= 4 - (int)pad) q[k] = 0;
			else if ((q[k] = value(s[i + k])) < 0) goto inval;
		}
		v = (unsigned long)q[0] << 18 | (unsigned long)q[1] << 12
		    | (unsigned long)q[2] << 6 | (unsigned long)q[3];
		/* Bits past the data must be zero: one text per byte string. */
		if (i + 4 == slen && ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff))))
			goto inval;
		d[j++] = (unsigned char)(v >> 16);
		if (j < n) d[j++] = (unsigned char)(v >> 8);
		if (j < n) d[j++] = (unsigned char)v;
	}
	*outlen = n;
	return 1;
inval:
	errno = EINVAL;
	return 0;
}

int
kk_base64_decode(const char *s, size_t slen, unsigned char **out, size_t *outlen)
{
	size_t n = slen / 4 * 3 + 1;
	unsigned char *d;
	if (slen % 4) {
		errno = EINVAL;
		return 0;
	}
	if (!(d = malloc(n))) {
		errno = ENOMEM;
		return 0;
	}
	if (!kk_base64_decode_into(s, slen, d, n, outlen)) {
		free(d);
		return 0;
	}
	*out = d;
	return 1;
}
