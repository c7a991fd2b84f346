/* ISC license. */
/* kk_certdir_save: a saved state's certificates as files beside it, so
 * the state file names them instead of holding key bytes, and loading
 * the state reads them back byte for byte. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <kakehi/clientca.h>
#include <kakehi/action.h>
#include <kakehi/base64.h>
#include <kakehi/cert.h>
#include <kakehi/htpasswd.h>
#include <kakehi/state.h>
#include <kakehi/str.h>
#include "certdir.h"
#include "stateprint.h"

/* A certificate's four files, then a CA file: an https listener's client
 * CA or a --tls cluster's CA. */
static const char *const exts[] = { "crt", "key", "chain", "ocsp", "ca", "htpasswd" };
#define NEXTS (sizeof exts / sizeof *exts)

static int
write_all(int fd, const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR) continue;
			return 0;
		}
		p += n;
		len -= (size_t)n;
	}
	return 1;
}

/* name (in dfd) holds exactly the bytes of b, mode 0600, or is replaced
 * atomically by a file that does. 1 ok, 0 errno set. */
static int
write_file(int dfd, const char *name, const kk_blob *b)
{
	char tmp[256];
	struct stat sb;
	int fd, e;
	snprintf(tmp, sizeof tmp, ".%s.tmp.%ld", name, (long)getpid());
	unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) return 0;
	/* 0600 whatever the umask; a key is for the owner alone. */
	if (fstat(fd, &sb) < 0 || ((sb.st_mode & 0777) != 0600 && fchmod(fd, 0600) < 0)
	    || !write_all(fd, b->p, b->len) || fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	if (renameat(dfd, tmp, dfd, name) < 0) {
		fd = -1;
		goto fail;
	}
	return 1;
fail:
	e = errno;
	if (fd >= 0) close(fd);
	unlinkat(dfd, tmp, 0);
	errno = e;
	return 0;
}

/* Whether name is one kk_stateprint_cert_file or _ca_file makes: 64 hex digits, an
 * optional -N, then one of the extensions. Files of any other name in
 * the directory are the operator's, and stay. */
static int
ours(const char *name)
{
	size_t i;
	const char *dot;
	for (i = 0; i < 64; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	dot = strchr(name + 64, '.');
	if (!dot) return 0;
	if (dot != name + 64) {
		if (name[64] != '-' || dot == name + 65) return 0;
		for (const char *p = name + 65; p < dot; p++)
			if (*p < '0' || *p > '9') return 0;
	}
	for (i = 0; i < NEXTS; i++)
		if (!strcmp(dot + 1, exts[i])) return 1;
	return 0;
}

/* Whether name is in the NUL-separated list. */
static int
listed(const kk_str *names, const char *name)
{
	for (size_t at = 0; at < names->len; at += strlen(names->s + at) + 1)
		if (!strcmp(names->s + at, name)) return 1;
	return 0;
}

/* Removes the files of ours() that names does not list. */
static int
remove_stale(int dfd, const kk_str *names)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *d;
	DIR *dir;
	if (fd < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0) close(fd);
		return 0;
	}
	while ((d = readdir(dir)))
		if (ours(d->d_name) && !listed(names, d->d_name) && unlinkat(dfd, d->d_name, 0) < 0
		    && errno != ENOENT) {
			closedir(dir);
			return 0;
		}
	closedir(dir);
	return 1;
}

/* A listener's client CA as NAME.ca, NAME its kk_clientca_name (what
 * the state's line names), listed in names. 1 ok (or none); 0 errno set
 * and *what says what failed. */
static int
save_client_ca(int dfd, const kk_listener *l, kk_str *names, const char **what)
{
	char name[68];
	if (!l->tls || !l->tls->client_ca.len) return 1;
	*what = "name a client CA file in";
	if (!kk_clientca_name(&l->tls->client_ca, name)) {
		errno = EINVAL;
		return 0;
	}
	memcpy(name + 64, ".ca", 4);
	*what = "list the files of";
	if (!kk_str_catb(names, name, sizeof name)) {
		errno = ENOMEM;
		return 0;
	}
	*what = "write a client CA file in";
	return write_file(dfd, name, &l->tls->client_ca);
}

/* A frontend's password file (htpasswd.h) as HEX.htpasswd, HEX its
 * SHA-256 (what the state's line names), listed in names. 1 ok (or
 * none); 0 errno set and *what says what failed. */
/* Whether live frontend f has an auth item, into *a. */
static int
auth_of(const kk_frontend *f, kk_action *a)
{
	size_t pos = 0;
	while (f->cluster && f->actions && kk_action_next(f->actions, &pos, a))
		if (a->kind == KK_ACTION_AUTH)
			return 1;
	return 0;
}

