/*
 * pfhttpd: a pre-forked HTTP/1.1 static-file and WebSocket server.
 *
 * The one private header: shared structs, enums and prototypes, grouped by
 * the file that defines them (a function's prefix is its file's name), and
 * the files by layer, so that it reads as the map of the code:
 *
 *   1. the processes    main, daemon, master, reload, priv, proctitle, log,
 *                       listen, config, shm (shm.h: the segment), logger,
 *                       worker
 *   2. the connection   conn (lifecycle, kinds, the one close), io (bytes)
 *   3. the protocols    http, http_response, authcheck, file, beneath,
 *                       fcache, mime, ws: the kinds a connection speaks,
 *                       what they serve
 *   4. pure helpers     parsers, codecs, the log record and ring, buffers:
 *                       no process, socket or event loop; unit-tested
 *
 * A layer calls the ones below it. The lower layers reach up only for
 * logging (log.c), the counters (shm.h), the running configuration, and
 * the worker's two callbacks (worker_conn_closed, worker_request_done);
 * conn.c reaches the protocols only through a struct conn_kind (and
 * holds a reference on the cache entry whose file it sends).
 *
 * The two structures that embed the helpers' types, struct fcache_entry
 * and struct conn, are defined at the end, as C needs. docs/DESIGN.md
 * describes the whole.
 */

#ifndef PFHTTPD_H
#define PFHTTPD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

struct event;
struct event_base;
struct shm_header;
struct shm_slot;
struct shm_ring;
struct shm_counters;
struct config;
struct conn;
struct fcache_entry;
struct http_request;
struct logrec_access;
struct outq_frame;
struct iovec;
struct wire_out;
struct wire_in;

#define PFHTTPD_NAME	"pfhttpd"
#define PFHTTPD_VERSION "0.1.0"
#define PFHTTPD_SERVER	PFHTTPD_NAME "/" PFHTTPD_VERSION

#define PRINTFLIKE(a, b) __attribute__((format(printf, a, b)))
#define NORETURN	 __attribute__((noreturn))

/*
 * ----------------------------------------------------------------------
 * 1. THE PROCESSES: the master, its children and what they share
 * ----------------------------------------------------------------------
 */

/* daemon.c */
void daemon_pidfile_lock(const char *path);
void daemon_pidfile_write(void);
void daemon_pidfile_remove(void);
void daemon_detach(void);
void daemon_ready(void);
void daemon_forget(void);

/* master.c */
int master_run(struct config *cf);

/* reload.c */
struct config *reload_prepare(struct config *running, uint32_t nslots,
    int *logger_changed, char *err, size_t errlen);

/* priv.c */
void priv_check(const struct config *cf);
void priv_drop(const struct config *cf);
void priv_chown(const struct config *cf, const char *path);
void priv_chgrp(const struct config *cf, const char *path);
int priv_prepare_file(const struct config *cf, const char *path);

/* proctitle.c */
void proctitle_init(int argc, char **argv);
void proctitle_set(const char *, ...) PRINTFLIKE(1, 2);

/* log.c */
void log_init(const char *procname);
void log_copy_stderr(int on);
void log_setproc(const char *procname);
void log_set_debug(int debug);
int log_open_file(const char *path);
int log_reopen(void);
void log_set_ring(struct shm_header *sh, struct shm_ring *rg);
void log_warn(const char *, ...) PRINTFLIKE(1, 2);
void log_warnx(const char *, ...) PRINTFLIKE(1, 2);
void log_info(const char *, ...) PRINTFLIKE(1, 2);
void log_debug(const char *, ...) PRINTFLIKE(1, 2);
void fatal(const char *, ...) PRINTFLIKE(1, 2) NORETURN;
void fatalx(const char *, ...) PRINTFLIKE(1, 2) NORETURN;

/* listen.c */
#define LISTEN_BACKLOG 511

struct listen_addr {
	char la_name[128];	       /* as written in the config */
	struct sockaddr_storage la_ss; /* resolved address */
	socklen_t la_sslen;	       /* length of la_ss */
	int la_fd;		       /* listening socket, -1 until bound */
	int la_line; /* config line it came from, 0: default */
	int la_chat; /* 1: a [chat] listen (telnet), 0: a [server] listen */
	int la_tls;  /* 1: "ADDRESS tls": connections speak TLS first */
};

int listen_parse(
    const char *text, struct listen_addr *la, char *err, size_t errlen);

/* redisaddr.c */

/* [chat] redis: a numeric TCP address or a unix socket path. */
struct redis_addr {
	char ra_host[64]; /* numeric IPv4 or IPv6; "" for a unix socket */
	int ra_port;
	char ra_path[108]; /* the unix socket; "" for TCP */
};

int redis_addr_parse(
    const char *text, struct redis_addr *ra, char *why, size_t len);
void redis_addr_format(const struct redis_addr *ra, char *buf, size_t len);
int listen_bind(struct listen_addr *la, int reuseport, long long notsent_lowat);
int listen_reuseport(const struct listen_addr *la, long long notsent_lowat);
int listen_tune(int fd, long long notsent_lowat);
void listen_close(struct listen_addr *la);

/* cachectl.c */
#define CACHECTL_MAX	   64  /* [http] cache rules at most */
#define CACHECTL_VALUE_MAX 256 /* bytes of a Cache-Control value, NUL too */

/* One [http] cache rule. */
struct cachectl_rule {
	char *cr_match;	      /* "/prefix" or ".ext", then cr_value: one
			       * allocation */
	size_t cr_match_len;  /* of cr_match */
	const char *cr_value; /* the Cache-Control value */
};

/*
 * The [http] cache rules of a site, in the file's order: the first that
 * matches the path of the file served gives its Cache-Control field.
 */
struct cachectl {
	struct cachectl_rule cc_rules[CACHECTL_MAX];
	int cc_n; /* rules used */
};

int cachectl_add(struct cachectl *cc, const char *value, char *why, size_t len);
const char *cachectl_match(
    const struct cachectl *cc, const char *path, size_t len);
int cachectl_copy(struct cachectl *dst, const struct cachectl *src);
void cachectl_free(struct cachectl *cc);

/* htpasswd.c */
#define HTPASSWD_USER_MAX 64  /* bytes of a user name: LOGREC_USER_MAX */
#define HTPASSWD_HASH_MAX 127 /* bytes of a hash: bcrypt 60, $6$ <= 123 */

/* One user of an htpasswd file. */
struct htpasswd_user {
	char hu_name[HTPASSWD_USER_MAX + 1]; /* printable ASCII but ' ', ':' */
	char hu_hash[HTPASSWD_HASH_MAX + 1]; /* bcrypt or SHA-512-crypt */
	int hu_line;			     /* of the file */
};

/* The users of an htpasswd file, sorted by name. */
struct htpasswd {
	struct htpasswd_user *hp_users; /* hp_n of them, by name */
	size_t hp_n;			/* users */
	size_t hp_cap;			/* room in hp_users */
	size_t hp_costliest; /* the user whose hash costs most to compute */
};

int htpasswd_parse(struct htpasswd *hp, const char *text, size_t len, int *line,
    char *why, size_t whylen);
const struct htpasswd_user *htpasswd_find(
    const struct htpasswd *hp, const char *name, size_t len);
int htpasswd_copy(struct htpasswd *dst, const struct htpasswd *src);
void htpasswd_free(struct htpasswd *hp);

/* auth.c */
#define AUTH_RULES_MAX 32  /* [http] auth lines at most */
#define AUTH_REALM_MAX 127 /* bytes of [http] auth_realm */
#define AUTH_CRED_MAX  512 /* bytes of decoded Basic credentials */
#define AUTH_FILE_MAX  (16 * 1024 * 1024) /* bytes of an htpasswd file */

/* One [http] auth line: a path prefix and who may have it. */
struct auth_rule {
	char *ar_prefix;	  /* "/admin/": paths starting with it */
	size_t ar_prefix_len;	  /* of ar_prefix */
	int ar_off;		  /* "PREFIX off": no authentication */
	struct htpasswd ar_users; /* the file's users (none if ar_off) */
};

/*
 * HTTP Basic authentication of a site: [http] auth rules, in the file's
 * order (the first whose prefix starts the path decides), auth_realm and
 * auth_tls_only. Read-only once loaded; copied whole by auth_copy().
 */
struct auth {
	struct auth_rule au_rules[AUTH_RULES_MAX];
	int au_n;			   /* rules used */
	char au_realm[AUTH_REALM_MAX + 1]; /* in WWW-Authenticate */
	int au_tls_only;		   /* plain HTTP gets 403 */
};

/* Basic credentials, decoded from an Authorization field. */
struct auth_basic {
	char ab_buf[AUTH_CRED_MAX + 1]; /* "user", NUL, "password", NUL */
	size_t ab_user_len;		/* user: ab_buf[0..ab_user_len) */
	const char *ab_pass;		/* password, in ab_buf */
};

int auth_add(struct auth *au, const char *value, const char *dir, int load,
    char *why, size_t len, char **file, int *fline);
int auth_realm_set(struct auth *au, const char *value, char *why, size_t len);
const struct auth_rule *auth_match(
    const struct auth *au, const char *path, size_t len);
int auth_basic_parse(const char *value, size_t len, struct auth_basic *ab);
int auth_copy(struct auth *dst, const struct auth *src);
void auth_free(struct auth *au);

/* errpage.c */
#define ERRPAGE_FIRST 400 /* the statuses a page may replace */
#define ERRPAGE_LAST  599

/* The [http] error_page pages of a site, by status. */
struct errpages {
	char *ep_path[ERRPAGE_LAST - ERRPAGE_FIRST + 1]; /* in the document
							  * root, or NULL */
	int ep_line[ERRPAGE_LAST - ERRPAGE_FIRST + 1];	 /* that set it */
};

int errpage_add(
    struct errpages *ep, const char *value, int line, char *why, size_t len);
const char *errpage_path(const struct errpages *ep, int status);
int errpage_copy(struct errpages *dst, const struct errpages *src);
void errpage_free(struct errpages *ep);

/* iplimit.c: per-client-address limits (the table's contract: shm.h) */
#define IPLIMIT_CIDR_MAX 64 /* ranges in [server] limit_exempt */

/* An address range: a 16-byte address (IPv4 mapped) and a prefix. */
struct iplimit_cidr {
	uint8_t ic_addr[16]; /* the network, host bits zero */
	int ic_bits;	     /* prefix length, 0..128 */
};

/* What iplimit_conn_take() decided. */
enum iplimit_verdict {
	IPLIMIT_OK = 0,	       /* counted: give the entry back at close */
	IPLIMIT_REFUSED = 1,   /* over the limit: answer 429 */
	IPLIMIT_UNTRACKED = 2, /* no entry free in its group: not limited */
};

