/* H.264 access units from an Annex-B file, for a camera that encodes. */
#include "v4l2dev.h"

#include <stdio.h>
#include <stdlib.h>

static size_t next_start(const uint8_t *p, size_t len, size_t from)
{
	for (size_t i = from; i + 3 <= len; i++)
		if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1)
			return i;
	return len;
}

/* One access unit starts at an AUD/SEI/SPS/PPS after a slice, or at a slice
 * whose first_mb_in_slice is 0 (ue(v) 0 is a single 1 bit) after a slice. */
int dd_h264_load(struct dd_device *dev, const char *path)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return -1;
	fseek(fp, 0, SEEK_END);
	long len = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	dev->h264 = malloc(len > 0 ? (size_t)len : 1);
	if (!dev->h264 || len <= 0 ||
	    fread(dev->h264, 1, (size_t)len, fp) != (size_t)len) {
		fclose(fp);
		return -1;
	}
	fclose(fp);
	dev->h264_len = (size_t)len;
	dev->aus = calloc(DD_MAX_AUS, sizeof(*dev->aus));
	if (!dev->aus)
		return -1;
	const uint8_t *p = dev->h264;
	size_t n = dev->h264_len, pos = next_start(p, n, 0);
	bool have_vcl = false;
	struct dd_au *au = NULL;
	while (pos < n) {
		size_t start = pos > 0 && p[pos - 1] == 0 ? pos - 1 : pos;
		size_t hdr = pos + 3;
		if (hdr >= n)
			break;
		unsigned type = p[hdr] & 0x1f;
		bool vcl = type >= 1 && type <= 5;
		bool first_mb0 = vcl && hdr + 1 < n && (p[hdr + 1] & 0x80);
		bool begins = !au || (have_vcl &&
				      ((type >= 6 && type <= 9) || first_mb0));
		if (begins) {
			if (dev->naus == DD_MAX_AUS)
				break;
			if (au)
				au->len = start - au->off;
			au = &dev->aus[dev->naus++];
			au->off = start;
			au->key = false;
			have_vcl = false;
		}
		if (vcl)
			have_vcl = true;
		if (type == 5)
			au->key = true;
		size_t next = next_start(p, n, hdr);
		size_t end = next < n && p[next - 1] == 0 ? next - 1 : next;
		if ((type == 7 || type == 8) && dev->naus == 1) {
			if (!dev->h264_hdr_len)
				dev->h264_hdr_off = start;
			dev->h264_hdr_len = end - dev->h264_hdr_off;
		}
		pos = next;
	}
	if (au)
		au->len = n - au->off;
	return dev->naus ? 0 : -1;
}
