/* ISC license. */
#include <errno.h>
#include <unistd.h>
#include <sys/mman.h>

#include <kakehi/segment.h>

void *
kk_segment_create(const char *name, size_t size, size_t map, int *fd)
{
	void *p;
	int e;

	*fd = memfd_create(name, MFD_CLOEXEC);
	if (*fd < 0)
		return 0;
	/* Sparse: pages come as they are first touched. */
	if (ftruncate(*fd, (off_t)size) == 0) {
		p = mmap(0, map, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
		if (p != MAP_FAILED)
			return p;
	}
	e = errno;
	close(*fd);
	*fd = -1;
	errno = e;
	return 0;
}
