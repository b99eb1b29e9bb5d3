/* v4l2 and v4l2m2m logic that needs no device: the lent-buffer set (frames
 * released on other threads, a session ending with frames still
 * downstream, exported DMABUF fds closed last), the plane layouts computed
 * from the driver's bytesperline / sizeimage, and when a DMABUF can be
 * imported by the encoder. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "tests/unit/check.h"
#include "modules/v4l2/v4l2src.h"
#include "modules/v4l2m2m/m2m.h"

static atomic_int unmapped, woken, closed;

static void count_close(int fd)
{
	(void)fd;
	atomic_fetch_add(&closed, 1);
}

static void count_unmap(void *mem, size_t len)
{
	(void)mem;
	(void)len;
	atomic_fetch_add(&unmapped, 1);
}

static void count_wake(struct vpipe_node *node)
{
	(void)node;
	atomic_fetch_add(&woken, 1);
}

static struct bufset *new_set(unsigned n)
{
	struct bufset *s = bufset_new(NULL, n);
	s->unmap = count_unmap;
	s->close_fd = count_close;
	s->wake = count_wake;
	for (unsigned i = 0; i < n; i++) {
		s->bufs[i].mem = (uint8_t *)(uintptr_t)(0x1000 * (i + 1));
		s->bufs[i].length = 4096;
	}
	return s;
}

static void test_returns_while_live(void)
{
	atomic_store(&unmapped, 0);
	atomic_store(&woken, 0);
	struct bufset *s = new_set(4);
	bufset_lend(s, 1);
	bufset_lend(s, 3);
	bufset_release(&s->bufs[3]);
	bufset_release(&s->bufs[1]);
	uint32_t idx[V4L2SRC_MAX_BUFFERS];
	CHECK_EQ_INT(bufset_take_returned(s, idx), 2);
	CHECK_EQ_INT(idx[0], 3);
	CHECK_EQ_INT(idx[1], 1);
	CHECK_EQ_INT(atomic_load(&woken), 2);
	CHECK_EQ_INT(bufset_take_returned(s, idx), 0);
	bufset_end(s); /* nothing downstream: unmapped at once */
	CHECK_EQ_INT(atomic_load(&unmapped), 4);
}

static void test_end_with_frames_downstream(void)
{
	atomic_store(&unmapped, 0);
	struct bufset *s = new_set(3);
	bufset_lend(s, 0);
	bufset_lend(s, 2);
	bufset_release(&s->bufs[0]); /* returned, not yet taken */
	bufset_end(s);		     /* buffer 2 is still downstream */
	CHECK_EQ_INT(atomic_load(&unmapped), 0);
	bufset_release(&s->bufs[2]); /* the last one unmaps */
	CHECK_EQ_INT(atomic_load(&unmapped), 3);
}

/* Exported DMABUF fds stay open while a frame downstream may still be
 * imported by one: they close with the mappings, after the last return. */
static void test_dmabuf_fds_outlive_session(void)
{
	atomic_store(&unmapped, 0);
	atomic_store(&closed, 0);
	struct bufset *s = new_set(2);
	CHECK_EQ_INT(s->bufs[0].dmabuf_fd, -1); /* not exported by default */
	s->bufs[0].dmabuf_fd = 100;
	s->bufs[1].dmabuf_fd = 101;
	bufset_lend(s, 1);
	bufset_end(s);
	CHECK_EQ_INT(atomic_load(&closed), 0);
	bufset_release(&s->bufs[1]);
	CHECK_EQ_INT(atomic_load(&closed), 2);
	CHECK_EQ_INT(atomic_load(&unmapped), 2);
}

struct releaser {
	struct bufset *s;
	unsigned from, to;
};

static void *release_some(void *arg)
{
	struct releaser *r = arg;
	for (unsigned i = r->from; i < r->to; i++)
		bufset_release(&r->s->bufs[i % r->s->count]);
	return NULL;
}

/* Releases on two threads race with the node ending the session. */
static void test_threads(void)
{
	for (int round = 0; round < 200; round++) {
		atomic_store(&unmapped, 0);
		struct bufset *s = new_set(8);
		for (unsigned i = 0; i < 8; i++)
			bufset_lend(s, i);
		struct releaser a = {s, 0, 4}, b = {s, 4, 8};
		pthread_t ta, tb;
		pthread_create(&ta, NULL, release_some, &a);
		pthread_create(&tb, NULL, release_some, &b);
		uint32_t idx[V4L2SRC_MAX_BUFFERS];
		bufset_take_returned(s, idx);
		bufset_end(s);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		CHECK_EQ_INT(atomic_load(&unmapped), 8);
	}
}

static void test_raw_layout(void)
{
	struct vpipe_format f;
	/* a driver that pads lines: 320-pixel YUYV in 704-byte lines */
	CHECK_EQ_INT(v4l2src_raw_layout(&f, V4L2_PIX_FMT_YUYV, 320, 240, 704),
		     704 * 240);
	CHECK_EQ_INT(f.stride[0], 704);
	CHECK_EQ_INT(v4l2src_raw_layout(&f, V4L2_PIX_FMT_NV12, 320, 240, 320),
		     320 * 240 * 3 / 2);
	CHECK_EQ_INT(f.offset[1], 320 * 240);
	CHECK_EQ_INT(f.stride[1], 320);
	CHECK_EQ_INT(v4l2src_raw_layout(&f, V4L2_PIX_FMT_YUV420, 160, 120, 192),
		     192 * 120 + 2 * 96 * 60);
	CHECK_EQ_INT(f.offset[1], 192 * 120);
	CHECK_EQ_INT(f.offset[2], 192 * 120 + 96 * 60);
	CHECK_EQ_INT(f.stride[2], 96);
	/* bytesperline 0 (some drivers): packed */
	CHECK_EQ_INT(v4l2src_raw_layout(&f, V4L2_PIX_FMT_YUYV, 16, 2, 0), 64);
	CHECK_EQ_INT(v4l2src_raw_layout(&f, V4L2_PIX_FMT_H264, 16, 2, 0), 0);
}

