/* test_grayscale: the example module's own test, with vpipe's test
 * harness (<vpipe/harness.h>): no graph file, no other module. It links
 * grayscale.c in and hands the harness its descriptor; a test of an
 * installed module passes NULL instead and the harness loads NAME.so from
 * $VPIPE_MODULE_PATH.
 *
 * Build and run it against an installed vpipe:
 *   cc -o test_grayscale test_grayscale.c grayscale.c \
 *       $(pkg-config --cflags --libs vpipe-harness)
 *   ./test_grayscale          (exit 0: every check passed)
 */
#include <stdio.h>
#include <string.h>

#include <vpipe/harness.h>
#include <vpipe/vpipe.h>

extern const struct vpipe_module vpipe_module; /* grayscale.c's descriptor */

#define TIMEOUT (5 * VPIPE_S) /* only a bound for a module that hangs */

static int failures;

#define EXPECT(cond)                                                           \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: failed: %s\n", __FILE__,       \
				__LINE__, #cond);                              \
			failures++;                                            \
		}                                                              \
	} while (0)

/* A 32x16 picture: luma 16..., chroma 200 (strongly coloured). */
static size_t picture(uint8_t *buf, struct vpipe_format *fmt, uint32_t fourcc)
{
	size_t size = vpipe_format_raw_init(fmt, fourcc, 32, 16);
	for (size_t i = 0; i < size; i++)
		buf[i] = i < fmt->offset[1] ? (uint8_t)(16 + i % 200) : 200;
	return size;
}

/* Push one picture with strength `strength`; check what comes out. */
static void colour_removed(uint32_t fourcc, const char *strength,
			   uint8_t want_chroma)
{
	struct vpipe_harness *h = vpipe_harness_new("grayscale", &vpipe_module);
	EXPECT(h != NULL);
	if (!h)
		return;
	vpipe_harness_set(h, "strength", strength);
	EXPECT(vpipe_harness_start(h) == 0);

	uint8_t pixels[32 * 16 * 2];
	struct vpipe_frame in;
	struct vpipe_format fmt;
	size_t size = picture(pixels, &fmt, fourcc);
	vpipe_harness_frame_init(&in, VPIPE_MEDIA_RAW_VIDEO, pixels, size,
				 40 * VPIPE_MS);
	in.fmt = fmt;
	in.tags[0] = (struct vpipe_tag){"camera", "porch"};
	in.num_tags = 1;
	EXPECT(vpipe_harness_push(h, 0, &in) == 0);

	struct vpipe_frame *out = vpipe_harness_pull(h, NULL, TIMEOUT);
	EXPECT(out != NULL);
	if (out) {
		EXPECT(out->size == size);
		EXPECT(out->pts == 40 * VPIPE_MS);
		EXPECT(out->fmt.fourcc == fourcc);
		const char *cam = vpipe_frame_get_tag(out, "camera");
		EXPECT(cam && strcmp(cam, "porch") == 0);
		/* luma untouched, every chroma byte faded */
		EXPECT(memcmp(out->data, pixels, fmt.offset[1]) == 0);
		for (size_t i = fmt.offset[1]; i < size; i++)
			if (out->data[i] != want_chroma) {
				EXPECT(out->data[i] == want_chroma);
				break;
			}
		vpipe_frame_unref(out);
	}
	/* End of stream: nothing more, and the node finished cleanly. */
	vpipe_harness_push_eos(h);
	EXPECT(vpipe_harness_pull(h, NULL, TIMEOUT) == NULL);
	EXPECT(vpipe_harness_eos(h));
	EXPECT(vpipe_harness_free(h) == 0);
}

/* A format the module does not take: it fails, and says so. */
static void refuses_yuyv(void)
{
	struct vpipe_harness *h = vpipe_harness_new("grayscale", &vpipe_module);
	EXPECT(vpipe_harness_start(h) == 0);
	uint8_t pixels[32 * 16 * 2] = {0};
	struct vpipe_frame in;
	vpipe_harness_frame_init(&in, VPIPE_MEDIA_RAW_VIDEO, pixels,
				 sizeof(pixels), 0);
	vpipe_format_raw_init(&in.fmt, VPIPE_FOURCC_YUYV, 32, 16);
	vpipe_harness_push(h, 0, &in);
	EXPECT(vpipe_harness_pull(h, NULL, TIMEOUT) == NULL);
	EXPECT(vpipe_harness_eos(h));
	EXPECT(vpipe_harness_free(h) == 1); /* the node failed */
}

int main(void)
{
	colour_removed(VPIPE_FOURCC_NV12, "100", 128);
	colour_removed(VPIPE_FOURCC_I420, "100", 128);
	colour_removed(VPIPE_FOURCC_I420, "50", 164); /* 200 + (128-200)/2 */
	/* A bad value is refused at start, naming the key. */
	struct vpipe_harness *h = vpipe_harness_new("grayscale", &vpipe_module);
	vpipe_harness_set(h, "strength", "150");
	EXPECT(vpipe_harness_start(h) == -1);
	vpipe_harness_free(h);
	refuses_yuyv();
	printf("test_grayscale: %s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
