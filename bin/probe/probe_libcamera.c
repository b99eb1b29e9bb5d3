/* `vpipe probe --libcamera`: the libcamera module lists the cameras (see
 * modules/libcamera/lc_probe.cc). The module is loaded like any other,
 * so the vpipe command does not depend on libcamera itself. */
#include "probe.h"

#include <stddef.h>
#include <stdio.h>

#include "kernel/loader.h"

int probe_libcamera(void)
{
	struct vp_module_path mp;
	char err[512];
	vp_module_path_init(&mp, NULL);
	struct vp_module *m =
	    vp_module_load(&mp, "libcamera", err, sizeof(err));
	vp_module_path_free(&mp);
	if (!m) {
		fprintf(stderr,
			"vpipe probe --libcamera: %s (was vpipe built with "
			"libcamera-dev installed?)\n",
			err);
		return 1;
	}
	int (*probe)(void) =
	    m->desc->struct_size > offsetof(struct vpipe_module, probe)
		? m->desc->probe
		: NULL;
	if (!probe) {
		fprintf(stderr,
			"vpipe probe --libcamera: %s has no camera "
			"listing (an older libcamera module?)\n",
			m->path);
		return 1;
	}
	fflush(stdout);
	return probe();
}
