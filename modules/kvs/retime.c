/* Moving a fragment's Cluster Timecode (see retime.h). */
#include "retime.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "ebml.h"
#include "mkv_scan.h"

uint8_t *kvs_retime_cluster(const uint8_t *p, size_t n, size_t cluster_off,
			    uint64_t ticks, size_t *out_len)
{
	struct mkv_elem c, e;
	if (mkv_elem_read(p, n, cluster_off, &c) != 1 || c.id != MKV_ID_CLUSTER)
		return NULL;
	size_t off = cluster_off + c.head_len;
	/* The Timecode is among the Cluster's first children. */
	while (mkv_elem_read(p, n, off, &e) == 1) {
		size_t end = mkv_elem_end(&e, n);
		if (end == SIZE_MAX)
			return NULL;
		if (e.id != MKV_ID_TIMECODE) {
			off = end;
			continue;
		}
		/* ID (1 byte) + size 0x88 + 8 bytes of value. */
		size_t len = off + 10 + (n - end);
		uint8_t *out = malloc(len);
		if (!out)
			return NULL;
		memcpy(out, p, off);
		out[off] = MKV_ID_TIMECODE;
		out[off + 1] = 0x88;
		wr_be64(out + off + 2, ticks);
		memcpy(out + off + 10, p + end, n - end);
		*out_len = len;
		return out;
	}
	return NULL;
}
