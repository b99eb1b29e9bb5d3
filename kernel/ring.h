/* Bounded lock-free single-producer/single-consumer ring of pointers.
 *
 * The producer owns `tail`, the consumer owns `head`; each keeps a cached
 * copy of the other's index so the common case touches only its own cache
 * line (the ck_ring / rigtorp SPSCQueue shape). Capacity is a power of two
 * and indices run freely (wrap at 2^64), so full/empty need no spare slot.
 *
 * Drop-oldest links need the producer to discard the oldest entry: that one
 * operation (vp_ring_steal) and the matching consumer pop (vp_ring_pop_shared)
 * use a CAS on head, so both sides may move it. Plain links never pay for it.
 *
 * Waiting is not here: the scheduler parks threads on futexes and uses
 * vp_ring_empty/vp_ring_full to re-check after announcing that it sleeps.
 */
#ifndef VPIPE_KERNEL_RING_H
#define VPIPE_KERNEL_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VP_CACHELINE 64

struct vp_ring {
	/* consumer side */
	_Alignas(VP_CACHELINE) _Atomic uint64_t head;
	uint64_t tail_cache; /* consumer's last view of tail */
	/* producer side */
	_Alignas(VP_CACHELINE) _Atomic uint64_t tail;
	uint64_t head_cache; /* producer's last view of head */
	/* read-only after init */
	_Alignas(VP_CACHELINE) uint64_t mask;
	_Atomic(void *) *slots; /* relaxed: ordering comes from head/tail */
};

/* capacity is rounded up to a power of two (at least 2). Returns 0 or -1. */
int vp_ring_init(struct vp_ring *r, size_t capacity);
void vp_ring_destroy(struct vp_ring *r);

static inline size_t vp_ring_capacity(const struct vp_ring *r)
{
	return (size_t)r->mask + 1;
}

/* Producer: false when full. */
static inline bool vp_ring_push(struct vp_ring *r, void *p)
{
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	if (t - r->head_cache > r->mask) {
		r->head_cache =
		    atomic_load_explicit(&r->head, memory_order_acquire);
		if (t - r->head_cache > r->mask)
			return false;
	}
	atomic_store_explicit(&r->slots[t & r->mask], p, memory_order_relaxed);
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	return true;
}

/* Consumer: NULL when empty. Only for rings nobody steals from. */
static inline void *vp_ring_pop(struct vp_ring *r)
{
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	if (h == r->tail_cache) {
		r->tail_cache =
		    atomic_load_explicit(&r->tail, memory_order_acquire);
		if (h == r->tail_cache)
			return NULL;
	}
	void *p =
	    atomic_load_explicit(&r->slots[h & r->mask], memory_order_relaxed);
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return p;
}

/* Consumer pop for rings the producer may steal from (drop-oldest). */
static inline void *vp_ring_pop_shared(struct vp_ring *r)
{
	uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
	for (;;) {
		/* Read tail only when the cached copy runs out. A steal may
		 * have moved head past that copy, hence the signed compare. */
		if ((int64_t)(r->tail_cache - h) <= 0) {
			r->tail_cache = atomic_load_explicit(
			    &r->tail, memory_order_acquire);
			if (h == r->tail_cache)
				return NULL;
		}
		void *p = atomic_load_explicit(&r->slots[h & r->mask],
					       memory_order_relaxed);
		if (atomic_compare_exchange_weak_explicit(&r->head, &h, h + 1,
							  memory_order_acq_rel,
							  memory_order_acquire))
			return p;
	}
}

/* Producer: remove the oldest entry (for drop-oldest). NULL when empty. */
static inline void *vp_ring_steal(struct vp_ring *r)
{
	uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	while (h != t) {
		void *p = atomic_load_explicit(&r->slots[h & r->mask],
					       memory_order_relaxed);
		if (atomic_compare_exchange_weak_explicit(&r->head, &h, h + 1,
							  memory_order_acq_rel,
							  memory_order_acquire))
			return p;
	}
	return NULL;
}

/* Any thread; approximate unless called by the owner of the other index.
 * head is read before tail: whoever moved head to h had seen tail >= h, and
 * the acquire load carries that over, so t - h cannot go negative (reading
 * tail first could, once the consumer or a steal moved head past the tail
 * just read: ~2^64 from a metrics reader). A stale head can make the
 * difference exceed the capacity, hence the clamp. */
static inline size_t vp_ring_count(struct vp_ring *r)
{
	uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
	uint64_t n = t - h;
	return n > r->mask ? (size_t)r->mask + 1 : (size_t)n;
}

static inline bool vp_ring_empty(struct vp_ring *r)
{
	return vp_ring_count(r) == 0;
}

static inline bool vp_ring_full(struct vp_ring *r)
{
	return vp_ring_count(r) > r->mask;
}

#endif
