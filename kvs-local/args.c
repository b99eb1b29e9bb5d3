/* The command line: options, the keys to check signatures with, defaults. */
#include "kvs_local.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: vpipe-kvs-local [options] (or: vpipe kvs-local [options])\n"
	    "  --listen HOST:PORT     address (default 127.0.0.1:4567; port "
	    "0 = any free)\n"
	    "  --data DIR             storage (default ./kvs-local-data)\n"
	    "  --tls-cert F --tls-key F   serve HTTPS\n"
	    "  --access-key K --secret-key-file F\n"
	    "                         check Signature V4 with this key; the "
	    "secret on F's first line\n"
	    "                         (default: env KVS_LOCAL_ACCESS_KEY/"
	    "KVS_LOCAL_SECRET_KEY/\n"
	    "                         KVS_LOCAL_SESSION_TOKEN, else "
	    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/\n"
	    "                         AWS_SESSION_TOKEN; none = unchecked)\n"
	    "  --secret-key S, --session-token T   accepted, with a warning "
	    "(ps shows them)\n"
	    "  --no-auth              do not check signatures, whatever the "
	    "environment says\n"
	    "  --region R             region in ARNs and signatures "
	    "(default us-west-2)\n"
	    "  --max-skew SECONDS     allowed request clock skew (300)\n"
	    "  --idle-interval MS     IDLE ack while no PutMedia data "
	    "(3000)\n"
	    "  --max-fragment-size BYTES / --max-fragment-duration MS\n"
	    "                         lower the service limits (tests)\n"
	    "fault injection (off by default):\n"
	    "  --refuse-for MS        refuse connections for MS after start\n"
	    "  --fail-next N          answer HTTP 500 to the next N "
	    "requests\n"
	    "  --drop-after BYTES     cut each PutMedia after BYTES of body\n"
	    "  --ack-delay MS         delay every ACK\n"
	    "  --stall-acks-after N --stall-for MS\n"
	    "                         once: after N ACKs a PutMedia goes "
	    "silent for MS, then closes\n"
	    "  --error-fragment N     ERROR ack (5000) for the Nth fragment\n"
	    "  --throttle TPS         ClientLimitExceededException over TPS\n"
	    "  --repeat-headers       GetMedia: stream header before every "
	    "fragment\n"
	    "  --no-rate-limits       no per-API TPS and fragment-credit "
	    "limits\n"
	    "  --write-timeout MS     drop a peer that reads nothing for MS "
	    "(60000)\n"
	    "connections (docs/kvs-local.md):\n"
	    "  --max-connections N    open connections in all (1024)\n"
	    "  --max-connections-per-client N   from one IP address (128)\n"
	    "  --max-requests N       requests served at once, one thread "
	    "each (128)\n"
	    "  --idle-timeout MS      close a connection with no request for "
	    "MS (30000)\n"
	    "  --header-timeout MS    a request head (and TLS handshake) "
	    "must arrive within MS (10000)\n"
	    "  --body-timeout MS      a non-streaming body must arrive "
	    "within MS (10000)\n"
	    "  -v, --verbose          log every request\n"
	    "storage (docs/kvs-local.md):\n"
	    "  --putmedia-idle-timeout MS  end a PutMedia whose body brings "
	    "no byte for MS\n"
	    "                         (30000)\n"
	    "  --max-disk SIZE        bytes of fragments kept, oldest deleted "
	    "first (K, M, G\n"
	    "                         suffixes; default: what is stored plus "
	    "half the free space)\n"
	    "  --live-window SECONDS  how long streams with retention 0 keep "
	    "fragments (300)\n"
	    "  --edge-sync-timeout SECONDS  an edge configuration no agent "
	    "polls in time\n"
	    "                         becomes SYNC_FAILED/DELETE_FAILED "
	    "(900)\n");
}

