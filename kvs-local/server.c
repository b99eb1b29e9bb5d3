/* The server: listener, TLS context, signals, and the order of start and
 * stop. Connections are the loop's (loop.c), requests the workers'
 * (pool.c). */
#include "kvs_local.h"

#include "edge.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int stop_pipe[2] = {-1, -1};

/* ------------------------------------------------------------ listener */

static int listen_on(const char *addr, char *host_out, size_t hn, int *port)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	if (!colon || colon == addr || strlen(colon + 1) == 0) {
		kl_log("--listen %s: want HOST:PORT", addr);
		return -1;
	}
	snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = 0;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE},
			*res;
	int e = getaddrinfo(host, colon + 1, &hints, &res);
	if (e) {
		kl_log("--listen %s: %s", addr, gai_strerror(e));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) ||
	    listen(fd, SOMAXCONN)) {
		kl_log("--listen %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*port = ntohs(ss.ss_family == AF_INET
			  ? ((struct sockaddr_in *)&ss)->sin_port
			  : ((struct sockaddr_in6 *)&ss)->sin6_port);
	snprintf(host_out, hn, "%s", host);
	return fd;
}

static void on_signal(int sig)
{
	(void)sig;
	if (stop_pipe[1] >= 0) {
		ssize_t rc = write(stop_pipe[1], "x", 1);
		(void)rc;
	}
}

static SSL_CTX *tls_context(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		kl_log("--tls-cert %s: cannot load the certificate", cert);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		kl_log("--tls-key %s: cannot load the key or it does not match "
		       "the certificate",
		       key);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Room for --max-connections: raise the soft limit on open files to the
 * hard one; if that is still short, lower --max-connections to fit. */
static void fit_fd_limit(struct kl_config *cfg)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	/* each request may hold a few files (fragments, spool) beside its
	 * socket */
	rlim_t spare = 64 + 4 * (rlim_t)cfg->max_requests;
	if (rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)cfg->max_conns + spare > rl.rlim_cur) {
		int fit = rl.rlim_cur > spare ? (int)(rl.rlim_cur - spare) : 1;
		kl_log("--max-connections %d lowered to %d: %llu open files "
		       "allowed (ulimit -n)",
		       cfg->max_conns, fit, (unsigned long long)rl.rlim_cur);
		cfg->max_conns = fit;
	}
}

int kl_server_run(struct kl_server *srv)
{
	struct kl_config *cfg = &srv->cfg;
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	int wake[2];
	if (pipe2(stop_pipe, O_CLOEXEC) || pipe2(wake, O_CLOEXEC))
		return 1;
	kl_conn_set_stop_fd(stop_pipe[0]);
	fit_fd_limit(cfg);
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (cfg->tls_cert &&
	    !(srv->tls = tls_context(cfg->tls_cert, cfg->tls_key)))
		return 1;
	pthread_mutex_init(&srv->throttle_lock, NULL);
	if (kl_store_open(&srv->store, cfg->data_dir, cfg->region) ||
	    kl_store_limits(&srv->store, cfg->max_disk, cfg->live_window_ms) ||
	    kl_edge_open(srv))
		return 1;
	char host[256];
	int port;
	int lfd = listen_on(cfg->listen, host, sizeof host, &port);
	if (lfd < 0)
		return 1;
	bool v6 = strchr(host, ':') != NULL;
	snprintf(srv->endpoint, sizeof srv->endpoint, "%s://%s%s%s:%d",
		 srv->tls ? "https" : "http", v6 ? "[" : "", host,
		 v6 ? "]" : "", port);
	srv->started_ms = kl_now_ms();
	kl_log("%zu streams in %s", srv->store.n_streams, cfg->data_dir);
	printf("kvs-local listening on %s\n", srv->endpoint);
	fflush(stdout);
	if (kl_pool_init(cfg->max_requests, wake[1]))
		return 1;
	kl_loop_run(srv, lfd, stop_pipe[0], wake[0]);
	close(lfd);
	atomic_store(&srv->stopping, 1);
	/* requests see the stop pipe (reads, writes) or the broadcast
	 * (GetMedia waiting for a live fragment) and end */
	pthread_mutex_lock(&srv->store.lock);
	pthread_cond_broadcast(&srv->store.changed);
	pthread_mutex_unlock(&srv->store.lock);
	int running = kl_pool_stop(7000);
	kl_loop_close_all();
	if (running == 0) {
		kl_edge_close(srv);
		kl_store_close(&srv->store);
		if (srv->tls)
			SSL_CTX_free(srv->tls);
	}
	kl_log("stopped");
	return 0;
}