struct sockaddr;
struct shm_ipgroup;
struct shm_ipentry;

int iplimit_cidr_parse(const char *list, struct iplimit_cidr *out, int max,
    char *why, size_t whylen);
int iplimit_cidr_match(
    const struct iplimit_cidr *set, int n, const uint8_t addr[16]);
int iplimit_key(const struct sockaddr *sa, uint8_t key[16]);
enum iplimit_verdict iplimit_conn_take(struct shm_ipgroup *table,
    uint64_t ngroups, uint64_t seed, const uint8_t key[16], uint32_t max,
    uint64_t now_us, struct shm_ipentry **entry);
void iplimit_conn_give(
    struct shm_ipgroup *table, uint64_t ngroups, struct shm_ipentry *entry);
enum iplimit_verdict iplimit_rate_take(struct shm_ipgroup *table,
    uint64_t ngroups, uint64_t seed, const uint8_t key[16], uint64_t rate,
    uint64_t burst, uint64_t now_us, uint64_t *retry_s);
/* accenc.c */

/* The content codings of precompressed files; identity is the original. */
enum accenc_coding {
	ACCENC_IDENTITY = 0,
	ACCENC_GZIP = 1, /* file.gz; "gzip" or "x-gzip" in requests */
	ACCENC_BR = 2,	 /* file.br */
	ACCENC_NCODINGS = 3,
};
#define ACCENC_ANY   ACCENC_NCODINGS /* "*": q[]'s last element */
#define ACCENC_Q_MAX 1000	     /* q=1, in thousandths */

/*
 * [http] precompressed: the codings whose files are looked for beside the
 * original, in the operator's order of preference; al_n 0: off. A per-site
 * setting (a virtual host will carry its own).
 */
struct accenc_list {
	enum accenc_coding al_coding[ACCENC_NCODINGS - 1];
	int al_n; /* entries used */
};

const char *accenc_name(enum accenc_coding coding);
const char *accenc_suffix(enum accenc_coding coding);
void accenc_qvalues(const char *s, size_t len, int q[ACCENC_NCODINGS + 1]);
enum accenc_coding accenc_choose(
    const char *s, size_t len, const struct accenc_list *al, unsigned avail);
int accenc_list_parse(const char *value, struct accenc_list *al);

/* vhost.c */
#define VHOST_MAX	64  /* [host "NAME"] sections at most */
#define VHOST_NAMES_MAX 32  /* names of one host: its own and aliases */
#define VHOST_NAME_MAX	253 /* bytes of a host name, NUL not counted */

/*
 * A virtual host: a [host "NAME"] section, or the implicit one made from
 * [http] when there is none. Each site setting the section does not set
 * is a copy of the [http] one. Read-only once loaded; each worker has its
 * own copy of the config (nothing here is in the shared segment).
 */
struct vhost {
	char *vh_names[VHOST_NAMES_MAX]; /* lower-case, no trailing dot; a
					  * wildcard is "*.suffix" */
	int vh_nnames;			 /* entries used; 0: implicit host */
	char *vh_root;			 /* document root, absolute */
	char *vh_index;			 /* index file name */
	int vh_default;			 /* default = yes */
	int vh_line;			 /* of its section line, 0: implicit */
	struct cachectl vh_cache;	 /* its cache rules */
	struct errpages vh_errpages;	 /* its error pages */
	struct accenc_list vh_precompressed; /* siblings to look for */
	struct auth vh_auth;		     /* Basic authentication */
	int vh_autoindex; /* list a directory with no index */

	/* Its own TLS certificate (tls.c), or none: [tls]'s serves it */
	char *vh_tls_certificate;      /* PEM: the certificate, then its
					* chain; NULL: none */
	char *vh_tls_key;	       /* PEM: its private key */
	struct ssl_ctx_st *vh_tls_ctx; /* built from them and the other [tls]
					* keys by the master
					* (tls_context_host()); NULL: none */
};

int vhost_name_parse(const char *in, char *out, size_t outlen);
int vhost_host_normalize(const char *in, size_t len, char *out, size_t outlen);
int vhost_match(
    const struct vhost *hosts, int nhosts, const char *host, size_t len);
int vhost_select(const struct vhost *hosts, int nhosts, int def,
    const char *host, size_t len);

/* config.c */
#define CONFIG_MAX_LISTEN 16

/* [tls] protocols: the TLS versions offered (cf_tls_protocols). */
#define TLS_PROTO_TLSV1_2 0x01
#define TLS_PROTO_TLSV1_3 0x02

/* [tls] verify_client, in the order of its keywords. */
enum tls_verify {
	TLS_VERIFY_NO = 0,	 /* no client certificate is asked for */
	TLS_VERIFY_OPTIONAL = 1, /* asked for; one given must verify */
	TLS_VERIFY_REQUIRE = 2,	 /* asked for and required */
};
#define CONFIG_ERR_LEN 512

/*
 * The running configuration. Numbers are long long whatever their unit:
 * durations are in milliseconds, sizes in bytes. Paths are absolute.
 */
struct config {
	char *cf_file; /* absolute path of the config file */

	/* [server] */
	struct listen_addr cf_listen[CONFIG_MAX_LISTEN]; /* listen = */
	int cf_nlisten;					 /* entries used */
	long long cf_workers;	       /* worker processes; auto resolved */
	char *cf_user;		       /* drop privileges to, or NULL */
	char *cf_group;		       /* drop privileges to, or NULL */
	char *cf_pid_file;	       /* pid file path, or NULL */
	int cf_daemon;		       /* detach unless -f */
	long long cf_max_connections;  /* per worker */
	long long cf_shutdown_timeout; /* graceful stop bound, ms */
	int cf_reuseport;	       /* a listening socket per worker */
	long long cf_max_conns_per_ip; /* connections an address may hold
					  at once, all workers; 0: any */
	long long cf_limit_rate;       /* requests a second per address; 0:
					  no limit */
	long long cf_limit_burst;      /* ... in a burst (0: twice the rate) */
	char *cf_limit_exempt;	       /* CIDR ranges, spaces; NULL: none */
	struct iplimit_cidr cf_exempt[IPLIMIT_CIDR_MAX]; /* parsed from it */
	int cf_nexempt;		    /* entries of cf_exempt used */
	long long cf_ip_table_size; /* address table entries, a multiple of
				       SHM_IP_WAYS groups, a power of two */

	/* [http] */
	char *cf_root;			     /* document root, a directory */
	char *cf_index;			     /* index file name */
	long long cf_keepalive_timeout;	     /* idle keep-alive, ms */
	long long cf_header_timeout;	     /* whole request header, ms */
	long long cf_send_timeout;	     /* no write progress, ms */
	long long cf_max_header_size;	     /* request line + fields, bytes */
	long long cf_max_keepalive_requests; /* per connection */
	int cf_serve_dotfiles;		     /* serve names starting with . */
	long long cf_notsent_lowat;  /* unsent bytes per socket, 0: kernel's */
	struct cachectl cf_cache;    /* cache rules: Cache-Control by path */
	struct errpages cf_errpages; /* error_page: pages by status */
	struct accenc_list cf_precompressed; /* siblings to look for */
	struct auth cf_auth; /* Basic authentication by path prefix */
	int cf_autoindex;    /* list a directory with no index */

	/* [host "NAME"] sections; without any, one implicit host from [http] */
	struct vhost cf_hosts[VHOST_MAX]; /* in the file's order */
	int cf_nhosts;			  /* entries used, at least 1 */
	int cf_host_default;		  /* index of the default host */

	/* [log] */
	char *cf_error_log;	/* error log path, or NULL for stderr */
	char *cf_access_log;	/* access log path, or NULL for none */
	int cf_log_format;	/* enum log_format */
	long long cf_ring_size; /* log ring bytes per worker slot */

	/* [websocket] */
	char *cf_ws_echo_path;	      /* the echo endpoint, or NULL for none */
	long long cf_ws_max_message;  /* bytes of one message, all frames */
	long long cf_ws_idle_timeout; /* ping after this silence, ms; 0 off */
	char *cf_ws_origins;   /* allowed Origin values, spaces; NULL: any */
	int cf_ws_compression; /* accept permessage-deflate offers */
	long long cf_ws_compression_level;    /* zlib level, 1..9 */
	long long cf_ws_compression_min_size; /* smaller messages go plain */
	long long cf_ws_compression_bits;     /* window the server compresses
					       * with, 9..15 */

	/* [chat] */
	char *cf_chat_path;	     /* WebSocket chat endpoint, or NULL: off */
	char *cf_chat_default_room;  /* room of /chat and of telnet users */
	long long cf_chat_history;   /* events kept per room for newcomers */
	long long cf_chat_max_rooms; /* rooms at most */
	long long cf_chat_max_members;	/* chat clients at most, all workers */
	long long cf_chat_max_message;	/* bytes of one message's text */
	long long cf_chat_rate;		/* messages a second per connection */
	long long cf_chat_burst;	/* ... and in a burst */
	long long cf_chat_idle_timeout; /* ms; 0: none */
	long long cf_chat_max_queue;	/* output queued per client, bytes */
	char *cf_chat_transcript;	/* JSON-lines file, or NULL: none */
	long long cf_chat_ring_size;	/* chat-in ring bytes per worker slot */
	long long cf_chat_bcast_size;	/* broadcast ring bytes */
	char *cf_chat_redis;	    /* numeric HOST:PORT or a unix socket path
				       (redisaddr.c), or NULL: one machine */
	char *cf_chat_redis_prefix; /* of every Redis key */
	long long cf_chat_redis_stream_length; /* events a room's stream
						  keeps, at least */

	/* [stats] */
	char *cf_shm_path;	 /* shared-memory segment */
	int cf_shm_path_derived; /* not set: named after the HTTP port */
	struct listen_addr cf_stats_listen; /* the metrics endpoint; la_sslen
					       0: none (metrics.c) */

	/* [tls] */
	char *cf_tls_certificate; /* PEM: the certificate, then its chain */
	char *cf_tls_key;	  /* PEM: its private key */
	int cf_tls_protocols;	  /* TLS_PROTO_* bits */
	char *cf_tls_ciphers;	  /* OpenSSL cipher list, for TLS 1.2 */
	int cf_tls_tickets;	  /* session tickets: resumption */
	long long cf_tls_session_timeout; /* a session resumes this long, ms */
	char *cf_tls_client_ca;		  /* PEM: CAs of client certificates */
	int cf_tls_verify_client;	  /* enum tls_verify */
	char *cf_tls_hsts; /* Strict-Transport-Security value, or NULL */
	struct ssl_ctx_st *cf_tls_ctx; /* built from the above by the master
					* (tls_context_new()), shared by
					* its workers; NULL without a
					* certificate */
};

