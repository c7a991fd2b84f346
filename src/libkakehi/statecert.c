/* ISC license. */
/* kk_statecert_from_verb: the files of a certificate line, or their data
 * form, into a kk_certificate. A state holds the bytes, never the file
 * names, so a worker or a restarted supervisor needs no access to the
 * operator's files. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <kakehi/base64.h>
#include <kakehi/cert.h>
#include <kakehi/state.h>
#include <kakehi/str.h>
#include <kakehi/verb.h>
#include "statecert.h"


static unsigned long files_read;

unsigned long
kk_cert_files_read(void)
{
	return files_read;
}

/* In a buffer sized from fstat, so that a key's bytes are never left
 * behind in a buffer given back by realloc. */
int
kk_cert_read_file(const char *path, const char *filedir, kk_blob *b, char *err,
    size_t errlen)
{
	kk_str full = KK_STR_ZERO;
	struct stat sb;
	size_t got = 0;
	int fd;
	files_read++;
	if (path[0] != '/' && filedir && *filedir) {
		if (!kk_str_catf(&full, "%s/%s", filedir, path)) {
			snprintf(err, errlen, "out of memory");
			return 0;
		}
		path = full.s;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "unable to open %s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(fd, &sb) < 0) {
		snprintf(err, errlen, "unable to stat %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "unable to read %s: not a regular file", path);
		goto fail;
	}
	if (!sb.st_size || (unsigned long long)sb.st_size > KK_CERT_FILE_MAX) {
		snprintf(err, errlen, "unable to use %s: %s", path, sb.st_size
		    ? "larger than 1 MiB (a certificate, key, chain or OCSP file never is)"
		    : "the file is empty");
		goto fail;
	}
	if (!(b->p = malloc((size_t)sb.st_size))) {
		snprintf(err, errlen, "out of memory reading %s", path);
		goto fail;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, b->p + got, (size_t)sb.st_size - got);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) {
			snprintf(err, errlen, "unable to read %s: %s", path,
			    n ? strerror(errno) : "it shrank while read");
			b->len = got;
			kk_blob_free(b);
			goto fail;
		}
		got += (size_t)n;
	}
	b->len = got;
	close(fd);
	kk_str_free(&full);
	return 1;
fail:
	if (fd >= 0) close(fd);
	kk_str_free(&full);
	return 0;
}

int
kk_statecert_take_blob(const kk_verb *v, const char *name, int required,
    const char *filedir, kk_blob *b, char *err, size_t errlen)
{
	char fopt[32], dopt[32];
	const char *file, *data;
	snprintf(fopt, sizeof fopt, "--%s", name);
	snprintf(dopt, sizeof dopt, "--%s-data", name);
	file = kk_verb_opt(v, fopt);
	data = kk_verb_opt(v, dopt);
	if (file && data) {
		snprintf(err, errlen, "give %s FILE or %s B64, not both", fopt, dopt);
		return 0;
	}
	if (file) return kk_cert_read_file(file, filedir, b, err, errlen);
	if (data) {
		if (!kk_base64_decode(data, strlen(data), &b->p, &b->len)) {
			snprintf(err, errlen, errno == ENOMEM ? "out of memory decoding %s"
			    : "%s is not base64 (RFC 4648: A-Z a-z 0-9 + /, '=' padding, one "
			    "line)", dopt);
			return 0;
		}
		if (!b->len) {
			kk_blob_free(b);
			snprintf(err, errlen, "%s is empty", dopt);
			return 0;
		}
		return 1;
	}
	if (required) {
		snprintf(err, errlen, "%s FILE is required", fopt);
		return 0;
	}
	return 1;
}

int
kk_statecert_from_verb(kk_certificate *x, const kk_verb *v, const char *filedir,
    int checked, char *err, size_t errlen)
{
	memset(x, 0, sizeof *x);
	if (kk_statecert_take_blob(v, "cert", 1, filedir, &x->cert, err, errlen)
	    && kk_statecert_take_blob(v, "key", 1, filedir, &x->key, err, errlen)
	    && kk_statecert_take_blob(v, "chain", 0, filedir, &x->chain, err, errlen)
	    && kk_statecert_take_blob(v, "ocsp", 0, filedir, &x->ocsp, err, errlen)
	    && (checked ? kk_cert_describe(x, err, errlen) : kk_cert_parse(x, 0, err, errlen)))
		return 1;
	kk_cert_free(x);
	return 0;
}
