/* The request parameters of the playback APIs (GetClip,
 * GetHLSStreamingSessionURL, the HLS URLs' queries), checked as the
 * service checks them (kinesis-video-archived-media service-2.json). */
#include "kvs_local.h"

#include <string.h>

/* SelectorType and TimestampRange of sel into out; names for errors. */
static int parse_selector(const struct json_value *sel, const char *name,
			  const char *type_key, struct kl_ts_selector *out,
			  char *err, size_t n)
{
	memset(out, 0, sizeof *out);
	out->producer = false; /* the service's default: SERVER_TIMESTAMP */
	if (!sel)
		return 0;
	if (sel->type != JSON_OBJECT) {
		snprintf(err, n, "%s must be an object", name);
		return -1;
	}
	const struct json_value *tv = json_get(sel, type_key);
	const char *type = json_string(tv);
	if (tv && !type) {
		snprintf(err, n, "%s.%s must be a string", name, type_key);
		return -1;
	}
	if (type && strcmp(type, "PRODUCER_TIMESTAMP") &&
	    strcmp(type, "SERVER_TIMESTAMP")) {
		snprintf(err, n,
			 "%s.%s must be PRODUCER_TIMESTAMP or "
			 "SERVER_TIMESTAMP",
			 name, type_key);
		return -1;
	}
	out->producer = type && !strcmp(type, "PRODUCER_TIMESTAMP");
	const struct json_value *range = json_get(sel, "TimestampRange");
	if (!range)
		return 0;
	if (range->type != JSON_OBJECT) {
		snprintf(err, n, "%s.TimestampRange must be an object", name);
		return -1;
	}
	const struct json_value *s = json_get(range, "StartTimestamp");
	const struct json_value *e = json_get(range, "EndTimestamp");
	if (s && kl_parse_timestamp(s, &out->start_ms)) {
		snprintf(err, n,
			 "%s.TimestampRange.StartTimestamp is not a "
			 "timestamp",
			 name);
		return -1;
	}
	if (e && kl_parse_timestamp(e, &out->end_ms)) {
		snprintf(err, n,
			 "%s.TimestampRange.EndTimestamp is not a "
			 "timestamp",
			 name);
		return -1;
	}
	out->has_start = s != NULL;
	out->has_end = e != NULL;
	if (s && e && out->end_ms <= out->start_ms) {
		snprintf(err, n,
			 "%s.TimestampRange: EndTimestamp must be later than "
			 "StartTimestamp",
			 name);
		return -1;
	}
	return 0;
}

int kl_parse_clip_params(const struct json_value *body,
			 struct kl_ts_selector *sel, char *err, size_t n)
{
	const struct json_value *cs = json_get(body, "ClipFragmentSelector");
	if (!cs) {
		snprintf(err, n, "ClipFragmentSelector is required");
		return -1;
	}
	if (!json_get(cs, "FragmentSelectorType") ||
	    !json_get(cs, "TimestampRange")) {
		snprintf(err, n,
			 "ClipFragmentSelector needs "
			 "FragmentSelectorType and TimestampRange");
		return -1;
	}
	if (parse_selector(cs, "ClipFragmentSelector", "FragmentSelectorType",
			   sel, err, n))
		return -1;
	if (!sel->has_start || !sel->has_end) {
		snprintf(err, n,
			 "ClipFragmentSelector.TimestampRange needs "
			 "StartTimestamp and EndTimestamp");
		return -1;
	}
	return 0;
}

/* An optional integer field in [lo, hi] (else def). */
static int int_field(const struct json_value *body, const char *key, int64_t lo,
		     int64_t hi, int64_t def, int64_t *out, char *err, size_t n)
{
	const struct json_value *v = json_get(body, key);
	*out = def;
	if (!v)
		return 0;
	if (json_int64(v, out) || *out < lo || *out > hi) {
		snprintf(err, n, "%s must be an integer from %lld to %lld", key,
			 (long long)lo, (long long)hi);
		return -1;
	}
	return 0;
}