struct config *config_load(const char *file, char *err, size_t errlen);
struct config *config_load_keys(const char *file, char *err, size_t errlen);
int config_restart_keys(
    struct config *next, const struct config *running, char *buf, size_t len);
void config_free(struct config *cf);

/* shm.c (layout and contract: shm.h) */

/* The chat region's parameters (struct shm_chat holds them). */
struct shm_chat_geom {
	uint64_t cg_ring_size;	 /* chat-in ring bytes, a power of two */
	uint64_t cg_bcast_size;	 /* broadcast ring bytes, a power of two */
	uint64_t cg_max_rooms;	 /* room table entries */
	uint64_t cg_max_members; /* member table entries */
	uint64_t cg_history;	 /* history entries per room */
	uint64_t cg_max_message; /* text bytes a history entry holds */
};

struct shm_chat;
struct shm_chat_slot;
struct shm_chat_room;
struct shm_chat_member;
struct shm_chat_entry;
struct bcast_ring;

struct shm_ipgroup;

struct shm_header *shm_create(const char *path, uint32_t nslots,
    uint64_t ring_size, const struct shm_chat_geom *cg, uint64_t ip_groups,
    char *err, size_t errlen);
struct shm_ipgroup *shm_ip_table(struct shm_header *sh);
uint64_t shm_ip_ngroups(void);
struct shm_header *shm_attach(const char *path, char *err, size_t errlen);
void shm_detach(struct shm_header *sh);
uint32_t shm_nslots(void);
uint64_t shm_ring_size(void);
struct shm_slot *shm_slot_at(struct shm_header *sh, uint32_t i);
struct shm_ring *shm_ring_at(struct shm_header *sh, uint32_t i);
int shm_master_alive(const struct shm_header *sh);
void shm_totals(const struct shm_header *sh, struct shm_counters *out);
void shm_counters_add(struct shm_counters *to, const struct shm_counters *from);
void shm_logger_wake(struct shm_header *sh);
const struct shm_chat_geom *shm_chat_geometry(void);
struct shm_chat *shm_chat(struct shm_header *sh);
struct shm_chat_slot *shm_chat_slot(struct shm_header *sh, uint32_t i);
struct shm_ring *shm_chat_ring(struct shm_header *sh, uint32_t i);
struct bcast_ring *shm_chat_bcast(struct shm_header *sh);
struct shm_chat_room *shm_chat_room(struct shm_header *sh, uint32_t i);
struct shm_chat_member *shm_chat_member(struct shm_header *sh, uint32_t i);
struct shm_chat_entry *shm_chat_entry(
    struct shm_header *sh, uint32_t room, uint64_t seq);
size_t shm_chat_entry_room(void);
int shm_chat_wake_init(uint32_t nslots);
int shm_chat_hub_fd(void);
int shm_chat_slot_fd(uint32_t i);
void shm_chat_wake_take(int fd);
void shm_chat_wake_hub(struct shm_header *sh);
void shm_chat_wake_slot(struct shm_header *sh, uint32_t i);

/* logger.c */
void logger_main(const struct config *cf, struct shm_header *sh) NORETURN;

/* hub.c */
void hub_main(const struct config *cf, struct shm_header *sh) NORETURN;
/* ... and what hubredis.c calls back */
struct chat_out;
uint64_t hub_now_ms(void);
void hub_apply(uint32_t r, struct chat_out *out);
void hub_apply_none(uint32_t r, uint64_t seq);
void hub_unpublished(const struct chat_out *out);
void hub_redis_applied(void);
void hub_redis_resume(void);
void hub_redis_stopped(void);

/* hubredis.c (the hub's link to Redis) */
void hubredis_start(
    const struct config *cf, struct shm_header *sh, struct event_base *base);
void hubredis_stop(void);
int hubredis_enabled(void);
int hubredis_ready(void);
int hubredis_busy(void);
int hubredis_publish(uint32_t r, const struct chat_out *out);
void hubredis_defer(const struct chat_out *out);
void hubredis_follow(uint32_t r);
void hubredis_unfollow(uint32_t r);
void hubredis_tick(void);

/* worker.c */
struct conn;
TAILQ_HEAD(conn_list, conn);

#define WORKER_NSIGNALS 5 /* entries of worker_signals[] in worker.c */

/* One worker process: its event loop, listeners and connections. */
struct worker {
	struct event_base *w_base; /* the worker's own loop */
	struct config *w_cf;	   /* configuration it was started with */
	int w_id;		   /* 1..workers, as shown by ps */
	int w_rootfd[VHOST_MAX];   /* each host's document root, O_PATH,
				    * as cf_hosts[] */
	struct event *w_accept[CONFIG_MAX_LISTEN]; /* one per listener */
	int w_lfd[CONFIG_MAX_LISTEN]; /* its socket: shared, or own */
	struct event *w_accept_retry; /* resumes accept after EMFILE */
	struct event *w_stop_timer;   /* bounds a graceful stop */
	struct event *w_signals[WORKER_NSIGNALS]; /* TERM INT QUIT HUP USR1 */
	struct conn_list w_conns;		  /* open connections */
	long long w_nconns;			  /* entries in w_conns */
	int w_accepting;			  /* accept events are added */
	int w_draining;		 /* graceful stop in progress */
	time_t w_accept_warned;	 /* last "accept: pausing" warning */
	struct shm_header *w_sh; /* the shared segment */
	struct shm_slot *w_slot; /* this worker's counters */
	struct shm_ring *w_ring; /* this worker's log ring */
};

void worker_main(struct event_base *base, struct config *cf, int id,
    struct shm_header *sh, uint32_t slot) NORETURN;
void worker_conn_closed(struct worker *w);
void worker_request_done(
    struct worker *w, struct logrec_access *ac, uint64_t resp_bytes);

/*
 * ----------------------------------------------------------------------
 * 2. THE CONNECTION: one client socket, whatever it speaks
 * ----------------------------------------------------------------------
 */

/* conn.c */

/*
 * What the connection functions and the kinds' handlers return. The
 * contract: a caller that gets CONN_GONE returns at once and touches the
 * connection no more, it is freed; with any other value the connection is
 * still open, though maybe of another kind (see conn_set_kind()).
 */
#define CONN_GONE (-1) /* closed and freed */
#define CONN_OK	  0    /* still open */
/* conn_flush() only: output waits for the socket; kd_writable runs when it
 * takes more. */
#define CONN_PENDING 0
#define CONN_FLUSHED 1 /* conn_flush() only: all output is in the kernel */

/*
 * A connection kind: what the bytes of a connection mean (HTTP, the
 * WebSocket echo, a lingering close). conn.c owns the socket, the buffers,
 * the events, the timer and the one destructor, and calls these without
 * knowing the kind; a kind sends what it queued with conn_flush(). Every
 * handler returns CONN_GONE or CONN_OK.
 */
struct conn_kind {
	const char *kd_name;		    /* for debug messages */
	int (*kd_start)(struct conn *c);    /* the connection became this
					     * kind: set up, take the input
					     * already buffered */
	int (*kd_readable)(struct conn *c); /* bytes were added to c_in */
	int (*kd_writable)(struct conn *c); /* output waited, and the socket
					     * takes more: conn_flush() */
	int (*kd_timer)(struct conn *c);    /* the conn_timer_set() deadline */
	int (*kd_drain)(struct conn *c);    /* the worker stops gracefully */
	int (*kd_eof)(struct conn *c);	    /* the client shut its write side;
					     * reading stopped, c_in may hold
					     * bytes not yet handled */
	void (*kd_free)(struct conn *c);    /* the kind ends: free its state
					     * (a switch, or conn_close()) */
};

/* What ci_handshake returns, besides -1 (failed: close). */
#define CONN_IO_DONE 1 /* done: the kind starts */
#define CONN_IO_WAIT                                                           \
	0 /* wait for the socket: c_io_wants_write says                        \
	   * for which way */
#define CONN_IO_CLEARTEXT                                                      \
	2 /* the client does not speak TLS: the kind                           \
	   * starts on io_plain with c_cleartext set */

/*
 * How the bytes of a connection move. Every byte a connection reads or
 * writes goes through one of these, so that TLS sits under every kind in
 * one place. Each returns what the system call would, -1 with errno
 * (EAGAIN: wait for the socket). The optional ones are NULL in io_plain.
 */
struct conn_io {
	/* Optional: set up the io's own state; 0 or -1. */
	int (*ci_open)(struct conn *c);
	/* Optional: free it. */
	void (*ci_close)(struct conn *c);
	/* Optional: take the handshake a step, before the kind starts:
	 * CONN_IO_DONE, CONN_IO_WAIT, CONN_IO_CLEARTEXT or -1. */
	int (*ci_handshake)(struct conn *c);
	/* Read up to len bytes into buf. When it waits for the socket to
	 * take output first (TLS), it sets c_io_wants_write. */
	ssize_t (*ci_read)(struct conn *c, void *buf, size_t len);
	/* Optional: bytes read from the socket and held, to read now. */
	size_t (*ci_pending)(struct conn *c);
	/* Send len bytes of buf; more: further output follows at once. */
	ssize_t (*ci_send)(
	    struct conn *c, const void *buf, size_t len, int more);
	/* Send the iovcnt buffers of iov in order, as one write. */
	ssize_t (*ci_sendv)(
	    struct conn *c, const struct iovec *iov, int iovcnt);
	/* Send len bytes of the file fd from *off, which it advances. */
	ssize_t (*ci_sendfile)(struct conn *c, int fd, off_t *off, size_t len);
	/* Optional: send the output the io held back (after a send with
	 * more): 1 if some was held and is sent, 0 if none, -1 errno. */
	int (*ci_flush)(struct conn *c);
	/* Optional: bytes the io took and holds, not yet in the kernel. */
	size_t (*ci_held)(const struct conn *c);
	/* No more output: the client sees the end of it. */
	int (*ci_shutdown)(struct conn *c);
};

void conn_accept(struct worker *w, int fd, const struct sockaddr *sa,
    const struct listen_addr *la, const struct conn_kind *kind,
    const struct conn_io *io);
int conn_set_kind(struct conn *c, const struct conn_kind *kind);
const struct vhost *conn_host(const struct conn *c);
int conn_ip_rate_ok(struct conn *c, uint64_t *retry_s);
void conn_close(struct conn *c, const char *reason);
int conn_drain(struct conn *c);
int conn_flush(struct conn *c);
void conn_send_file(
    struct conn *c, struct fcache_entry *fe, off_t off, off_t len);
int conn_output_queued(const struct conn *c);
size_t conn_out_pending(const struct conn *c);
int conn_queue_frame(struct conn *c, struct outq_frame *f);
void conn_queue_clear(struct conn *c);
void conn_send_some(struct conn *c);
char *conn_out_reserve(struct conn *c, size_t n);
void conn_out_commit(struct conn *c, size_t n);
int conn_linger(struct conn *c, int peer_may_send);
void conn_read_update(struct conn *c);
void conn_timer_set(struct conn *c, long long ms);
void conn_timer_until(struct conn *c, long long deadline);
void conn_timer_stop(struct conn *c);

