/* vpipe-kvs-local: a Kinesis Video Streams compatible endpoint for
 * development and tests (docs/kvs-local.md). */
#include "kvs_local.h"

#include <string.h>

int main(int argc, char **argv)
{
	static struct kl_server srv;
	memset(&srv, 0, sizeof srv);
	kl_config_defaults(&srv.cfg);
	if (kl_parse_args(argc, argv, &srv.cfg))
		return 2;
	return kl_server_run(&srv);
}
