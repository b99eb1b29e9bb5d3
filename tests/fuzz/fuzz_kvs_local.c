/* The kvs-local request path end to end, without a listener or threads.
 * An input's first byte chooses the configuration (odd: Signature V4 keys
 * configured); the rest is split into connections at
 * "#NEXT-CONNECTION#\n", each written into a socketpair whose far end
 * then stops writing, and served by kl_serve() against a store in a fresh
 * temporary directory: HTTP heads and bodies (chunked, lying lengths),
 * Signature V4, JSON bodies, every operation,
 * PutMedia's chunked, aws-chunked and Matroska paths, then GetMedia,
 * ListFragments and GetMediaForFragmentList over what was stored. */
#include "kvs-local/kvs_local.h"
#include "kvs-local/edge.h"

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define SEPARATOR	"#NEXT-CONNECTION#\n"
#define MAX_CONNECTIONS 6

static char root[] = "/tmp/fuzz_kvs_local.XXXXXX";

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void remove_root(void)
{
	nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(root))
		abort();
	atexit(remove_root);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* Serve one connection whose whole input is data (what fits in the
 * socket buffer; the client end is closed before serving). */
static void serve(struct kl_server *srv, const uint8_t *data, size_t n)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return;
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	while (n > 0) {
		ssize_t k = write(sv[1], data, n);
		if (k <= 0)
			break;
		data += k;
		n -= (size_t)k;
	}
	/* the responses stay in the socket buffer; a response that does not
	 * fit stalls the server's writes, which give up (write_stall_ms) */
	shutdown(sv[1], SHUT_WR);
	struct timeval send_timeout = {0, 10 * 1000};
	setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &send_timeout,
		   sizeof send_timeout);
	struct kl_conn *c = calloc(1, sizeof *c);
	if (!c) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	c->fd = sv[0];
	c->srv = srv;
	snprintf(c->peer, sizeof c->peer, "fuzz");
	kl_serve(c);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 100000)
		return 0;
	static struct kl_server srv;
	memset(&srv, 0, sizeof srv);
	kl_config_defaults(&srv.cfg);
	char dir[sizeof root + 8];
	snprintf(dir, sizeof dir, "%s/data", root);
	srv.cfg.data_dir = dir;
	srv.cfg.no_rate_limits = true; /* time-dependent */
	srv.cfg.max_skew = 0;
	srv.cfg.write_stall_ms = 50;
	if (data[0] & 1) {
		srv.cfg.key.access_key = "AKIDFUZZ";
		srv.cfg.key.secret_key = "fuzz-secret";
	}
	data++;
	size--;
	snprintf(srv.endpoint, sizeof srv.endpoint, "http://127.0.0.1:4567");
	pthread_mutex_init(&srv.throttle_lock, NULL);
	bool opened = kl_store_open(&srv.store, dir, srv.cfg.region) == 0;
	if (opened && kl_edge_open(&srv) == 0) {
		const uint8_t *p = data, *end = data + size;
		size_t sep = strlen(SEPARATOR);
		for (int i = 0; i < MAX_CONNECTIONS && p <= end; i++) {
			const uint8_t *next =
			    memmem(p, (size_t)(end - p), SEPARATOR, sep);
			size_t n =
			    next ? (size_t)(next - p) : (size_t)(end - p);
			serve(&srv, p, n);
			if (!next)
				break;
			p = next + sep;
		}
	}
	kl_edge_close(&srv);
	if (opened)
		kl_store_close(&srv.store);
	pthread_mutex_destroy(&srv.throttle_lock);
	remove_root();
	mkdir(root, 0700);
	return 0;
}
