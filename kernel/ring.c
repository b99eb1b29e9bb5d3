/* Allocation of the SPSC ring; the operations are inline in ring.h. */
#include "ring.h"

#include <stdlib.h>
#include <string.h>

int vp_ring_init(struct vp_ring *r, size_t capacity)
{
	size_t cap = 2;
	while (cap < capacity) {
		if (cap > SIZE_MAX / 2 / sizeof(void *))
			return -1;
		cap <<= 1;
	}
	memset(r, 0, sizeof(*r));
	r->slots = calloc(cap, sizeof(*r->slots));
	if (!r->slots)
		return -1;
	r->mask = cap - 1;
	return 0;
}

void vp_ring_destroy(struct vp_ring *r)
{
	free(r->slots);
	r->slots = NULL;
}