/* io.c */
extern const struct conn_io io_plain;

/* tls.c */
struct ssl_ctx_st *tls_context_new(
    const struct config *cf, const char **key, char *why, size_t len);
struct ssl_ctx_st *tls_context_host(const struct config *cf,
    const struct vhost *vh, const char **key, char *why, size_t len);
void tls_context_free(struct ssl_ctx_st *ctx);
void tls_context_keep_tickets(
    struct ssl_ctx_st *next, struct ssl_ctx_st *running);
const char *tls_version(const struct conn *c);
const char *tls_cipher(const struct conn *c);
const char *tls_client_subject(const struct conn *c);
int tls_client_cn(const struct conn *c, char *buf, size_t len);

extern const struct conn_io io_tls;

/*
 * ----------------------------------------------------------------------
 * 3. THE PROTOCOLS: the connection kinds and what they serve
 * ----------------------------------------------------------------------
 */

/* http.c */
extern const struct conn_kind http_kind;

void http_request_handle(struct conn *c, struct http_request *req);

/* http_response.c */
void http_response_head(struct conn *c, int status, const char *type,
    off_t length, const char *headers);
void http_response_error(struct conn *c, int status, const char *headers);
void http_response_error_why(
    struct conn *c, int status, const char *headers, const char *why);

/* file.c */
int file_root_open(const char *root);
int file_error_page(struct conn *c, int status, const char *headers);
void file_serve(struct conn *c, struct http_request *req, const char *path);

/* authcheck.c */
int authcheck_path(struct conn *c, const struct http_request *req,
    const struct auth *au, const char *path);
int authcheck_request(
    struct conn *c, const struct http_request *req, const char *path);

/* chatauth.c */
int chatauth_handshake(struct conn *c, const struct http_request *req,
    const char *room, int *rule);
int chatauth_may_join(const struct config *cf, int rule, const char *room);
int chatauth_reserved(const struct config *cf, const char *nick);

/* beneath.c */
int beneath_open(int dirfd, const char *path, int flags);
int beneath_open_compat(int rootfd, const char *path, int flags);

/* autoindex.c */
#define AUTOINDEX_ENTRIES_MAX 10000 /* directory entries looked at */
#define AUTOINDEX_PAGE_MAX    (2 * 1024 * 1024) /* bytes of a listing page */

/* One entry of a directory listing: a regular file or a directory. */
struct autoindex_entry {
	char *ae_name;	 /* its name: no '/', not "." or ".." */
	int ae_dir;	 /* a directory (else a regular file) */
	off_t ae_size;	 /* bytes, of a file */
	time_t ae_mtime; /* last modification, seconds since the epoch */
};

/* What autoindex_read() found in a directory. */
struct autoindex_dir {
	struct autoindex_entry *ad_ents; /* ad_n entries, unsorted */
	size_t ad_n;			 /* entries used */
	size_t ad_cap;			 /* entries allocated */
	int ad_more;			 /* entries were left unread */
};

int autoindex_read(
    int rootfd, const char *path, int dotfiles, struct autoindex_dir *ad);
void autoindex_dir_free(struct autoindex_dir *ad);
int autoindex_escape_html(const char *s, char *out, size_t outlen);
int autoindex_encode_url(const char *s, char *out, size_t outlen);
char *autoindex_render(const char *path, struct autoindex_entry *ents, size_t n,
    int more, size_t max, size_t *lenp);

/* fcache.c */
#define FCACHE_TTL_MS	     1000	 /* an entry is looked up again after */
#define FCACHE_INLINE_MAX    (16 * 1024) /* files kept in memory up to this */
#define FCACHE_ACCEPT_RANGES "Accept-Ranges: bytes\r\n" /* fe_fields' start */
#define FCACHE_CODED_FIELDS                                                    \
	"Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n" /* at most */
#define FCACHE_FIELDS_LEN                                                      \
	(sizeof(FCACHE_ACCEPT_RANGES                                           \
	     "Last-Modified: \r\nETag: \r\n" FCACHE_CODED_FIELDS               \
	     "Cache-Control: \r\n") +                                          \
	    HTTPDATE_LEN + ETAG_LEN + CACHECTL_VALUE_MAX)

struct fcache_entry *fcache_get(const char *path, size_t len);
struct fcache_entry *fcache_new(const char *path, size_t len);
int fcache_keep(struct fcache_entry *fe, char *bytes, size_t len);
void fcache_put(struct fcache_entry *fe);
void fcache_release(struct fcache_entry *fe);
void fcache_flush(void);

/* mime.c */
void mime_init(void);
const char *mime_type(const char *path);

/* ws.c */
extern const struct conn_kind ws_kind;
extern const struct conn_kind ws_chat_kind;

void ws_handshake(struct conn *c, const struct http_request *req);
void ws_handshake_kind(struct conn *c, const struct http_request *req,
    const struct conn_kind *kind);
void ws_close(struct conn *c, int code, const char *reason);

/* wschat.c */
struct wschat;

int wschat_route(
    struct conn *c, const struct http_request *req, const char *path);
struct wschat *wschat_start(struct conn *c);
int wschat_is_endpoint(const struct config *cf, const char *path);
void wschat_frame(struct wschat *wc, struct conn *c, int text, const void *p,
    size_t len, int fin);
void wschat_closed(struct wschat *wc);
int wschat_ready(const struct wschat *wc);
void wschat_free(struct wschat *wc);

/* telnetchat.c */
extern const struct conn_kind telnetchat_kind;

/* chat.c */

struct chat_client;
struct chat_since;

void chat_init(struct worker *w, uint32_t slot);
const char *chat_tls_nick(const struct conn *c, char *buf, size_t len);
int chat_client_start(struct chat_client *cc, struct conn *c, int telnet,
    const char *room, const char *nick, const struct chat_since *since,
    void (*close)(struct conn *, int, const char *));
int chat_client_ready(const struct chat_client *cc);
void chat_client_input(struct chat_client *cc, const char *text, size_t len);
void chat_client_error(
    struct chat_client *cc, const char *code, const char *text);
void chat_client_end(struct chat_client *cc);

/*
 * ----------------------------------------------------------------------
 * 4. PURE HELPERS: no process, socket or event; each has a unit test
 * ----------------------------------------------------------------------
 */

/* chat: bounds shared by the chat modules */
#define CHAT_NAME_MAX 32    /* a room or nick: 1..32 of A-Za-z0-9_- */
#define CHAT_TEXT_MAX 16384 /* a message's text, bytes (max_message_size) */

/* http_parse.c */
#define HTTP_MAX_HEADERS 64

enum http_method {
	HTTP_METHOD_UNKNOWN = 0, /* a valid token we do not know */
	HTTP_METHOD_GET,
	HTTP_METHOD_HEAD,
	HTTP_METHOD_POST,
	HTTP_METHOD_PUT,
	HTTP_METHOD_DELETE,
	HTTP_METHOD_CONNECT,
	HTTP_METHOD_OPTIONS,
	HTTP_METHOD_TRACE,
	HTTP_METHOD_PATCH,
};

enum http_body {
	HTTP_BODY_NONE = 0, /* no body follows the header */
	HTTP_BODY_LENGTH,   /* hr_content_length bytes follow */
	HTTP_BODY_CHUNKED,  /* chunked transfer coding follows */
};

struct http_header {
	const char *hh_name; /* field name, not NUL-terminated */
	size_t hh_name_len;
	const char *hh_value; /* value without surrounding whitespace */
	size_t hh_value_len;
};

/*
 * A parsed request header. Every pointer points into the buffer given to
 * http_parse_request(), which must outlive the request.
 */
struct http_request {
	enum http_method hr_method;
	const char *hr_method_str; /* method as sent */
	size_t hr_method_len;
	const char *hr_target; /* request target as sent */
	size_t hr_target_len;
	const char *hr_path; /* path of the target, still %-encoded */
	size_t hr_path_len;
	const char *hr_query; /* after '?' (excluded), or NULL */
	size_t hr_query_len;
	const char *hr_line; /* the request line without CRLF */
	size_t hr_line_len;
	int hr_version_major;
	int hr_version_minor;
	const char *hr_host; /* absolute-form authority or Host, or NULL */
	size_t hr_host_len;
	int hr_nheaders;
	int hr_keepalive;	/* version and Connection allow keep-alive */
	int hr_expect_continue; /* Expect: 100-continue */
	enum http_body hr_body;
	unsigned long long hr_content_length; /* with HTTP_BODY_LENGTH */
	/* Last: only the first hr_nheaders are set, the rest never cleared. */
	struct http_header hr_headers[HTTP_MAX_HEADERS];
};

/* Incremental search for the end of a request header block. */
struct http_scan {
	size_t hs_off;	    /* bytes of the buffer already examined */
	size_t hs_line_end; /* length of the request line, 0 until seen */
	int hs_bad;	    /* 1 once the input cannot be a request: 400 */
	int hs_state;	    /* private */
};

/* Incremental decoder that skips a chunked request body. */
struct http_chunked {
	int hc_state;			 /* private */
	unsigned long long hc_remaining; /* private: chunk data left */
	size_t hc_line_len;		 /* private: size/trailer line */
	size_t hc_trailer_len;		 /* private: trailer bytes */
};

void http_scan_init(struct http_scan *hs);
size_t http_scan_header(struct http_scan *hs, const char *buf, size_t len);
int http_parse_request(const char *buf, size_t len, struct http_request *req);
const struct http_header *http_header_find(
    const struct http_request *req, const char *name);
int http_token_list_has(const char *list, size_t len, const char *token);
int http_hex_value(unsigned char c);
void http_chunked_init(struct http_chunked *hc);
ssize_t http_chunked_consume(
    struct http_chunked *hc, const char *buf, size_t len, int *done);

/* path.c */
int path_normalize(const char *path, size_t len, char *out, size_t outlen);
int path_has_dotfile(const char *path);
int path_encode(const char *path, char *out, size_t outlen);
int path_unreserved(int c);
int path_percent_encode(
    const char *s, int (*keep)(int), char *out, size_t outlen);

/* range.c */
enum range_result {
	RANGE_NONE = 0,	    /* absent, unparseable or several: send all */
	RANGE_SATISFIABLE,  /* *first..*last (inclusive) */
	RANGE_UNSATISFIABLE /* 416 with Content-Range: bytes * / size */
};

enum range_result range_parse(
    const char *value, size_t len, off_t size, off_t *first, off_t *last);

/* httpdate.c */
#define HTTPDATE_LEN 30 /* "Sun, 06 Nov 1994 08:49:37 GMT" + NUL */