int kl_parse_args(int argc, char **argv, struct kl_config *cfg)
{
	enum {
		O_LISTEN = 256,
		O_DATA,
		O_CERT,
		O_KEY,
		O_AK,
		O_SK,
		O_TOKEN,
		O_REGION,
		O_SKEW,
		O_IDLE,
		O_MAXSIZE,
		O_MAXDUR,
		O_REFUSE,
		O_FAIL,
		O_DROP,
		O_DELAY,
		O_ERRFRAG,
		O_THROTTLE,
		O_REPEAT,
		O_NOLIMITS,
		O_STALL,
		O_STALL_ACKS,
		O_STALL_FOR,
		O_SKFILE,
		O_NOAUTH,
		O_MAXCONN,
		O_MAXCLIENT,
		O_MAXREQ,
		O_IDLETO,
		O_HEADTO,
		O_BODYTO,
		O_PUT_IDLE,
		O_MAX_DISK,
		O_LIVE_WINDOW,
		O_EDGE_SYNC,
	};
	static const struct option opts[] = {
	    {"listen", 1, 0, O_LISTEN},
	    {"data", 1, 0, O_DATA},
	    {"tls-cert", 1, 0, O_CERT},
	    {"tls-key", 1, 0, O_KEY},
	    {"access-key", 1, 0, O_AK},
	    {"secret-key", 1, 0, O_SK},
	    {"session-token", 1, 0, O_TOKEN},
	    {"region", 1, 0, O_REGION},
	    {"max-skew", 1, 0, O_SKEW},
	    {"idle-interval", 1, 0, O_IDLE},
	    {"max-fragment-size", 1, 0, O_MAXSIZE},
	    {"max-fragment-duration", 1, 0, O_MAXDUR},
	    {"refuse-for", 1, 0, O_REFUSE},
	    {"fail-next", 1, 0, O_FAIL},
	    {"drop-after", 1, 0, O_DROP},
	    {"ack-delay", 1, 0, O_DELAY},
	    {"error-fragment", 1, 0, O_ERRFRAG},
	    {"throttle", 1, 0, O_THROTTLE},
	    {"repeat-headers", 0, 0, O_REPEAT},
	    {"no-rate-limits", 0, 0, O_NOLIMITS},
	    {"write-timeout", 1, 0, O_STALL},
	    {"stall-acks-after", 1, 0, O_STALL_ACKS},
	    {"stall-for", 1, 0, O_STALL_FOR},
	    {"secret-key-file", 1, 0, O_SKFILE},
	    {"no-auth", 0, 0, O_NOAUTH},
	    {"max-connections", 1, 0, O_MAXCONN},
	    {"max-connections-per-client", 1, 0, O_MAXCLIENT},
	    {"max-requests", 1, 0, O_MAXREQ},
	    {"idle-timeout", 1, 0, O_IDLETO},
	    {"header-timeout", 1, 0, O_HEADTO},
	    {"body-timeout", 1, 0, O_BODYTO},
	    {"putmedia-idle-timeout", 1, 0, O_PUT_IDLE},
	    {"max-disk", 1, 0, O_MAX_DISK},
	    {"live-window", 1, 0, O_LIVE_WINDOW},
	    {"edge-sync-timeout", 1, 0, O_EDGE_SYNC},
	    {"verbose", 0, 0, 'v'},
	    {"help", 0, 0, 'h'},
	    {0, 0, 0, 0},
	};
	optind = 1;
	int o;
	struct kl_key_args keys = {0};
	while ((o = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		char *end = NULL;
		long long n = optarg ? strtoll(optarg, &end, 10) : 0;
		bool num_ok = optarg && end && *end == 0 && n >= 0;
		switch (o) {
		case O_LISTEN:
			cfg->listen = optarg;
			continue;
		case O_DATA:
			cfg->data_dir = optarg;
			continue;
		case O_CERT:
			cfg->tls_cert = optarg;
			continue;
		case O_KEY:
			cfg->tls_key = optarg;
			continue;
		case O_AK:
			keys.access_key = optarg;
			continue;
		case O_SK:
			keys.secret_key = optarg;
			continue;
		case O_TOKEN:
			keys.session_token = optarg;
			continue;
		case O_SKFILE:
			keys.secret_key_file = optarg;
			continue;
		case O_NOAUTH:
			cfg->no_auth = true;
			continue;
		case O_REGION:
			cfg->region = optarg;
			continue;
		case 'v':
			cfg->verbose = true;
			continue;
		case O_REPEAT:
			cfg->repeat_headers = true;
			continue;
		case O_NOLIMITS:
			cfg->no_rate_limits = true;
			continue;
		case O_MAX_DISK:
			if (kl_parse_size(optarg, &cfg->max_disk)) {
				kl_log(
				    "--max-disk: want bytes with an optional "
				    "K, M or G, got '%s'",
				    optarg);
				return -1;
			}
			continue;
		case 'h':
			usage(stdout);
			exit(0);
		case '?':
			usage(stderr);
			return -1;
		}
		if (!num_ok) {
			kl_log("%s: want a non-negative number, got '%s'",
			       argv[optind - 1], optarg);
			return -1;
		}
		switch (o) {
		case O_SKEW:
			cfg->max_skew = (int)n;
			break;
		case O_IDLE:
			cfg->idle_ms = (int)n;
			break;
		case O_PUT_IDLE:
			cfg->body_idle_timeout_ms = (int)n;
			break;
		case O_LIVE_WINDOW:
			cfg->live_window_ms = n * 1000;
			break;
		case O_EDGE_SYNC:
			cfg->edge_sync_timeout_ms = n * 1000;
			break;
		case O_MAXSIZE:
			cfg->max_fragment_size = n;
			break;
		case O_MAXDUR:
			cfg->max_fragment_ms = n;
			break;
		case O_REFUSE:
			cfg->refuse_ms = (int)n;
			break;
		case O_FAIL:
			atomic_store(&cfg->fail_next, (int)n);
			break;
		case O_DROP:
			cfg->drop_after = n;
			break;
		case O_DELAY:
			cfg->ack_delay_ms = (int)n;
			break;
		case O_ERRFRAG:
			cfg->error_fragment = (uint64_t)n;
			break;
		case O_THROTTLE:
			cfg->throttle_tps = (int)n;
			break;
		case O_STALL:
			cfg->write_stall_ms = (int)n;
			break;
		case O_STALL_ACKS:
			cfg->stall_acks_after = n;
			break;
		case O_STALL_FOR:
			cfg->stall_ms = (int)n;
			break;
		case O_MAXCONN:
			cfg->max_conns = (int)n;
			break;
		case O_MAXCLIENT:
			cfg->max_conns_per_client = (int)n;
			break;
		case O_MAXREQ:
			cfg->max_requests = (int)n;
			break;
		case O_IDLETO:
			cfg->idle_timeout_ms = (int)n;
			break;
		case O_HEADTO:
			cfg->header_timeout_ms = (int)n;
			break;
		case O_BODYTO:
			cfg->body_timeout_ms = (int)n;
			break;
		}
	}
	if (optind < argc) {
		kl_log("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (cfg->max_conns < 1 || cfg->max_conns_per_client < 1 ||
	    cfg->max_requests < 1) {
		kl_log("--max-connections, --max-connections-per-client and "
		       "--max-requests must be at least 1");
		return -1;
	}
	if (kl_resolve_keys(cfg, &keys))
		return -1;
	if (!!cfg->tls_cert != !!cfg->tls_key) {
		kl_log("--tls-cert and --tls-key go together");
		return -1;
	}
	return 0;
}

void kl_config_defaults(struct kl_config *cfg)
{
	cfg->listen = "127.0.0.1:4567";
	cfg->data_dir = "kvs-local-data";
	cfg->region = "us-west-2";
	cfg->max_skew = 300;
	cfg->idle_ms = 3000;
	cfg->max_fragment_size = KL_MAX_FRAGMENT_SIZE;
	cfg->max_fragment_ms = KL_MAX_FRAGMENT_MS;
	cfg->write_stall_ms = KL_WRITE_STALL_MS;
	cfg->max_conns = 1024;
	cfg->max_conns_per_client = 128;
	cfg->max_requests = 128;
	cfg->idle_timeout_ms = 30000;
	cfg->header_timeout_ms = 10000;
	cfg->body_timeout_ms = 10000;
	cfg->body_idle_timeout_ms = KL_BODY_IDLE_TIMEOUT_MS;
	cfg->live_window_ms = KL_LIVE_WINDOW_MS;
	cfg->max_disk = -1; /* decided at start from the free space */
}
