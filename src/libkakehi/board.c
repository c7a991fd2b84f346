/* ISC license. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <kakehi/board.h>
#include <kakehi/segment.h>

static size_t
board_size(unsigned nslots)
{
	return sizeof(kk_board) + (size_t)nslots * sizeof(kk_board_slot);
}

int
kk_board_create(unsigned nslots)
{
	int fd;
	kk_board *b = kk_segment_create("kakehi-board", board_size(nslots), board_size(nslots),
	    &fd);
	if (!b)
		return -1;
	b->nslots = nslots;
	b->magic = KK_BOARD_MAGIC;
	munmap(b, board_size(nslots));
	return fd;
}

kk_board *
kk_board_map(int fd)
{
	struct stat st;
	kk_board *b;
	unsigned n;

	if (fstat(fd, &st) < 0)
		return 0;
	if ((size_t)st.st_size < sizeof(kk_board))
		goto invalid;
	n = (unsigned)(((size_t)st.st_size - sizeof(kk_board)) / sizeof(kk_board_slot));
	b = mmap(0, board_size(n), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (b == MAP_FAILED)
		return 0;
	if (b->magic != KK_BOARD_MAGIC || b->nslots != n) {
		munmap(b, board_size(n));
		goto invalid;
	}
	return b;
invalid:
	errno = EINVAL;
	return 0;
}

void
kk_board_unmap(kk_board *b)
{
	munmap(b, board_size(b->nslots));
}

void
kk_board_clear(kk_board *b, unsigned slot)
{
	kk_board_set_accepting(b, slot, 0);
	kk_board_publish(b, slot, 0);
	kk_board_beat(b, slot, 0);
}

/* Whether the worker of slot i takes new connections now. */
static int
accepting(const kk_board *b, unsigned i, uint64_t now_ms)
{
	return __atomic_load_n(&b->slot[i].accepting, __ATOMIC_RELAXED)
	    && __atomic_load_n(&b->slot[i].beat, __ATOMIC_RELAXED) + KK_BOARD_STALE_MS >= now_ms;
}

unsigned
kk_board_others(const kk_board *b, unsigned slot, uint64_t now_ms)
{
	unsigned i, n = 0;

	for (i = 0; i < b->nslots; i++)
		n += i != slot && accepting(b, i, now_ms);
	return n;
}

int
kk_board_over_share(const kk_board *b, unsigned slot, unsigned mine, uint64_t now_ms)
{
	unsigned long long total = mine;
	unsigned i, n = 1;

	if (slot >= b->nslots)
		return 0;
	for (i = 0; i < b->nslots; i++) {
		if (i == slot || !accepting(b, i, now_ms))
			continue;
		n++;
		total += __atomic_load_n(&b->slot[i].conns, __ATOMIC_RELAXED);
	}
	if (n < 2)
		return 0;
	/* mine > percent% of total/n + slack, in integers. */
	return (unsigned long long)mine * n * 100 >
	    total * KK_BOARD_SHARE_PERCENT + (unsigned long long)KK_BOARD_SLACK * n * 100;
}