/* "YYYY-MM-DDTHH:MM:SS.Z" and n digits of fraction */
#define HTTPDATE_RFC3339_LEN(n) (21 + (size_t)(n))

void httpdate_digits(char *p, unsigned long v, int n);
void httpdate_format(time_t t, char buf[HTTPDATE_LEN]);
size_t httpdate_rfc3339(
    const struct tm *tm, unsigned long frac, int frac_digits, char *buf);
int httpdate_parse(const char *s, size_t len, time_t *t);

/* etag.c */
#define ETAG_LEN 64

void etag_make(const struct timespec *mtime, off_t size, char buf[ETAG_LEN]);
void etag_make_coded(const struct timespec *mtime, off_t size,
    const char *coding, char buf[ETAG_LEN]);
int etag_list_match(const char *list, size_t len, const char *etag, int weak);

/* wsproto.c */
#define WS_OP_CONTINUATION 0x0
#define WS_OP_TEXT	   0x1
#define WS_OP_BINARY	   0x2
#define WS_OP_CLOSE	   0x8
#define WS_OP_PING	   0x9
#define WS_OP_PONG	   0xa

#define WS_CLOSE_NORMAL	      1000
#define WS_CLOSE_GOING_AWAY   1001
#define WS_CLOSE_PROTOCOL     1002
#define WS_CLOSE_UNSUPPORTED  1003
#define WS_CLOSE_INVALID_DATA 1007
#define WS_CLOSE_POLICY	      1008
#define WS_CLOSE_TOO_BIG      1009
#define WS_CLOSE_INTERNAL     1011
#define WS_CLOSE_TRY_AGAIN    1013

#define WS_CONTROL_MAX 125  /* payload bytes of a control frame */
#define WS_HEADER_MAX  14   /* longest frame header, mask included */
#define WS_ACCEPT_LEN  29   /* base64 of a SHA-1 digest, and NUL */
#define WS_RSV1	       4    /* in wf_rsv: a compressed message (RFC 7692) */
#define WS_HDR_RSV1    0x40 /* in a header's first byte */

/* A frame header as sent on the wire. */
struct ws_frame {
	int wf_fin;	    /* last frame of its message */
	int wf_rsv;	    /* RSV1-3 as bits 2..0 */
	int wf_opcode;	    /* WS_OP_* or a reserved value */
	int wf_masked;	    /* the MASK bit */
	uint64_t wf_len;    /* payload bytes */
	uint8_t wf_mask[4]; /* masking key, zeros if unmasked */
};

ssize_t wsproto_parse_header(const void *buf, size_t n, struct ws_frame *fh);
int wsproto_check_frame(const struct ws_frame *fh, int in_message, int deflate);
size_t wsproto_build_header(void *buf, int fin, int opcode, uint64_t len);
void wsproto_unmask(
    void *dst, const void *src, size_t n, const uint8_t mask[4], uint64_t off);
int wsproto_close_code_valid(unsigned code);
int wsproto_close_class(unsigned code);
int wsproto_accept(const char *key, size_t len, char accept[WS_ACCEPT_LEN]);
int wsproto_handshake(const struct http_request *req, const char *origins,
    char accept[WS_ACCEPT_LEN]);

/* wsext.c */
#define WSEXT_ANSWER_MAX 160 /* the longest answer, NUL included */

/* What the server allows when it negotiates permessage-deflate. */
struct wsext_policy {
	int wx_enabled;	    /* [websocket] compression */
	int wx_window_bits; /* [websocket] compression_window_bits */
	int wx_shared;	    /* answer server_no_context_takeover always */
};

/* permessage-deflate as agreed on a connection (RFC 7692). */
struct wsdeflate_params {
	int dp_on;	      /* agreed: RSV1 marks a compressed message */
	int dp_server_no_ctx; /* the server's context resets per message */
	int dp_client_no_ctx; /* the client's does */
	int dp_server_bits;   /* window the server compresses with; 0: it
			       * sends every message uncompressed */
	int dp_client_bits;   /* window the client compresses with */
};

int wsext_negotiate_value(const char *value, size_t len,
    const struct wsext_policy *pol, struct wsdeflate_params *dp, char *answer);
int wsext_negotiate(const struct http_request *req,
    const struct wsext_policy *pol, struct wsdeflate_params *dp, char *answer);

/* wsdeflate.c */
struct wsinflate;
struct wsdeflate;

#define WS_DEFLATE_MIN_BITS 9 /* the smallest raw window zlib writes */
#define WSINFLATE_STOPPED   1 /* a sink's "closed already: stop" */

/* Where inflated bytes go: return 0, a close code to stop with, or
 * WSINFLATE_STOPPED when the caller closed the connection itself. */
typedef int (*wsinflate_sink)(void *arg, const unsigned char *p, size_t n);

struct wsinflate *wsinflate_new(int bits, int no_ctx);
void wsinflate_free(struct wsinflate *wi);
int wsinflate_data(struct wsinflate *wi, const void *in, size_t n, uint64_t max,
    wsinflate_sink sink, void *arg);
int wsinflate_end(
    struct wsinflate *wi, uint64_t max, wsinflate_sink sink, void *arg);
struct wsdeflate *wsdeflate_new(int bits, int level, int no_ctx);
void wsdeflate_free(struct wsdeflate *wd);
struct wsdeflate *wsdeflate_shared(int bits, int level);
size_t wsdeflate_bound(size_t n);
ssize_t wsdeflate_message(struct wsdeflate *wd, const struct iovec *iov,
    int cnt, void *out, size_t size);

/* utf8.c */
#define UTF8_ACCEPT 0	       /* between sequences: a text may end here */
#define UTF8_REJECT UINT32_MAX /* an invalid byte was seen */

size_t utf8_validate(uint32_t *state, const void *buf, size_t n);
int utf8_complete(uint32_t state);

/* telnet.c */
#define TELNET_SB_MAX 64 /* subnegotiation bytes skipped before giving up */

/* The line reader of a telnet or nc chat client; see telnet.c. */
struct telnet {
	char *tn_buf;	  /* the line so far: tn_max bytes and a NUL */
	size_t tn_max;	  /* longest line, bytes */
	size_t tn_len;	  /* bytes in tn_buf */
	int tn_too_long;  /* the line outgrew tn_buf: discarding to its end */
	int tn_cr;	  /* a CR ended the last line: skip an LF next */
	int tn_state;	  /* private: where in the telnet command syntax */
	size_t tn_sb_len; /* private: bytes of the subnegotiation so far */
	uint32_t tn_utf8; /* UTF-8 validation state of the line */
};

/*
 * What telnet_scan() found. With tl_complete, a line ended: either its
 * text (valid UTF-8, no CR, LF or NUL, tl_len <= max_line bytes, and a NUL
 * after them) or one of the two flags, with tl_text NULL and tl_len 0.
 */
struct telnet_line {
	int tl_complete;     /* a line ended; else all input was consumed */
	int tl_too_long;     /* it had more than max_line bytes */
	int tl_bad_utf8;     /* it was not valid UTF-8 */
	const char *tl_text; /* its text, in the reader's buffer */
	size_t tl_len;	     /* its length, bytes */
};

int telnet_init(struct telnet *t, size_t max_line);
void telnet_free(struct telnet *t);
size_t telnet_scan(
    struct telnet *t, const char *in, size_t n, struct telnet_line *line);

/* chatcmd.c */
enum chatcmd_kind {
	CHATCMD_NONE = 0, /* nothing to do: a blank message */
	CHATCMD_MESSAGE,  /* cc_arg: the text to broadcast */
	CHATCMD_NICK,	  /* cc_arg: the new nick, a valid name */
	CHATCMD_JOIN,	  /* cc_arg: the room, a valid name */
	CHATCMD_ME,	  /* cc_arg: the action */
	CHATCMD_WHO,	  /* list the room */
	CHATCMD_HELP,	  /* list the commands */
	CHATCMD_QUIT,	  /* leave */
	CHATCMD_BAD,	  /* bad_command: cc_reason, cc_arg what was wrong */
	CHATCMD_BAD_NAME, /* bad_nick: cc_reason, cc_arg the name */
};

/* A parsed message or command; cc_arg points into the parsed text. */
struct chat_cmd {
	enum chatcmd_kind cc_kind; /* what it is */
	const char *cc_arg;	   /* its argument, or NULL */
	size_t cc_arg_len;	   /* bytes of cc_arg */
	const char *cc_reason;	   /* why it is bad, or NULL; a constant */
};

enum chatcmd_kind chatcmd_parse(
    const char *text, size_t len, struct chat_cmd *cmd);

/* rate.c */
#define RATE_PER_SECOND 5		      /* chat messages a second */
#define RATE_BURST	(2 * RATE_PER_SECOND) /* ... and in a burst */

/* A token bucket, in millitokens (1000 a message). */
struct rate {
	uint64_t rt_tokens; /* millitokens in the bucket */
	uint64_t rt_max;    /* its capacity: burst * 1000 */
	uint64_t rt_per_ms; /* millitokens added a millisecond */
	long long rt_last;  /* when it was last filled, ms */
};

void rate_init(struct rate *r, unsigned per_second, unsigned burst);
int rate_allow(struct rate *r, long long now_ms);

/* logrec.c */
#define LOGREC_MAX	       4096 /* largest encoded record, bytes */
#define LOGREC_ADDR_MAX	       63   /* bounds of the logged fields, bytes */
#define LOGREC_METHOD_MAX      31
#define LOGREC_TARGET_MAX      1024
#define LOGREC_PROTO_MAX       15
#define LOGREC_REFERER_MAX     512
#define LOGREC_AGENT_MAX       512
#define LOGREC_MESSAGE_MAX     1024
#define LOGREC_TLS_VERSION_MAX 15  /* "TLSv1.3" */
#define LOGREC_TLS_CIPHER_MAX  63  /* an OpenSSL cipher name */
#define LOGREC_TLS_SUBJECT_MAX 512 /* a certificate subject, RFC 2253 */
#define LOGREC_HOST_MAX	       VHOST_NAME_MAX /* the host that answered */
#define LOGREC_PORT_MAX	       5	      /* "65535" */
#define LOGREC_USER_MAX	       64	      /* a Basic auth user name */

enum logrec_type {
	LOGREC_ACCESS = 1, /* a finished request */
	LOGREC_ERROR = 2,  /* a formatted error-log line from a worker */
};

