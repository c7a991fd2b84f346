/* ISC license. */
/* Intrusive doubly linked lists: the link lives inside its owner, so
 * putting an object on a list never allocates. A link with next == NULL is
 * on no list. The head is a link whose prev/next point at itself. */
#ifndef KK_WORKER_LIST_H
#define KK_WORKER_LIST_H

#include <stddef.h>

typedef struct kk_link kk_link;
struct kk_link {
	kk_link *prev, *next;
};

#define KK_CONTAINER(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static inline void
kk_list_init(kk_link *head)
{
	head->prev = head->next = head;
}

static inline int
kk_list_empty(const kk_link *head)
{
	return head->next == head;
}

static inline int
kk_link_linked(const kk_link *l)
{
	return l->next != NULL;
}

static inline void
kk_list_push(kk_link *head, kk_link *l)	/* at the tail */
{
	l->prev = head->prev;
	l->next = head;
	head->prev->next = l;
	head->prev = l;
}

static inline void
kk_list_unlink(kk_link *l)
{
	if (!l->next)
		return;
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->prev = l->next = NULL;
}

static inline kk_link *
kk_list_first(kk_link *head)
{
	return kk_list_empty(head) ? NULL : head->next;
}

static inline kk_link *
kk_list_last(kk_link *head)
{
	return kk_list_empty(head) ? NULL : head->prev;
}

/* Moves every link of src to the empty list dst. */
static inline void
kk_list_move(kk_link *dst, kk_link *src)
{
	if (kk_list_empty(src)) {
		kk_list_init(dst);
		return;
	}
	dst->next = src->next;
	dst->prev = src->prev;
	dst->next->prev = dst;
	dst->prev->next = dst;
	kk_list_init(src);
}

#endif
