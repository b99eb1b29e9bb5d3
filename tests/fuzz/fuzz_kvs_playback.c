/* libFuzzer: kvs-local's playback request parameters (the bodies of
 * GetClip and GetHLSStreamingSessionURL, an HLS URL's query) and the
 * Matroska-to-MP4 remux of GetClip and HLS over arbitrary bytes. The first
 * byte picks which; what is accepted must be self-consistent. */
#include "kvs-local/kvs_local.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void body(const char *s, size_t n)
{
	struct json_value *v = json_parse(s, n, NULL, NULL);
	char err[300];
	struct kl_ts_selector sel;
	struct kl_hls_params p;
	if (v && kl_parse_clip_params(v, &sel, err, sizeof err) == 0 &&
	    (!sel.has_start || !sel.has_end || sel.end_ms <= sel.start_ms))
		__builtin_trap(); /* a clip needs a forward range */
	if (v && kl_parse_hls_params(v, &p, err, sizeof err) == 0) {
		if (p.expires_s < 300 || p.expires_s > 43200 ||
		    p.max_results < 1 || p.max_results > 5000)
			__builtin_trap();
		if (p.mode == KL_HLS_ON_DEMAND &&
		    (!p.sel.has_start || !p.sel.has_end ||
		     p.sel.end_ms - p.sel.start_ms > KL_HLS_MAX_RANGE_MS))
			__builtin_trap();
	}
	json_free(v);
}

static void query(const char *s)
{
	static const char *const keys[] = {"SessionToken", "FragmentNumber",
					   "TrackNumber"};
	char out[80];
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
		if (kl_query_param(s, keys[i], out, sizeof out) == 0 &&
		    strlen(out) >= sizeof out)
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;
	struct kl_mp4 mp4;
	char err[300];
	switch (data[0] % 3) {
	case 0:
		body(s, size - 1);
		break;
	case 1:
		query(s);
		break;
	default:
		if (kl_mp4_remux(data + 1, size - 1, data[0] & 4, &mp4, err,
				 sizeof err) == 0) {
			if (mp4.init_len > mp4.len)
				__builtin_trap();
			free(mp4.data);
		}
	}
	free(s);
	return 0;
}