/* A log record as the worker builds it and the logger reads it. */
struct logrec {
	enum logrec_type lr_type;
	uint64_t lr_time_usec;	   /* end of the request, unix microseconds */
	uint64_t lr_duration_usec; /* first request byte to last sent */
	uint64_t lr_bytes;	   /* response body bytes sent */
	int lr_status;		   /* response status */
	char lr_addr[LOGREC_ADDR_MAX + 1];	 /* client address */
	char lr_method[LOGREC_METHOD_MAX + 1];	 /* "" if none was read */
	char lr_target[LOGREC_TARGET_MAX + 1];	 /* request target */
	char lr_protocol[LOGREC_PROTO_MAX + 1];	 /* "HTTP/1.1" */
	char lr_referer[LOGREC_REFERER_MAX + 1]; /* "" if absent */
	char lr_agent[LOGREC_AGENT_MAX + 1];	 /* "" if absent */
	char lr_tls_version[LOGREC_TLS_VERSION_MAX + 1]; /* "" if plain */
	char lr_tls_cipher[LOGREC_TLS_CIPHER_MAX + 1];	 /* "" if plain */
	char lr_tls_subject[LOGREC_TLS_SUBJECT_MAX + 1]; /* "" if none */
	char lr_host[LOGREC_HOST_MAX + 1]; /* host that answered, "" if none */
	char lr_port[LOGREC_PORT_MAX + 1]; /* local port, decimal */
	char lr_user[LOGREC_USER_MAX + 1]; /* Basic auth user, "" if none */
	char lr_message[LOGREC_MESSAGE_MAX + 1]; /* LOGREC_ERROR: one line */
};

#define LOGREC_NSTR 12 /* string fields of an access record */

/*
 * A request line kept for the access log, split into its method, target
 * and protocol, each cut to its bound. A line that is not a request line
 * is all target.
 */
struct logrec_line {
	char rl_method[LOGREC_METHOD_MAX + 1];	/* NUL-terminated, "" if none */
	char rl_target[LOGREC_TARGET_MAX + 1];	/* NUL-terminated */
	char rl_protocol[LOGREC_PROTO_MAX + 1]; /* NUL-terminated */
	uint16_t rl_method_len;			/* their lengths */
	uint16_t rl_target_len;
	uint16_t rl_protocol_len;
};

/* A string field of an access record, where the worker has it. */
struct logrec_str {
	const char *lstr_ptr; /* its bytes, no NUL among them */
	size_t lstr_len;      /* how many; cut to the field's bound */
};

/* An access record's fields, for logrec_encode_access(). */
struct logrec_access {
	uint64_t ac_time_usec;	     /* end of the request, unix microseconds */
	uint64_t ac_duration_usec;   /* first request byte to last sent */
	uint64_t ac_bytes;	     /* response body bytes sent */
	int ac_status;		     /* response status */
	struct logrec_str ac_addr;   /* client address */
	struct logrec_str ac_method; /* "" if no request line was read */
	struct logrec_str ac_target; /* request target */
	struct logrec_str ac_protocol;	  /* "HTTP/1.1" */
	struct logrec_str ac_referer;	  /* "" if absent */
	struct logrec_str ac_agent;	  /* "" if absent */
	struct logrec_str ac_tls_version; /* "TLSv1.3", "" if plain */
	struct logrec_str ac_tls_cipher;  /* OpenSSL's name, "" if plain */
	struct logrec_str ac_tls_subject; /* verified client's, "" if none */
	struct logrec_str ac_host;	  /* host that answered, "" if none */
	struct logrec_str ac_port;	  /* local port, decimal */
	struct logrec_str ac_user;	  /* Basic auth user, "" if none */
};

void logrec_line_save(struct logrec_line *rl, const char *p, size_t len,
    const struct http_request *req);
void logrec_line_clear(struct logrec_line *rl);
void logrec_access_strings(struct logrec_access *ac, const char *addr,
    const struct logrec_line *rl, const char *referer, const char *agent);
void logrec_access_tls(struct logrec_access *ac, const char *version,
    const char *cipher, const char *subject);
void logrec_access_site(struct logrec_access *ac, const char *host,
    const char *port, const char *user);
size_t logrec_encode(const struct logrec *lr, void *buf, size_t len);
size_t logrec_access_size(const struct logrec_access *ac);
void logrec_encode_access(const struct logrec_access *ac, void *buf);
int logrec_decode(const void *buf, size_t len, struct logrec *lr);

/* logfmt.c */
enum log_format {
	LOG_FORMAT_COMBINED = 0,
	LOG_FORMAT_COMMON,
	LOG_FORMAT_JSON,
	LOG_FORMAT_VHOST_COMBINED, /* "HOST:PORT " then combined */
};

/* Room for any access line whole, every byte escaped: the logger's. */
#define LOGFMT_LINE_MAX 20480

size_t logfmt_access(
    const struct logrec *lr, enum log_format fmt, char *buf, size_t len);

/* chatev.c */

/*
 * The longest encoded chat event, bytes: a message or /me at its text
 * bound (a nick change, with its third name and no text, is shorter).
 */
#define CHATEV_MAX (1 + 2 * 8 + 2 * (1 + CHAT_NAME_MAX) + 2 + CHAT_TEXT_MAX)

/* The sequenced events of a room (the record's type byte). */
enum chat_type {
	CHAT_MESSAGE = 1, /* nick said text */
	CHAT_ME,	  /* "/me text": nick does text */
	CHAT_JOIN,	  /* nick joined the room */
	CHAT_LEAVE,	  /* nick left the room */
	CHAT_NICK,	  /* ce_old is now known as nick */
};

/*
 * A chat event, as the hub orders it in a room and every worker renders
 * it. A decoded event's ce_text points into the record it came from.
 */
struct chat_event {
	enum chat_type ce_type;
	uint64_t ce_seq;		 /* in its room, from 1 */
	uint64_t ce_time_ms;		 /* when, unix milliseconds */
	char ce_room[CHAT_NAME_MAX + 1]; /* NUL-terminated, a valid name */
	char ce_nick[CHAT_NAME_MAX + 1]; /* who; for CHAT_NICK the new */
	char ce_old[CHAT_NAME_MAX + 1];	 /* CHAT_NICK: the previous
					  * nick; "" otherwise */
	const char *ce_text; /* CHAT_MESSAGE, CHAT_ME: valid UTF-8, not
			      * NUL-terminated; NULL for the others */
	size_t ce_text_len;  /* its bytes, at most CHAT_TEXT_MAX; 0 for the
			      * types without text */
};

const char *chatev_type_name(enum chat_type type);
int chatev_type_parse(const char *s, size_t n, enum chat_type *type);
int chatev_name_valid(const char *s, size_t len);
void chatev_put_name(struct wire_out *w, const char *s);
int chatev_get_name(struct wire_in *r, char *s, int empty_ok);
size_t chatev_size(const struct chat_event *ev);
size_t chatev_encode(const struct chat_event *ev, void *buf, size_t len);
int chatev_decode(const void *buf, size_t len, struct chat_event *ev);

/* chatmsg.c */
#define CHATMSG_TELNET	   0x01 /* request flag: a telnet client */
#define CHATOUT_NICK_TAKEN 0x01 /* join flag: the nick asked for was taken */
#define CHATMSG_WHO_MAX	   1000 /* nicks a who reply lists at most */

/* The longest request, bytes. */
#define CHATMSG_REQ_MAX                                                        \
	(2 + 4 + 8 + 4 + 2 * (1 + CHAT_NAME_MAX) + 2 + CHAT_TEXT_MAX)
/*
 * The longest out-record of an event whose text is at most n bytes: a
 * message or /me of n bytes, or a nick change (three names, no text).
 */
#define CHATMSG_OUT_EVENT_MAX(n)                                               \
	(28 + CHATEV_MAX - CHAT_TEXT_MAX +                                     \
	    ((size_t)(n) > CHAT_NAME_MAX - 1 ? (size_t)(n)                     \
					     : CHAT_NAME_MAX - 1))
/* The longest out-record. */
#define CHATMSG_OUT_MAX                                                        \
	(28 + 1 + CHAT_NAME_MAX + 2 + CHATMSG_WHO_MAX * (CHAT_NAME_MAX + 2))

/* What a worker asks of the hub for one of its chat clients. */
enum chatreq_op {
	CHATREQ_JOIN = 1, /* join cr_room as cr_nick (or a guest name) */
	CHATREQ_LEAVE,	  /* leave its room (the client is gone) */
	CHATREQ_SAY,	  /* say cr_text */
	CHATREQ_ME,	  /* "/me cr_text" */
	CHATREQ_NICK,	  /* be called cr_nick from now on */
	CHATREQ_WHO,	  /* list its room */
};

/* A request; cr_text points into the record it was decoded from. */
struct chat_req {
	enum chatreq_op cr_op;
	uint32_t cr_flags;		 /* CHATMSG_TELNET */
	uint32_t cr_pid;		 /* the worker's pid */
	uint64_t cr_conn;		 /* the client, not 0 */
	uint32_t cr_member;		 /* its member index, or UINT32_MAX */
	char cr_room[CHAT_NAME_MAX + 1]; /* see chatmsg.c */
	char cr_nick[CHAT_NAME_MAX + 1];
	const char *cr_text; /* CHATREQ_SAY, CHATREQ_ME: valid UTF-8 */
	size_t cr_text_len;
};

/* The hub's out-records: a sequenced event, or a reply to one client. */
enum chatout_kind {
	CHATOUT_EVENT = 1, /* co_ev, from co_conn (or the hub: 0) */
	CHATOUT_WHO,	   /* to co_conn: the members of co_ev.ce_room */
	CHATOUT_ERROR,	   /* to co_conn: co_error */
	CHATOUT_WELCOME,   /* to co_conn: it is in room co_room as co_ev's
			      nick, after event co_ev.ce_seq - 1; a join that
			      could not be published (Redis unreachable) */
};

/* The errors only the hub can tell (the workers check the others). */
enum chatout_error {
	CHATERR_NICK_TAKEN = 1, /* another member of the room has it */
	CHATERR_TOO_MANY_ROOMS, /* max_rooms rooms have members */
	CHATERR_FULL,		/* max_members clients are in rooms */
	CHATERR_UNAVAILABLE,	/* Redis cannot be reached: not sent */
};

/* An out-record; pointers point into the record it was decoded from. */
struct chat_out {
	enum chatout_kind co_kind;
	uint32_t co_flags;	 /* CHATOUT_NICK_TAKEN */
	uint32_t co_slot;	 /* origin or addressee: worker slot, */
	uint32_t co_pid;	 /* its pid, */
	uint64_t co_conn;	 /* and connection id (0: none) */
	uint32_t co_member;	 /* the origin's member, or UINT32_MAX */
	uint32_t co_room;	 /* room index */
	uint32_t co_epoch;	 /* the room entry's epoch */
	uint32_t co_error;	 /* CHATOUT_ERROR: enum chatout_error */
	struct chat_event co_ev; /* CHATOUT_EVENT; CHATOUT_WHO: ce_room */
	const char *co_nicks;	 /* CHATOUT_WHO: see chatmsg_who_names() */
	size_t co_nnicks;
};

