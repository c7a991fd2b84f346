/* ISC license. */
/* The board: a segment mapped twice shares its slots; the share rule
 * holds a worker back only past its share of the accepting workers. */
#include <errno.h>
#include <unistd.h>
#include <sys/mman.h>

#include <kakehi/board.h>
#include "tap.h"

#define NOW 100000

int
main(void)
{
	int fd = kk_board_create(8), other;
	kk_board *a, *b;

	ok(fd >= 0, "a board of 8 slots is created");
	a = kk_board_map(fd);
	b = kk_board_map(fd);
	ok(a && b, "and mapped twice");
	is_int(a->nslots, 8, "it has 8 slots");

	kk_board_publish(a, 3, 42);
	kk_board_set_accepting(a, 3, 1);
	is_int(b->slot[3].conns, 42, "a figure published in one mapping is seen in the other");
	is_int(b->slot[3].accepting, 1, "so is the accepting flag");
	kk_board_publish(a, 8, 1);
	kk_board_clear(b, 3);
	is_int(a->slot[3].conns + a->slot[3].accepting, 0, "a cleared slot is empty");

	/* Alone, never held back. */
	kk_board_set_accepting(a, 0, 1);
	ok(!kk_board_over_share(a, 0, 1000, NOW), "the only accepting worker is never over its share");
	/* Two workers at 50 and 50: the mean is 50, the bound 1.10 x 50 + 2. */
	kk_board_set_accepting(a, 1, 1);
	kk_board_beat(a, 1, NOW - 10);
	kk_board_publish(a, 1, 50);
	ok(!kk_board_over_share(a, 0, 50, NOW), "even: within the share");
	/* 60 against 50: mean 55, bound 62.5. */
	ok(!kk_board_over_share(a, 0, 60, NOW), "60 against 50 is within 1.10 x the mean + 2");
	/* 70 against 50: mean 60, bound 68. */
	ok(kk_board_over_share(a, 0, 70, NOW), "70 against 50 is over");
	/* A worker that no longer accepts (draining) counts for nothing. */
	kk_board_set_accepting(a, 1, 0);
	ok(!kk_board_over_share(a, 0, 70, NOW), "a draining worker is not part of the share");
	/* At the start of a burst the slack lets the first few through. */
	kk_board_set_accepting(a, 1, 1);
	kk_board_publish(a, 1, 0);
	/* 3 against 0: mean 1.5, bound 3.65; 4 against 0: bound 4.2. */
	ok(!kk_board_over_share(a, 0, 3, NOW), "3 against 0: the slack lets them through");
	ok(kk_board_over_share(a, 0, 5, NOW), "5 against 0: held, the other one's turn");
	ok(!kk_board_over_share(a, 9, 1000, NOW), "a slot outside the board is never held");
	/* A worker that stopped beating (SIGSTOP) holds nobody back. */
	kk_board_publish(a, 1, 50);
	ok(kk_board_over_share(a, 0, 70, NOW), "70 against a live 50 is over");
	ok(!kk_board_over_share(a, 0, 70, NOW + KK_BOARD_STALE_MS + 20),
	    "70 against a worker silent for longer than KK_BOARD_STALE_MS is not");

	/* A memfd that is not a board is refused. */
	other = memfd_create("not-a-board", 0);
	ok(other >= 0 && ftruncate(other, 4096) == 0, "a plain memfd");
	errno = 0;
	ok(!kk_board_map(other) && errno == EINVAL, "is not mapped as a board (EINVAL)");
	close(other);

	kk_board_unmap(a);
	kk_board_unmap(b);
	close(fd);
	return done();
}
