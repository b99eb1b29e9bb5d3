/* libFuzzer: StartEdgeConfigurationUpdate bodies. What is accepted meets
 * the model's constraints; what is refused says so. */
#include "common/edge_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("TZ", "America/New_York", 1);
	return 0;
}

static void check_schedule(const struct edge_schedule *s)
{
	if (!s->given)
		return;
	size_t n = strlen(s->expression);
	if (n < 11 || s->schedule.duration_s < 60 ||
	    s->schedule.duration_s > 3600)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct edge_config cfg;
	struct edge_config_error err;
	for (unsigned flags = 0; flags <= EDGE_CONFIG_IGNORE_UNKNOWN; flags++) {
		if (edge_config_parse(&cfg, (const char *)data, size, flags,
				      &err)) {
			if (!err.type || !err.msg[0])
				__builtin_trap();
			continue;
		}
		if (!cfg.stream_name[0] && !cfg.stream_arn[0])
			__builtin_trap();
		if (!cfg.hub_device_arn[0] ||
		    strlen(cfg.media_uri_secret_arn) < 20)
			__builtin_trap();
		const struct edge_deletion *d = &cfg.deletion;
		if (d->retention_hours < 1 || d->retention_hours > 720 ||
		    (d->max_local_media_mb &&
		     (d->max_local_media_mb < 64 ||
		      d->max_local_media_mb > 2000000)))
			__builtin_trap();
		check_schedule(&cfg.recorder);
		check_schedule(&cfg.uploader);
	}
	return 0;
}