size_t chatmsg_req_encode(const struct chat_req *req, void *buf, size_t len);
int chatmsg_req_decode(const void *buf, size_t len, struct chat_req *req);
size_t chatmsg_out_encode(const struct chat_out *out, const char *const nicks[],
    size_t n, void *buf, size_t len);
int chatmsg_out_decode(const void *buf, size_t len, struct chat_out *out);
size_t chatmsg_who_names(const struct chat_out *out, const char *names[]);

/* chatredis.c */

#define CHATREDIS_ARGS 12 /* an entry's field and value strings, at most */
/*
 * The highest sequence number taken from Redis: 2^53 - 1, what the
 * scripts' Lua numbers (doubles) and JavaScript clients hold exactly; an
 * entry above it is refused, so no room's number can wrap.
 */
#define CHATREDIS_SEQ_MAX ((1ULL << 53) - 1)

/* The fields of an event's stream entry (chatredis_encode()). */
struct chatredis_fields {
	const char *cf_argv[CHATREDIS_ARGS];
	size_t cf_len[CHATREDIS_ARGS];
	int cf_n;	    /* strings used */
	char cf_time[24];   /* the time field's value */
	char cf_origin[96]; /* the origin field's value */
};

/* What a stream entry is read as: its room and number, and by whom. */
struct chatredis_entry {
	const char *re_room;  /* the room, a valid name */
	uint64_t re_seq;      /* from the entry's ID */
	uint64_t re_instance; /* the reading hub's instance id */
	size_t re_max_text;   /* [chat] max_message_size */
};

int chatredis_encode(
    const struct chat_out *out, uint64_t instance, struct chatredis_fields *f);
int chatredis_decode(const char *const argv[], const size_t len[], size_t n,
    const struct chatredis_entry *en, struct chat_out *out);
int chatredis_id_seq(const char *id, size_t len, uint64_t *seq);
int chatredis_hex16(const char *s, uint64_t *v);

/* chatfmt.c */

/*
 * Worst-case rendering sizes, NUL included. CHATFMT_JSON_MAX holds any
 * event, with or without history (the fixed text, two names, 20 digits
 * of seq, 24 bytes of time, every text byte escaped to 6, as \u00XX),
 * and any welcome, gap or error reply whose text is at most
 * CHAT_TEXT_MAX bytes; CHATFMT_LINE_MAX likewise for the telnet lines
 * (a line never grows its text). A who reply of n nicks needs the
 * CHATFMT_*_WHO_MAX(n) of its form.
 */
#define CHATFMT_JSON_MAX                                                       \
	(sizeof("{\"type\":\"message\",\"room\":\"\",\"seq\":,\"time\":\"\","  \
		"\"nick\":\"\",\"text\":\"\",\"history\":true}") +             \
	    2 * CHAT_NAME_MAX + 20 + 24 + 6 * CHAT_TEXT_MAX)
#define CHATFMT_LINE_MAX                                                       \
	(sizeof("[00:00:00] <> \r\n") + CHAT_NAME_MAX + CHAT_TEXT_MAX)
#define CHATFMT_JSON_WHO_MAX(n)                                                \
	(sizeof("{\"type\":\"who\",\"room\":\"\",\"nicks\":[]}") +             \
	    CHAT_NAME_MAX + (size_t)(n) * (CHAT_NAME_MAX + 3))
#define CHATFMT_LINE_WHO_MAX(n)                                                \
	(sizeof("* in :\r\n") + CHAT_NAME_MAX +                                \
	    (size_t)(n) * (CHAT_NAME_MAX + 2))

size_t chatfmt_json(
    const struct chat_event *ev, int history, char *buf, size_t len);
size_t chatfmt_json_welcome(
    const char *room, const char *nick, uint64_t seq, char *buf, size_t len);
size_t chatfmt_json_who(const char *room, const char *const nicks[], size_t n,
    char *buf, size_t len);
size_t chatfmt_json_gap(
    const char *room, uint64_t missed, char *buf, size_t len);
size_t chatfmt_json_error(
    const char *code, const char *text, char *buf, size_t len);
size_t chatfmt_line(const struct chat_event *ev, char *buf, size_t len);
size_t chatfmt_line_welcome(
    const char *room, const char *nick, char *buf, size_t len);
size_t chatfmt_line_who(const char *room, const char *const nicks[], size_t n,
    char *buf, size_t len);
size_t chatfmt_line_gap(uint64_t missed, char *buf, size_t len);
size_t chatfmt_line_error(
    const char *code, const char *text, char *buf, size_t len);

/* transcript.c */

/*
 * The chat hub's transcript: one chatfmt_json() line per sequenced event,
 * appended; read back when the hub starts. The format, what is accepted
 * and what a crash leaves are at the top of transcript.c.
 */
int transcript_open(const char *path);
int transcript_append(int fd, const struct chat_event *ev);
int transcript_parse_line(const char *line, size_t len, struct chat_event *ev,
    char *text, size_t textlen);
long transcript_restore(const char *path,
    void (*fn)(void *arg, const struct chat_event *ev), void *arg,
    unsigned long *bad);

/* logring.c */

/* Room reserved in a log ring for one record, until logring_commit(). */
struct logring_slot {
	void *ls_payload;      /* where the payload goes */
	void *ls_header;       /* where its length goes, at commit */
	size_t ls_len;	       /* payload bytes */
	uint64_t ls_next_head; /* rg_head once it is published */
};

int logring_reserve(
    struct shm_ring *rg, uint64_t size, size_t len, struct logring_slot *ls);
void logring_commit(struct shm_ring *rg, const struct logring_slot *ls);
int logring_put(
    struct shm_ring *rg, uint64_t size, const void *rec, size_t len);
size_t logring_get(
    struct shm_ring *rg, uint64_t size, void *buf, size_t buflen);
uint64_t logring_pending(const struct shm_ring *rg);
size_t logring_read(struct shm_ring *rg, uint64_t size, uint64_t *cursor,
    void *buf, size_t buflen);
uint64_t logring_cursor(const struct shm_ring *rg);
void logring_release(struct shm_ring *rg, uint64_t cursor);

/* bcast.c */
#define BCAST_CACHELINE 64 /* struct bcast_ring's size and alignment */

/*
 * A broadcast ring: one writer, readers with cursors of their own; this
 * header is followed by its data, `size` bytes (a power of two, >= 4096).
 * The fields are stored by the writer only; readers only load them. The
 * contract, with the memory ordering, is at the top of bcast.c.
 */
struct bcast_ring {
	uint64_t br_head;	/* bytes ever published; a multiple of 8 */
	uint64_t br_oldest;	/* where the oldest intact record starts,
				   br_head - size .. br_head */
	uint64_t br_next_event; /* number the next record gets, from 1 */
	uint8_t br_pad[BCAST_CACHELINE - 24];
	/* followed by the ring's data */
} __attribute__((aligned(BCAST_CACHELINE)));

/* A reader's place in a broadcast ring: private, in no shared memory. */
struct bcast_cursor {
	uint64_t bc_pos;  /* byte count where the next record is read */
	uint64_t bc_next; /* event number expected next */
};

int bcast_init(struct bcast_ring *br, uint64_t size);
size_t bcast_max_payload(uint64_t size);
uint64_t bcast_publish(
    struct bcast_ring *br, uint64_t size, const void *payload, size_t len);
void bcast_cursor_init(const struct bcast_ring *br, struct bcast_cursor *bc);
ssize_t bcast_read(const struct bcast_ring *br, uint64_t size,
    struct bcast_cursor *bc, void *buf, size_t buflen, uint64_t *event,
    uint64_t *missed);
uint64_t bcast_lag(const struct bcast_ring *br, const struct bcast_cursor *bc);

/*
 * wire: bounded writing and reading of the binary records (logrec.c,
 * chatev.c) and of the transcript's lines (transcript.c). A write that
 * does not fit marks the writer full and writes nothing; a read past the
 * end fails; neither touches memory outside its buffer. Inline: the
 * access record is written once a request.
 */

/* A buffer being written. */
struct wire_out {
	unsigned char *wo_buf; /* wo_len bytes */
	size_t wo_len;	       /* its size */
	size_t wo_pos;	       /* bytes written */
	int wo_full;	       /* something did not fit */
};

/* A buffer being read. */
struct wire_in {
	const unsigned char *wi_buf; /* wi_len bytes */
	size_t wi_len;		     /* its size */
	size_t wi_pos;		     /* bytes consumed */
};

/* Start writing len bytes at buf. */
static inline void
wire_out_init(struct wire_out *w, void *buf, size_t len)
{
	w->wo_buf = buf;
	w->wo_len = len;
	w->wo_pos = 0;
	w->wo_full = 0;
}

/* Append the n bytes at p, or mark the buffer full if they do not fit. */
static inline void
wire_put(struct wire_out *w, const void *p, size_t n)
{
	if (w->wo_full || n > w->wo_len - w->wo_pos) {
		w->wo_full = 1;
		return;
	}
	memcpy(w->wo_buf + w->wo_pos, p, n);
	w->wo_pos += n;
}

/* Start reading the len bytes at buf. */
static inline void
wire_in_init(struct wire_in *r, const void *buf, size_t len)
{
	r->wi_buf = buf;
	r->wi_len = len;
	r->wi_pos = 0;
}

/* Return the next n input bytes where they are, consumed, or NULL. */
static inline const void *
wire_take(struct wire_in *r, size_t n)
{
	const void *p;

	if (n > r->wi_len - r->wi_pos)
		return NULL;
	p = r->wi_buf + r->wi_pos;
	r->wi_pos += n;
	return p;
}

/* Copy the next n input bytes to p; 0, or -1 if they are missing. */
static inline int
wire_get(struct wire_in *r, void *p, size_t n)
{
	const void *src;

	if ((src = wire_take(r, n)) == NULL)
		return -1;
	memcpy(p, src, n);
	return 0;
}

/* outq.c */

/* Bytes of output shared by connections; immutable once queued. */
struct outq_frame {
	unsigned of_refs; /* queues holding it, and its maker's */
	size_t of_len;	  /* bytes of of_data */
	char of_data[];
};

/* A connection's queue of frames (outq.c). */
struct outq {
	struct outq_frame **oq_ring; /* oq_cap entries */
	unsigned oq_head;	     /* the first frame's entry */
	unsigned oq_len;	     /* frames queued */
	unsigned oq_cap;	     /* entries of oq_ring */
	size_t oq_off;		     /* bytes of the first frame sent */
	size_t oq_bytes;	     /* bytes queued, not yet sent */
};

