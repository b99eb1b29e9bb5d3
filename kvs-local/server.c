/* The server: listener, TLS context, accepting connections and giving
 * each one its thread, stopping on SIGTERM/SIGINT. */
#include "kvs_local.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int stop_pipe[2] = {-1, -1};

static void *conn_main(void *arg)
{
	struct kl_conn *c = arg;
	struct kl_server *srv = c->srv;
	kl_serve(c);
	atomic_fetch_sub(&srv->n_conns, 1);
	return NULL;
}

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
	    listen(fd, 64)) {
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

static void accept_loop(struct kl_server *srv, int lfd)
{
	int64_t refuse_until = srv->started_ms + srv->cfg.refuse_ms;
	for (;;) {
		struct pollfd p[2] = {{lfd, POLLIN, 0},
				      {stop_pipe[0], POLLIN, 0}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd =
		    accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (kl_now_ms() < refuse_until) {
			/* RST rather than FIN: a refused connection */
			struct linger lg = {1, 0};
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			close(fd);
			kl_log("connection refused (--refuse-for)");
			continue;
		}
		struct kl_conn *c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->srv = srv;
		/* writes come back every second (kl_conn_write) */
		struct timeval send_timeout = {1, 0};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout,
			   sizeof send_timeout);
		char host[INET6_ADDRSTRLEN] = "?";
		int port = 0;
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
			port = ntohs(in->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &in->sin6_addr, host, sizeof host);
			port = ntohs(in->sin6_port);
		}
		snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
		if (srv->tls)
			c->ssl = SSL_new(srv->tls);
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_t t;
		atomic_fetch_add(&srv->n_conns, 1);
		if (pthread_create(&t, &attr, conn_main, c)) {
			atomic_fetch_sub(&srv->n_conns, 1);
			if (c->ssl)
				SSL_free(c->ssl);
			close(fd);
			free(c);
		}
		pthread_attr_destroy(&attr);
	}
}

int kl_server_run(struct kl_server *srv)
{
	struct kl_config *cfg = &srv->cfg;
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	if (pipe(stop_pipe))
		return 1;
	kl_conn_set_stop_fd(stop_pipe[0]);
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (cfg->tls_cert &&
	    !(srv->tls = tls_context(cfg->tls_cert, cfg->tls_key)))
		return 1;
	pthread_mutex_init(&srv->throttle_lock, NULL);
	if (kl_store_open(&srv->store, cfg->data_dir, cfg->region))
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
	if (!cfg->key.access_key)
		kl_log("no --access-key: signatures are not checked");
	kl_log("%zu streams in %s", srv->store.n_streams, cfg->data_dir);
	printf("kvs-local listening on %s\n", srv->endpoint);
	fflush(stdout);
	accept_loop(srv, lfd);
	close(lfd);
	atomic_store(&srv->stopping, 1);
	/* connections see the stop pipe (reads, writes) or the broadcast
	 * (GetMedia waiting for a live fragment) and end */
	pthread_mutex_lock(&srv->store.lock);
	pthread_cond_broadcast(&srv->store.changed);
	pthread_mutex_unlock(&srv->store.lock);
	for (int i = 0; i < 70 && atomic_load(&srv->n_conns) > 0; i++)
		usleep(100 * 1000);
	if (atomic_load(&srv->n_conns) == 0) {
		kl_store_close(&srv->store);
		if (srv->tls)
			SSL_CTX_free(srv->tls);
	}
	kl_log("stopped");
	return 0;
}