int kl_parse_hls_params(const struct json_value *body, struct kl_hls_params *p,
			char *err, size_t n)
{
	memset(p, 0, sizeof *p);
	const struct json_value *mv = json_get(body, "PlaybackMode");
	const char *mode = mv ? json_string(mv) : "LIVE";
	if (!mode) {
		snprintf(err, n, "PlaybackMode must be a string");
		return -1;
	}
	if (!strcmp(mode, "LIVE"))
		p->mode = KL_HLS_LIVE;
	else if (!strcmp(mode, "LIVE_REPLAY"))
		p->mode = KL_HLS_LIVE_REPLAY;
	else if (!strcmp(mode, "ON_DEMAND"))
		p->mode = KL_HLS_ON_DEMAND;
	else {
		snprintf(err, n,
			 "PlaybackMode must be LIVE, LIVE_REPLAY or "
			 "ON_DEMAND");
		return -1;
	}
	const struct json_value *cv = json_get(body, "ContainerFormat");
	const char *container = cv ? json_string(cv) : "FRAGMENTED_MP4";
	if (!container || (strcmp(container, "FRAGMENTED_MP4") &&
			   strcmp(container, "MPEG_TS"))) {
		snprintf(err, n,
			 "ContainerFormat must be FRAGMENTED_MP4 or MPEG_TS");
		return -1;
	}
	if (!strcmp(container, "MPEG_TS")) {
		snprintf(err, n,
			 "ContainerFormat MPEG_TS is not served by "
			 "vpipe-kvs-local, which writes fragmented MP4 "
			 "only; use FRAGMENTED_MP4");
		return -1;
	}
	const struct json_value *dv = json_get(body, "DiscontinuityMode");
	const char *disc = dv ? json_string(dv) : "ALWAYS";
	if (!disc || (strcmp(disc, "ALWAYS") && strcmp(disc, "NEVER") &&
		      strcmp(disc, "ON_DISCONTINUITY"))) {
		snprintf(err, n,
			 "DiscontinuityMode must be ALWAYS, NEVER or "
			 "ON_DISCONTINUITY");
		return -1;
	}
	const struct json_value *tv =
	    json_get(body, "DisplayFragmentTimestamp");
	const char *disp = tv ? json_string(tv) : "NEVER";
	if (!disp || (strcmp(disp, "ALWAYS") && strcmp(disp, "NEVER"))) {
		snprintf(err, n,
			 "DisplayFragmentTimestamp must be ALWAYS or "
			 "NEVER");
		return -1;
	}
	if (int_field(body, "Expires", 300, 43200, 300, &p->expires_s, err,
		      n) ||
	    int_field(body, "MaxMediaPlaylistFragmentResults", 1, 5000,
		      p->mode == KL_HLS_ON_DEMAND ? 1000 : 5, &p->max_results,
		      err, n))
		return -1;
	if (parse_selector(json_get(body, "HLSFragmentSelector"),
			   "HLSFragmentSelector", "FragmentSelectorType",
			   &p->sel, err, n))
		return -1;
	const struct kl_ts_selector *s = &p->sel;
	switch (p->mode) {
	case KL_HLS_LIVE:
		if (s->has_start || s->has_end) {
			snprintf(err, n,
				 "a LIVE session takes no "
				 "HLSFragmentSelector.TimestampRange");
			return -1;
		}
		break;
	case KL_HLS_LIVE_REPLAY:
		if (!s->has_start) {
			snprintf(err, n,
				 "LIVE_REPLAY needs "
				 "HLSFragmentSelector.TimestampRange."
				 "StartTimestamp");
			return -1;
		}
		break;
	case KL_HLS_ON_DEMAND:
		if (!s->has_start || !s->has_end) {
			snprintf(err, n,
				 "ON_DEMAND needs "
				 "HLSFragmentSelector.TimestampRange "
				 "with StartTimestamp and EndTimestamp");
			return -1;
		}
		if (s->end_ms - s->start_ms > KL_HLS_MAX_RANGE_MS) {
			snprintf(err, n,
				 "ON_DEMAND TimestampRange is over 24 "
				 "hours");
			return -1;
		}
		break;
	}
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int kl_query_param(const char *query, const char *key, char *out, size_t n)
{
	size_t klen = strlen(key);
	const char *p = query;
	while (p && *p) {
		const char *end = strchr(p, '&');
		if (!end)
			end = p + strlen(p);
		if ((size_t)(end - p) > klen && !strncmp(p, key, klen) &&
		    p[klen] == '=') {
			size_t o = 0;
			for (const char *v = p + klen + 1; v < end; v++) {
				int c = (unsigned char)*v;
				if (c == '%') {
					int h =
					    end - v > 2 ? hex_digit(v[1]) : -1;
					int l = h >= 0 ? hex_digit(v[2]) : -1;
					if (l < 0)
						return -1;
					c = h * 16 + l;
					v += 2;
				}
				if (c == 0 || o + 1 >= n)
					return -1;
				out[o++] = (char)c;
			}
			out[o] = 0;
			return 0;
		}
		p = *end ? end + 1 : end;
	}
	return -1;
}