struct outq_frame *outq_frame_new(size_t len);
void outq_frame_unref(struct outq_frame *f);
int outq_push(struct outq *q, struct outq_frame *f);
int outq_iov(const struct outq *q, struct iovec *iov, int max);
void outq_sent(struct outq *q, size_t n);
void outq_clear(struct outq *q);
void outq_free(struct outq *q);

/* buf.c */

/* A byte buffer: the bytes in use are b_data[b_start .. b_end). */
struct buf {
	char *b_data;	/* b_cap bytes, or NULL */
	size_t b_start; /* first byte in use */
	size_t b_end;	/* one past the last */
	size_t b_cap;	/* bytes allocated */
};

int buf_init(struct buf *b, size_t cap);
void buf_free(struct buf *b);
void buf_drain(struct buf *b, size_t n);
char *buf_space(struct buf *b, size_t n);
int buf_add(struct buf *b, const void *p, size_t n);
void buf_trim(struct buf *b, size_t cap);

/* Return the number of bytes in use in b. */
static inline size_t
buf_len(const struct buf *b)
{
	return b->b_end - b->b_start;
}

/* Return the first byte in use in b. */
static inline char *
buf_data(const struct buf *b)
{
	return b->b_data + b->b_start;
}

/* Count n bytes written into the room buf_space() returned as in use. */
static inline void
buf_commit(struct buf *b, size_t n)
{
	b->b_end += n;
}

/*
 * ----------------------------------------------------------------------
 * 5. STRUCTURES THAT EMBED THE HELPERS' TYPES, defined last for C
 * ----------------------------------------------------------------------
 */

/* fcache.c */

/* What a request path resolved to, for FCACHE_TTL_MS. */
struct fcache_entry {
	int fe_refs;   /* the table's, and each response's sending from it */
	int fe_status; /* 0: a regular file; 301: a directory to redirect to
			* its slashed URL; 200: a directory's listing (no
			* index, autoindex), its page the body; else the
			* error status to answer */
	int fe_fd;     /* the file (a listing's: a sealed memfd), or -1
			* (fe_body holds it, or no file) */
	char *fe_body; /* the body's bytes when at most FCACHE_INLINE_MAX */
	off_t fe_size; /* its size */
	struct timespec fe_mtime;	   /* its modification time */
	const char *fe_type;		   /* its media type */
	char fe_etag[ETAG_LEN];		   /* its entity tag */
	char fe_fields[FCACHE_FIELDS_LEN]; /* the response fields it gives:
					    * FCACHE_ACCEPT_RANGES, then a
					    * sibling's Content-Encoding, then
					    * the validators, Last-Modified
					    * and ETag, then Vary with [http]
					    * precompressed, then
					    * Cache-Control if a [http] cache
					    * rule matches; CRLF each */
	size_t fe_cond; /* offset in fe_fields of what a 304 repeats */
	struct fcache_entry *fe_coded[ACCENC_NCODINGS]; /* the precompressed
							 * siblings found, by
							 * coding; a reference
							 * each, or NULL */
	unsigned fe_codings; /* bits 1 << coding of fe_coded[] set */
	long long fe_born;   /* when it was looked up, monotonic ms */
	uint64_t fe_hash;    /* of fe_path */
	size_t fe_pathlen;   /* of fe_path */
	char fe_path[];	     /* the normalised request path: the key */
};

/* chat.c */

/* Where a returning client's history starts: after cs_seq. */
struct chat_since {
	int cs_set;	 /* since= was given */
	uint64_t cs_seq; /* the last event it saw */
};

/*
 * A chat client of this worker, embedded in its kind's state (wschat.c,
 * telnetchat.c) and run by chat.c.
 */
struct chat_client {
	struct conn *cc_conn;		 /* its connection */
	uint64_t cc_id;			 /* its id, pid << 32 | n */
	uint32_t cc_member;		 /* the hub's member, or NONE */
	uint32_t cc_room;		 /* its room, or NONE until joined */
	int cc_telnet;			 /* lines, not WebSocket frames */
	int cc_started;			 /* chat_client_start() took it */
	int cc_closing;			 /* closed: send nothing more */
	int cc_in_history;		 /* its history is being queued */
	size_t cc_history_bytes;	 /* queued with its history: allowed
					  * over max_queue until it drains */
	int cc_bad_nick;		 /* the nick asked for was not one */
	int cc_nick_fixed;		 /* a Basic auth user's: no /nick */
	int cc_nick_reserved;		 /* the nick asked for is a user's */
	int cc_auth_rule;		 /* [http] auth rule it passed, -1:
					  * none (chatauth.c) */
	int cc_dirty;			 /* on the flush list */
	int cc_resume;			 /* joined: take its input */
	struct chat_since cc_since;	 /* the history it asked for */
	uint64_t cc_bytes_out;		 /* bytes queued to it */
	char cc_want[CHAT_NAME_MAX + 1]; /* the room it asked for */
	char cc_nick[CHAT_NAME_MAX + 1]; /* its nick, once joined */
	struct rate cc_rate;		 /* messages it may send */
	TAILQ_ENTRY(chat_client) cc_room_entry;	 /* its room's members */
	TAILQ_ENTRY(chat_client) cc_dirty_entry; /* the flush list */
	/* Close the connection the kind's way: a WebSocket close with code
	 * and reason, or a last line. */
	void (*cc_close)(struct conn *c, int code, const char *reason);
};

/* wschat.c */

/* What a chat handshake asked for, kept until the switch. */
struct wschat_query {
	char wq_room[CHAT_NAME_MAX + 1]; /* the room */
	char wq_nick[CHAT_NAME_MAX + 1]; /* the nick, or "" */
	int wq_bad_nick;		 /* nick= was not a name */
	int wq_auth_rule;		 /* the room's [http] auth rule it
					  * passed, -1: none */
	struct chat_since wq_since;	 /* since= */
};

/* http.c */

/* Where an HTTP connection's request cycle stands (c_http_state). */
enum http_state {
	HTTP_READ_HEADER, /* waiting for or reading a request header */
	HTTP_WRITE,	  /* a response is queued; waiting for it to drain */
	HTTP_READ_BODY,	  /* response sent; discarding the rest of a body */
};

/* conn.c */

struct ws;
struct tls_conn;

/*
 * A client connection. Freed only by conn_close(). The first part is the
 * connection's own (conn.c); the fields after it belong to the kinds,
 * and conn.c never reads them.
 */
struct conn {
	TAILQ_ENTRY(conn) c_entry;	/* in w_conns */
	struct worker *c_worker;	/* owner */
	int c_fd;			/* the socket */
	int c_host;			/* cf_hosts[] index of the host of
					 * the request being answered */
	const struct conn_io *c_io;	/* how its bytes move */
	struct tls_conn *c_tls;		/* io_tls's state (tls.c) */
	int c_handshaking;		/* the io's handshake runs: the kind
					 * has not started */
	int c_io_wants_write;		/* the io waits for the socket to
					 * take output before it reads */
	int c_drain_later;		/* a drain came during the handshake */
	int c_cleartext;		/* a TLS port, but the client spoke in
					 * the clear: tell it, and close */
	int c_sni_host;			/* cf_hosts[] index the TLS server
					 * name (SNI) names; -1: none, a name
					 * no host has, or no TLS (tls.c) */
	const struct conn_kind *c_kind; /* what they mean */
	struct event *c_rev;		/* readable: added while c_reading */
	struct event *c_wev;		/* writable: added while c_writing */
	struct event *c_timer;		/* the kind's deadline */
	long long c_deadline;		/* c_timer is due, monotonic ms; 0 no */
	long long c_timer_due;		/* c_timer is armed for; 0: not armed */
	int c_reading;			/* c_rev is added */
	int c_writing;			/* c_wev is added: output waits */
	int c_paused;			/* the kind does not want input now */
	int c_eof;			/* the client shut its write side */
	int c_out_last;			/* the queued output is the last: send
					 * it corked, so the FIN joins it */
	size_t c_in_max;		/* input buffered at most, bytes */
	struct buf c_in;		/* input read, not yet handled */
	struct buf c_out;		/* output queued, not yet sent */
	struct outq c_q;		/* shared frames sent after c_out */
	struct outq_frame *c_reserved;	/* conn_out_reserve()'s frame */
	struct fcache_entry *c_file;	/* body sent from its fd after c_out */
	off_t c_file_off;		/* next byte of c_file to send */
	off_t c_file_left;		/* bytes of c_file still to send */
	char c_peer[64];		/* client address as text */
	uint8_t c_ip_key[16];		/* client address, IPv4 mapped */
	int c_ip_limited;		/* HTTP, not in [server] limit_exempt:
					 * the per-address limits apply */
	int c_ip_refused;		/* over max_connections_per_ip: the
					 * first request gets 429 */
	struct shm_ipentry *c_ip_entry; /* where it is counted, or NULL */
	char c_port[LOGREC_PORT_MAX + 1]; /* local port it came in on */

	/* HTTP (http.c, http_response.c, file.c) */
	enum http_state c_http_state;	/* where the request cycle stands */
	struct http_scan c_scan;	/* progress through the header */
	int c_have_bytes;		/* bytes of the next request arrived */
	int c_header_timer;		/* header_timeout from the first byte */
	int c_close_after;		/* close once the response is sent */
	int c_head;			/* HEAD: the response has no body */
	int c_http10;			/* HTTP/1.0 request: say keep-alive */
	long long c_nrequests;		/* requests answered so far */
	enum http_body c_body;		/* body still to discard */
	unsigned long long c_body_left; /* with HTTP_BODY_LENGTH */
	struct http_chunked c_chunked;	/* with HTTP_BODY_CHUNKED */
	struct timespec c_req_start;	/* first byte of the request */
	int c_status;			/* status of the queued response */
	unsigned long long c_resp_bytes; /* size of the queued response */
	unsigned long long c_head_bytes; /* of which the head */
	struct logrec_line c_line;	 /* request line, for the log */
	char c_referer[LOGREC_REFERER_MAX + 1]; /* for the log, "" if none */
	char c_agent[LOGREC_AGENT_MAX + 1];	/* for the log, "" if none */
	const struct conn_kind *c_upgrade;	/* the kind to switch to once
						 * the queued 101 is sent */

	/* Basic auth user of the request, "" if none */
	char c_user[LOGREC_USER_MAX + 1];
	/* The request's Host field normalised, for the log of the implicit
	 * host (no [host] section); "" if none or not a host name */
	char c_reqhost[LOGREC_HOST_MAX + 1];

	struct wschat_query c_chatq;	   /* a chat handshake's */
	struct wsdeflate_params c_deflate; /* what the handshake agreed */

	/* WebSocket echo and chat (ws.c, wschat.c) */
	struct ws *c_ws; /* its state, from the switch on */

	/* Telnet chat (telnetchat.c) */
	struct telnetchat *c_telnet; /* its state */
};

#endif /* PFHTTPD_H */
