/* Frame pools across threads: frames allocated on one thread and released
 * on another come back to the pool, the pool never exceeds its limit, and
 * allocation waits (without spinning) while every frame is out. Runs under
 * TSan in `make check`. */
#include <pthread.h>
#include <string.h>

#include "kernel/internal.h"
#include "kernel/ring.h"
#include "tests/unit/check.h"

#define FRAMES 200000
#define LIMIT  8

static struct vp_ring ring;
static _Atomic int released_wrapped;

static void *consumer(void *arg)
{
	(void)arg;
	for (long got = 0; got < FRAMES;) {
		struct vpipe_frame *f = vp_ring_pop(&ring);
		if (!f)
			continue;
		/* payload written by the producer is visible here */
		if (f->size != 4 || memcmp(f->data, &got, 4))
			check_failures++;
		vpipe_frame_unref(f);
		got++;
	}
	return NULL;
}

static void *unref_thread(void *f)
{
	vpipe_frame_unref(f);
	return NULL;
}

static void release_cb(void *opaque)
{
	(void)opaque;
	atomic_fetch_add(&released_wrapped, 1);
}

int main(void)
{
	struct vpipe_node node;
	memset(&node, 0, sizeof(node));
	node.name = "pooltest";
	vp_pool_init(&node.pool, &node, LIMIT);
	vp_ring_init(&ring, 4);
	pthread_t t;
	pthread_create(&t, NULL, consumer, NULL);
	for (long i = 0; i < FRAMES; i++) {
		struct vpipe_frame *f = vpipe_frame_alloc(&node, 4);
		CHECK(f != NULL);
		memcpy(f->data, &i, 4);
		if (i % 1000 == 0) {
			CHECK(vpipe_frame_set_tag(f, "n", "x") == 0);
			CHECK(!strcmp(vpipe_frame_get_tag(f, "n"), "x"));
		}
		while (!vp_ring_push(&ring, f))
			;
	}
	pthread_join(t, NULL);
	CHECK(node.pool.created <= LIMIT);
	printf("pool created %u frames for %d allocations\n", node.pool.created,
	       FRAMES);

	/* Tags: replace, many, rebased when the tag buffer grows. */
	struct vpipe_frame *f = vpipe_frame_alloc(&node, 1);
	char name[32], value[300];
	for (int i = 0; i < VPIPE_MAX_TAGS; i++) {
		snprintf(name, sizeof(name), "tag%d", i);
		memset(value, 'a' + i, sizeof(value) - 1);
		value[sizeof(value) - 1] = 0;
		CHECK(vpipe_frame_set_tag(f, name, value) == 0);
	}
	CHECK(vpipe_frame_set_tag(f, "one-too-many", "x") == -1);
	CHECK(vpipe_frame_set_tag(f, "tag3", "replaced") == 0);
	CHECK(!strcmp(vpipe_frame_get_tag(f, "tag3"), "replaced"));
	CHECK(vpipe_frame_get_tag(f, "tag15")[0] == 'p');
	CHECK(strlen(vpipe_frame_get_tag(f, "tag0")) == 299);
	struct vpipe_frame *g = vpipe_frame_alloc(&node, 1);
	CHECK(vpipe_frame_copy_tags(g, f) == 0 &&
	      g->num_tags == VPIPE_MAX_TAGS);
	vpipe_frame_unref(f);
	vpipe_frame_unref(g);

	/* Wrapped memory: the release callback runs once, on the last unref,
	 * from another thread. */
	static uint8_t buf[16];
	f = vpipe_frame_wrap(&node, buf, sizeof(buf), release_cb, NULL);
	vpipe_frame_ref(f);
	vpipe_frame_unref(f);
	CHECK(atomic_load(&released_wrapped) == 0);
	while (!vp_ring_push(&ring, f))
		;
	pthread_create(&t, NULL, unref_thread, vp_ring_pop(&ring));
	pthread_join(t, NULL);
	CHECK(atomic_load(&released_wrapped) == 1);
	/* DMABUF hints */
	f = vpipe_frame_alloc(&node, 8);
	uint32_t off = 99;
	CHECK(vpipe_frame_dmabuf(f, &off) == -1);
	vpipe_frame_set_dmabuf(f, 7, 4096);
	CHECK(vpipe_frame_dmabuf(f, &off) == 7 && off == 4096);
	vpipe_frame_unref(f);
	/* A reused box starts clean. */
	f = vpipe_frame_alloc(&node, 8);
	CHECK(f->num_tags == 0 && f->pts == VPIPE_TIME_NONE && f->flags == 0);
	CHECK(vpipe_frame_dmabuf(f, NULL) == -1);
	vpipe_frame_unref(f);

	vp_ring_destroy(&ring);
	vp_pool_destroy(&node.pool);
	return check_done();
}
