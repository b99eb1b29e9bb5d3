/* Deletion policy of recorded edge media, see edge_deletion.h. */
#include "edge_deletion.h"

#include <stdlib.h>

/* used + need <= limit, without overflow. */
static bool fits(uint64_t used, uint64_t need, uint64_t limit)
{
	return need <= limit && used <= limit - need;
}

struct by_age {
	int64_t start_ms, end_ms;
	size_t index;
};

static int older_first(const void *a, const void *b)
{
	const struct by_age *x = a, *y = b;
	if (x->start_ms != y->start_ms)
		return x->start_ms < y->start_ms ? -1 : 1;
	if (x->end_ms != y->end_ms)
		return x->end_ms < y->end_ms ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

const char *edge_delete_reason_name(enum edge_delete_reason r)
{
	switch (r) {
	case EDGE_DELETE_UPLOADED:
		return "uploaded";
	case EDGE_DELETE_AGE:
		return "age";
	case EDGE_DELETE_SIZE:
		return "size";
	case EDGE_KEEP:
		break;
	}
	return "keep";
}

static void delete_segment(const struct edge_segment *s,
			   enum edge_delete_reason why,
			   enum edge_delete_reason *reason,
			   struct edge_deletion_plan *plan)
{
	*reason = why;
	plan->deleted++;
	plan->deleted_bytes += s->bytes;
	plan->used_bytes -= s->bytes;
	if (!s->uploaded) {
		plan->lost++;
		plan->lost_bytes += s->bytes;
	}
}

/* Rules 1 and 2: uploaded, then too old. */
static void delete_uploaded_and_old(const struct edge_deletion *cfg,
				    const struct edge_segment *segs, size_t n,
				    int64_t now_ms,
				    enum edge_delete_reason *reasons,
				    struct edge_deletion_plan *plan)
{
	/* a zeroed config must not mean "delete everything now" */
	int hours = cfg->retention_hours > 0 ? cfg->retention_hours
					     : EDGE_RETENTION_HOURS_DEFAULT;
	uint64_t retention_ms = (uint64_t)hours * 3600 * 1000;
	for (size_t i = 0; i < n; i++) {
		const struct edge_segment *s = &segs[i];
		if (s->in_use)
			continue;
		if (cfg->delete_after_upload && s->uploaded)
			delete_segment(s, EDGE_DELETE_UPLOADED, &reasons[i],
				       plan);
		else if (s->end_ms <= now_ms &&
			 (uint64_t)now_ms - (uint64_t)s->end_ms >= retention_ms)
			delete_segment(s, EDGE_DELETE_AGE, &reasons[i], plan);
	}
}

/* Rule 3 with DELETE_OLDEST_MEDIA: oldest first until need fits. */
static int delete_oldest(const struct edge_segment *segs, size_t n,
			 uint64_t need_bytes, enum edge_delete_reason *reasons,
			 struct edge_deletion_plan *plan)
{
	struct by_age *order = malloc((n ? n : 1) * sizeof *order);
	if (!order)
		return -1;
	for (size_t i = 0; i < n; i++)
		order[i] = (struct by_age){segs[i].start_ms, segs[i].end_ms, i};
	qsort(order, n, sizeof *order, older_first);
	for (size_t k = 0; k < n; k++) {
		if (fits(plan->used_bytes, need_bytes, plan->limit_bytes))
			break;
		size_t i = order[k].index;
		if (reasons[i] == EDGE_KEEP && !segs[i].in_use)
			delete_segment(&segs[i], EDGE_DELETE_SIZE, &reasons[i],
				       plan);
	}
	free(order);
	return 0;
}

int edge_deletion_plan(const struct edge_deletion *cfg,
		       const struct edge_segment *segs, size_t n,
		       int64_t now_ms, uint64_t need_bytes,
		       enum edge_delete_reason *reasons,
		       struct edge_deletion_plan *plan)
{
	*plan = (struct edge_deletion_plan){0};
	for (size_t i = 0; i < n; i++) {
		reasons[i] = EDGE_KEEP;
		plan->used_bytes += segs[i].bytes;
	}
	delete_uploaded_and_old(cfg, segs, n, now_ms, reasons, plan);
	if (cfg->max_local_media_mb <= 0)
		return 0;
	plan->limit_bytes = (uint64_t)cfg->max_local_media_mb * EDGE_MB_BYTES;
	if (cfg->on_full == EDGE_DELETE_OLDEST_MEDIA &&
	    !fits(plan->used_bytes, need_bytes, plan->limit_bytes) &&
	    delete_oldest(segs, n, need_bytes, reasons, plan))
		return -1;
	plan->deny_new_media =
	    !fits(plan->used_bytes, need_bytes, plan->limit_bytes);
	plan->space_used = (double)plan->used_bytes / (double)plan->limit_bytes;
	return 0;
}