static void test_m2m_layout(void)
{
	struct vpipe_format f;
	/* bcm2835-codec: 32-byte lines, luma padded to 16 rows (120 -> 128) */
	m2m_layout(V4L2_PIX_FMT_YUV420, 150, 120, 160, 160 * 128 * 3 / 2, &f);
	CHECK_EQ_INT(f.offset[1], 160 * 128);
	CHECK_EQ_INT(f.stride[1], 80);
	CHECK_EQ_INT(f.offset[2], 160 * 128 + 80 * 64);
	/* a driver that sizes exactly */
	m2m_layout(V4L2_PIX_FMT_NV12, 320, 240, 320, 320 * 240 * 3 / 2, &f);
	CHECK_EQ_INT(f.num_planes, 2);
	CHECK_EQ_INT(f.offset[1], 320 * 240);
	CHECK_EQ_INT(f.stride[1], 320);
	/* sizeimage smaller than the picture: never less than height rows */
	m2m_layout(V4L2_PIX_FMT_YUV420, 64, 64, 64, 100, &f);
	CHECK_EQ_INT(f.offset[1], 64 * 64);
}

/* An encoder configured like bcm2835-codec for I420 at w x h. */
static void fake_encoder(struct m2m_dev *d, uint32_t fourcc, uint32_t w,
			 uint32_t h)
{
	memset(d, 0, sizeof(*d));
	d->dev_fourcc = fourcc;
	d->in.width = w;
	d->in.height = h;
	d->bytesperline = (w + 31) / 32 * 32;
	d->sizeimage = d->bytesperline * ((h + 15) / 16 * 16) * 3 / 2;
}

static int memfd_of(size_t size)
{
	int fd = memfd_create("test-dmabuf", MFD_CLOEXEC);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)size) == 0);
	return fd;
}

static void test_import_check(void)
{
	struct m2m_dev d;
	struct vpipe_format f;
	char why[200];
	size_t size = 0;
	fake_encoder(&d, V4L2_PIX_FMT_YUV420, 320, 240);
	v4l2src_raw_layout(&f, V4L2_PIX_FMT_YUV420, 320, 240, 320);
	int fd = memfd_of(118784); /* 320x240 I420 in whole pages */
	CHECK_EQ_INT(m2m_import_check(&d, &f, fd, 0, &size, why, sizeof(why)),
		     0);
	CHECK_EQ_INT(size, 118784);
	CHECK_EQ_INT(m2m_import_check(&d, &f, -1, 0, &size, why, sizeof(why)),
		     -1);
	CHECK_STR_CONTAINS(why, "carry no DMABUF");
	/* payload not at the start of the buffer */
	CHECK_EQ_INT(
	    m2m_import_check(&d, &f, fd, 4096, &size, why, sizeof(why)), -1);
	CHECK_STR_CONTAINS(why, "plane 0 starts at byte 4096");
	/* the camera pads lines, the encoder does not */
	struct vpipe_format wide;
	v4l2src_raw_layout(&wide, V4L2_PIX_FMT_YUV420, 320, 240, 384);
	CHECK_EQ_INT(
	    m2m_import_check(&d, &wide, fd, 0, &size, why, sizeof(why)), -1);
	CHECK_STR_CONTAINS(why, "plane 0 has lines of 384 bytes, the "
				"encoder's 320");
	/* another pixel format */
	struct vpipe_format nv12;
	v4l2src_raw_layout(&nv12, V4L2_PIX_FMT_NV12, 320, 240, 320);
	CHECK_EQ_INT(
	    m2m_import_check(&d, &nv12, fd, 0, &size, why, sizeof(why)), -1);
	CHECK_STR_CONTAINS(why,
			   "the pictures are NV12, the encoder takes YU12");
	close(fd);
	/* a buffer smaller than the encoder's sizeimage */
	fd = memfd_of(4096);
	CHECK_EQ_INT(m2m_import_check(&d, &f, fd, 0, &size, why, sizeof(why)),
		     -1);
	CHECK_STR_CONTAINS(why, "the DMABUF holds 4096 bytes, the encoder "
				"needs 115200");
	close(fd);
	/* the encoder pads the luma plane to 128 rows */
	fake_encoder(&d, V4L2_PIX_FMT_YUV420, 160, 120);
	v4l2src_raw_layout(&f, V4L2_PIX_FMT_YUV420, 160, 120, 160);
	fd = memfd_of(32768);
	CHECK_EQ_INT(m2m_import_check(&d, &f, fd, 0, &size, why, sizeof(why)),
		     -1);
	CHECK_STR_CONTAINS(why, "plane 1 starts at byte 19200 of the DMABUF, "
				"the encoder reads it at 20480");
	close(fd);
}

int main(void)
{
	test_returns_while_live();
	test_end_with_frames_downstream();
	test_dmabuf_fds_outlive_session();
	test_threads();
	test_raw_layout();
	test_m2m_layout();
	test_import_check();
	return check_done();
}
