/* H.264 scanning speed: the start-code scan and the Annex-B to AVCC
 * conversion on 1800 synthetic access units of 63 KB (the size of the
 * 1080p30 frames of tests/bench/mkv.sh), against in the same run the
 * previous scan (memchr for each 01 byte), alone and inside the conversion
 * (scan, then copy, NAL unit by NAL unit, then and now). Prints MB/s and
 * ratios; best of 5. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/h264.h"

enum { AUS = 1800, AU_BYTES = 63 * 1024, ROUNDS = 5 };

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef size_t (*scan_fn)(const uint8_t *, size_t, size_t);

/* The scan as it was: memchr for 01, then look back for 00 00. */
static size_t memchr_find(const uint8_t *buf, size_t len, size_t from)
{
	if (len < 3 || from > len - 3)
		return len;
	size_t i = from + 2;
	while (i < len) {
		const uint8_t *p = memchr(buf + i, 1, len - i);
		if (!p)
			return len;
		i = (size_t)(p - buf);
		if (buf[i - 1] == 0 && buf[i - 2] == 0)
			return i - 2;
		i += 3;
	}
	return len;
}

/* The conversion as it was: find each NAL unit (memchr), then copy it. */
static size_t avcc_memchr(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t sc = memchr_find(in, n, 0), o = 0;
	while (sc < n) {
		size_t hdr = sc + 3, next = memchr_find(in, n, hdr), end = next;
		while (end > hdr && in[end - 1] == 0)
			end--;
		size_t len = end - hdr;
		out[o] = (uint8_t)(len >> 24);
		out[o + 1] = (uint8_t)(len >> 16);
		out[o + 2] = (uint8_t)(len >> 8);
		out[o + 3] = (uint8_t)len;
		memcpy(out + o + 4, in + hdr, len);
		o += 4 + len;
		sc = next;
	}
	return o;
}

/* Access units like x264's: AUD-less, 4-byte code, one slice of
 * high-entropy bytes with an emulation-prevention 00 00 03 now and then. */
static uint8_t *make_stream(void)
{
	uint8_t *s = malloc((size_t)AUS * AU_BYTES);
	uint32_t x = 1;
	for (size_t a = 0; a < AUS; a++) {
		uint8_t *p = s + a * AU_BYTES;
		memcpy(p, (const uint8_t[]){0, 0, 0, 1, 0x41, 0xe0}, 6);
		for (size_t i = 6; i < AU_BYTES; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			p[i] = (uint8_t)x;
			if (i >= 2 && p[i - 1] == 0 && p[i - 2] == 0 &&
			    p[i] <= 3)
				p[i] = 3;
		}
	}
	return s;
}

typedef size_t (*conv_fn)(const uint8_t *, size_t, uint8_t *);

static double time_scan(scan_fn f, const uint8_t *s, size_t *found)
{
	double best = 1e9;
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_s();
		size_t n = 0;
		for (size_t a = 0; a < AUS; a++)
			n += f(s + a * AU_BYTES, AU_BYTES, 4) == AU_BYTES;
		double t = now_s() - t0;
		best = t < best ? t : best;
		*found = n;
	}
	return best;
}

static double time_conv(conv_fn f, const uint8_t *s, uint8_t *out,
			size_t *bytes)
{
	double best = 1e9;
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_s();
		size_t n = 0;
		for (size_t a = 0; a < AUS; a++)
			n += f(s + a * AU_BYTES, AU_BYTES, out);
		double t = now_s() - t0;
		best = t < best ? t : best;
		*bytes = n;
	}
	return best;
}

int main(void)
{
	uint8_t *s = make_stream();
	uint8_t *out = malloc(h264_avcc_bound(AU_BYTES));
	double mb = (double)AUS * AU_BYTES / 1e6;
	size_t a, b, ca, cb;
	double t_old = time_scan(memchr_find, s, &a);
	double t_new = time_scan(h264_find_start_code, s, &b);
	double c_old = time_conv(avcc_memchr, s, out, &ca);
	double c_new = time_conv(h264_annexb_to_avcc, s, out, &cb);
	printf("h264 scan: %d access units of %d bytes, best of %d\n", AUS,
	       AU_BYTES, ROUNDS);
	printf("%-26s %10s %12s %8s\n", "run", "MB/s", "us/AU", "ratio");
	printf("%-26s %10.0f %12.2f %8.2f\n", "scan (memchr, before)",
	       mb / t_old, t_old * 1e6 / AUS, 1.0);
	printf("%-26s %10.0f %12.2f %8.2f\n", "scan (zero pairs)", mb / t_new,
	       t_new * 1e6 / AUS, t_new / t_old);
	printf("%-26s %10.0f %12.2f %8.2f\n", "avcc (scan, copy: before)",
	       mb / c_old, c_old * 1e6 / AUS, 1.0);
	printf("%-26s %10.0f %12.2f %8.2f\n", "avcc (zero-pair scan)",
	       mb / c_new, c_new * 1e6 / AUS, c_new / c_old);
	free(out);
	free(s);
	if (a != b || ca != cb) {
		printf("FAIL: results differ (%zu/%zu AUs without a code, "
		       "%zu/%zu AVCC bytes)\n",
		       a, b, ca, cb);
		return 1;
	}
	return 0;
}
