/* Moving a fragment's Cluster Timecode: with a spool, the fragments of an
 * earlier run may carry timecodes ahead of this run's clock (a source
 * faster than real time, or a clock set back after a power cut), and the
 * service refuses a fragment that does not start after the previous one
 * ends (FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS, 4004). */
#ifndef VPIPE_MODULES_KVS_RETIME_H
#define VPIPE_MODULES_KVS_RETIME_H

#include <stddef.h>
#include <stdint.h>

/* A copy of the muxer frame p (n bytes, holding a Cluster at cluster_off)
 * whose Cluster Timecode is `ticks`, written in 8 bytes; *out_len its
 * length. NULL when the Cluster has no Timecode in this frame, or out of
 * memory. The caller frees it. */
uint8_t *kvs_retime_cluster(const uint8_t *p, size_t n, size_t cluster_off,
			    uint64_t ticks, size_t *out_len);
#endif
