/* Formats negotiated before the first frame: what a node declares it will
 * produce (create()) and what a node downstream sees arriving (create(),
 * start()). A restart runs create() again in the node's thread while
 * other nodes may read: the lock keeps a reader from seeing half a format. */
#include "internal.h"

#include <string.h>

#define MAX_HOPS 64 /* pass-through nodes followed upstream at most */

static pthread_mutex_t format_lock = PTHREAD_MUTEX_INITIALIZER;

void vpipe_node_set_output_format(struct vpipe_node *node, unsigned port,
				  const struct vpipe_format *fmt)
{
	if (port >= node->n_out)
		return;
	pthread_mutex_lock(&format_lock);
	node->out[port].has_fmt = fmt != NULL;
	if (fmt)
		node->out[port].fmt = *fmt;
	pthread_mutex_unlock(&format_lock);
}

static struct vp_link *first_link(struct vpipe_node *node, unsigned port)
{
	for (unsigned i = 0; i < node->n_in; i++)
		if (node->in[i]->to_port == port)
			return node->in[i];
	return NULL;
}

/* A port declared ANY (identity) passes on what its first input carries. */
static bool passes_through(const struct vpipe_node *n, unsigned port)
{
	return n->n_in > 0 && n->mod->outputs &&
	       n->mod->outputs[port].media == VPIPE_MEDIA_ANY;
}

int vpipe_node_input_format(struct vpipe_node *node, unsigned port,
			    uint32_t *media, struct vpipe_format *fmt)
{
	if (media)
		*media = 0;
	if (fmt)
		memset(fmt, 0, sizeof(*fmt));
	struct vp_link *l = first_link(node, port);
	if (!l)
		return -1;
	int rc = -1;
	bool media_known = false;
	pthread_mutex_lock(&format_lock);
	for (int hop = 0; l && hop < MAX_HOPS; hop++) {
		const struct vp_outport *op = &l->from->out[l->from_port];
		if (media && !media_known && op->media != VPIPE_MEDIA_ANY) {
			*media = op->media;
			media_known = true;
		}
		if (op->has_fmt) {
			if (fmt)
				*fmt = op->fmt;
			rc = 0;
			break;
		}
		if (!passes_through(l->from, l->from_port))
			break;
		l = l->from->in[0];
	}
	pthread_mutex_unlock(&format_lock);
	if (media && !media_known)
		*media = VPIPE_MEDIA_ANY;
	return rc;
}