static int
save_htpasswd(int dfd, const kk_frontend *f, kk_str *names, const char **what)
{
	kk_str name = KK_STR_ZERO;
	kk_action a;
	kk_blob b = { 0, 0 };
	int ok;
	if (!auth_of(f, &a))
		return 1;
	*what = "list the files of";
	if (!kk_auth_file(&name, a.value, a.vlen, ".")
	    || !kk_str_catb(names, name.s + 2, name.len - 1)
	    || !kk_base64_decode(a.value + 1, a.vlen - 1, &b.p, &b.len)) {
		kk_str_free(&name);
		errno = ENOMEM;
		return 0;
	}
	*what = "write a password file in";
	ok = write_file(dfd, name.s + 2, &b);
	explicit_bzero(b.p, b.len);
	kk_blob_free(&b);
	kk_str_free(&name);
	return ok;
}

int
kk_certdir_save(const kk_state *st, const char *path, kk_str *rel, char *err,
    size_t errlen)
{
	kk_str dir = KK_STR_ZERO, names = KK_STR_ZERO, name = KK_STR_ZERO;
	const char *slash = strrchr(path, '/'), *what = "create";
	size_t live = 0, i;
	int dfd = -1, ok = 0;
	struct stat sb;
	for (i = 0; i < st->ncertificates; i++) live += !!st->certificates[i].listener;
	for (i = 0; i < st->nlisteners; i++)
		live += st->listeners[i].tls && st->listeners[i].tls->client_ca.len;
	for (i = 0; i < st->nclusters; i++)
		live += st->clusters[i].id && st->clusters[i].tls && st->clusters[i].tls->ca.len;
	for (i = 0; i < st->nfrontends; i++) {
		kk_action a;
		live += auth_of(&st->frontends[i], &a);
	}
	if (!kk_str_catf(&dir, "%s.certs", path)
	    || !kk_str_catf(rel, "%s.certs", slash ? slash + 1 : path)) {
		snprintf(err, errlen, "unable to save state to %s: out of memory", path);
		goto end;
	}
	if (!live && stat(dir.s, &sb) < 0 && errno == ENOENT) {
		ok = 1;
		goto end;
	}
	if (mkdir(dir.s, 0700) < 0 && errno != EEXIST) goto fail;
	what = "open";
	if ((dfd = open(dir.s, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0) goto fail;
	what = "set the mode of";
	if (fstat(dfd, &sb) < 0 || ((sb.st_mode & 0777) != 0700 && fchmod(dfd, 0700) < 0))
		goto fail;
	for (i = 0; i < st->ncertificates; i++) {
		const kk_certificate *x = &st->certificates[i];
		const kk_blob *blobs[4] = { &x->cert, &x->key, &x->chain, &x->ocsp };
		if (!x->listener) continue;
		for (unsigned k = 0; k < 4; k++) {
			if (!blobs[k]->len) continue;
			kk_str_reset(&name);
			/* "./NAME.EXT": the name relative to the directory. */
			if (!kk_stateprint_cert_file(&name, st, x, ".", exts[k])
			    || !kk_str_catb(&names, name.s + 2, name.len - 1)) {
				errno = ENOMEM;
				what = "list the files of";
				goto fail;
			}
			what = "write a certificate file in";
			if (!write_file(dfd, name.s + 2, blobs[k])) goto fail;
		}
	}
	for (i = 0; i < st->nlisteners; i++)
		if (!save_client_ca(dfd, &st->listeners[i], &names, &what)) goto fail;
	for (i = 0; i < st->nclusters; i++) {
		const kk_cluster_tls *t = st->clusters[i].tls;
		if (!st->clusters[i].id || !t || !t->ca.len) continue;
		kk_str_reset(&name);
		if (!kk_stateprint_ca_file(&name, t, ".")
		    || !kk_str_catb(&names, name.s + 2, name.len - 1)) {
			errno = ENOMEM;
			what = "list the files of";
			goto fail;
		}
		what = "write a CA file in";
		if (!write_file(dfd, name.s + 2, &t->ca)) goto fail;
	}
	for (i = 0; i < st->nfrontends; i++)
		if (!save_htpasswd(dfd, &st->frontends[i], &names, &what))
			goto fail;
	what = "remove the files of removed certificates from";
	if (!remove_stale(dfd, &names)) goto fail;
	what = "sync";
	if (fsync(dfd) < 0 && errno != EINVAL) goto fail;
	ok = 1;
	goto end;
fail:
	snprintf(err, errlen, "unable to save state to %s: unable to %s %s: %s", path, what,
	    dir.s, strerror(errno));
end:
	if (dfd >= 0) close(dfd);
	kk_str_free(&dir);
	kk_str_free(&names);
	kk_str_free(&name);
	return ok;
}
