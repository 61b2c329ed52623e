/*
 * The configuration file: one table of keys (type, bounds, default, whether
 * a reload may change it), an inih reader and handler, and validation.
 * Defaults are parsed from the table by the same code as values from the
 * file, so a default can never bypass a check.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "pfhttpd.h"
#include "shm.h"

#define CONFIG_NITEMS(a) (sizeof(a) / sizeof((a)[0]))

#define CONFIG_KB   1024LL
#define CONFIG_MB   (1024LL * 1024)
#define CONFIG_SEC  1000LL
#define CONFIG_MIN  (60 * CONFIG_SEC)
#define CONFIG_HOUR (60 * CONFIG_MIN)

enum config_type {
	CONFIG_INTEGER,	  /* decimal digits; long long */
	CONFIG_AUTO,	  /* "auto" (online CPUs) or an integer; long long */
	CONFIG_SIZE,	  /* digits, optional k/K or m/M; bytes, long long */
	CONFIG_DURATION,  /* digits, optional ms, s or m; ms, long long */
	CONFIG_BOOL,	  /* yes/no, on/off, true/false, 1/0; int */
	CONFIG_PATH,	  /* relative to the config file's dir; char * */
	CONFIG_DIRECTORY, /* a CONFIG_PATH naming an existing directory */
	CONFIG_FILENAME,  /* a file name without '/'; char * */
	CONFIG_USER,	  /* an existing user name; char * */
	CONFIG_GROUP,	  /* an existing group name; char * */
	CONFIG_LISTEN,	  /* a listen address appended to cf_listen[] */
	CONFIG_FORMAT,	  /* combined, common, json, vhost_combined; int */
	CONFIG_URLPATH,	  /* an absolute URL path: /, no query; char * */
	CONFIG_ORIGINS,	  /* origins (scheme://host[:port]), spaces; char * */
	CONFIG_RATE,	  /* digits, optional /s; per second, long long */
	CONFIG_CHATNAME,  /* a room name (chatev_name_valid()); char * */
	CONFIG_TEXT,	  /* printable ASCII, spaces inside; char * */
	CONFIG_VERIFY,	  /* no, optional or require; int (tls_verify) */
	CONFIG_PROTOCOLS, /* TLSv1.2 and/or TLSv1.3; int (TLS_PROTO_*) */
	CONFIG_REDIS,	  /* HOST:PORT or a socket path, stored numeric */
	CONFIG_ADDRESS,	  /* one listen address, no tls; struct listen_addr */
	CONFIG_CACHE,	  /* a cache rule added to struct cachectl */
	CONFIG_ERRPAGE,	  /* an error page added to struct errpages */
	CONFIG_CIDRS,	  /* address ranges (iplimit.c), spaces; char * */
	CONFIG_CODINGS,	  /* br and/or gzip, spaces; struct accenc_list */
	CONFIG_AUTH,	  /* an auth rule added to struct auth */
	CONFIG_REALM,	  /* struct auth's realm (auth_realm_set()) */
};

#define CONFIG_RELOADABLE 0x01 /* a reload may change the value */
#define CONFIG_REPEATABLE 0x02 /* the key may appear more than once */
#define CONFIG_EMPTY_NONE 0x04 /* an empty value means none (NULL) */

struct config_key {
	const char *ck_section; /* section name without brackets */
	const char *ck_key;	/* key name */
	enum config_type ck_type;
	size_t ck_offset; /* of the member in struct config */
	long long ck_min; /* numeric bounds, inclusive, stored unit */
	long long ck_max;
	const char *ck_default; /* parsed like a value from the file */
	int ck_flags;		/* CONFIG_RELOADABLE, ... */
};

#define CF(m) offsetof(struct config, m)

struct config_parse;
static int config_check_paths(struct config_parse *cp);
static int config_check_tls(struct config_parse *cp);
static int config_check_host_tls(struct config_parse *cp);
static int config_check_redis(struct config_parse *cp);
static int config_check_stats(struct config_parse *cp);
static int config_check_errpages(struct config_parse *cp);
static int config_check_host_chat(struct config_parse *cp);
static int config_finish(struct config_parse *cp);

/*
 * Every key pfhttpd knows. A default applies only when the file does not
 * set the key (for [server] listen: when no [server] listen line is given,
 * whatever [chat] listen adds).
 */
static const struct config_key config_keys[] = {
    {"server", "listen", CONFIG_LISTEN, CF(cf_listen), 0, 0, "127.0.0.1:8080",
	CONFIG_RELOADABLE | CONFIG_REPEATABLE},
    {"server", "workers", CONFIG_AUTO, CF(cf_workers), 1, 256, "auto",
	CONFIG_RELOADABLE},
    {"server", "user", CONFIG_USER, CF(cf_user), 0, 0, "", CONFIG_EMPTY_NONE},
    {"server", "group", CONFIG_GROUP, CF(cf_group), 0, 0, "",
	CONFIG_EMPTY_NONE},
    {"server", "pid_file", CONFIG_PATH, CF(cf_pid_file), 0, 0, "pfhttpd.pid",
	CONFIG_EMPTY_NONE},
    {"server", "daemon", CONFIG_BOOL, CF(cf_daemon), 0, 1, "no", 0},
    {"server", "max_connections", CONFIG_INTEGER, CF(cf_max_connections), 1,
	1000000, "4096", CONFIG_RELOADABLE},
    {"server", "shutdown_timeout", CONFIG_DURATION, CF(cf_shutdown_timeout), 0,
	CONFIG_HOUR, "10s", CONFIG_RELOADABLE},
    {"server", "reuseport", CONFIG_BOOL, CF(cf_reuseport), 0, 1, "no", 0},
    {"server", "max_connections_per_ip", CONFIG_INTEGER,
	CF(cf_max_conns_per_ip), 0, 1000000, "0", CONFIG_RELOADABLE},
    {"server", "limit_rate_per_ip", CONFIG_RATE, CF(cf_limit_rate), 0, 1000000,
	"0", CONFIG_RELOADABLE},
    {"server", "limit_burst_per_ip", CONFIG_INTEGER, CF(cf_limit_burst), 0,
	10000000, "0", CONFIG_RELOADABLE},
    {"server", "limit_exempt", CONFIG_CIDRS, CF(cf_limit_exempt), 0, 0, "",
	CONFIG_EMPTY_NONE | CONFIG_RELOADABLE},
    {"server", "ip_table_size", CONFIG_INTEGER, CF(cf_ip_table_size),
	SHM_IP_WAYS, SHM_IP_ENTRIES_MAX, "8192", 0},

    {"http", "root", CONFIG_DIRECTORY, CF(cf_root), 0, 0, "../htdocs",
	CONFIG_RELOADABLE},
    {"http", "index", CONFIG_FILENAME, CF(cf_index), 0, 0, "index.html",
	CONFIG_RELOADABLE},
    {"http", "keepalive_timeout", CONFIG_DURATION, CF(cf_keepalive_timeout), 0,
	CONFIG_HOUR, "15s", CONFIG_RELOADABLE},
    {"http", "header_timeout", CONFIG_DURATION, CF(cf_header_timeout), 1,
	CONFIG_HOUR, "10s", CONFIG_RELOADABLE},
    {"http", "send_timeout", CONFIG_DURATION, CF(cf_send_timeout), 1,
	CONFIG_HOUR, "60s", CONFIG_RELOADABLE},
    {"http", "max_header_size", CONFIG_SIZE, CF(cf_max_header_size), CONFIG_KB,
	CONFIG_MB, "8k", CONFIG_RELOADABLE},
    {"http", "max_keepalive_requests", CONFIG_INTEGER,
	CF(cf_max_keepalive_requests), 1, 10000000, "1000", CONFIG_RELOADABLE},
    {"http", "serve_dotfiles", CONFIG_BOOL, CF(cf_serve_dotfiles), 0, 1, "no",
	CONFIG_RELOADABLE},
    {"http", "notsent_lowat", CONFIG_SIZE, CF(cf_notsent_lowat), 0,
	64 * CONFIG_MB, "32k", CONFIG_RELOADABLE},
    {"http", "cache", CONFIG_CACHE, CF(cf_cache), 0, 0, "",
	CONFIG_EMPTY_NONE | CONFIG_RELOADABLE | CONFIG_REPEATABLE},
    {"http", "error_page", CONFIG_ERRPAGE, CF(cf_errpages), 0, 0, "",
	CONFIG_EMPTY_NONE | CONFIG_RELOADABLE | CONFIG_REPEATABLE},
    {"http", "precompressed", CONFIG_CODINGS, CF(cf_precompressed), 0, 0, "",
	CONFIG_RELOADABLE},
    {"http", "auth", CONFIG_AUTH, CF(cf_auth), 0, 0, "",
	CONFIG_EMPTY_NONE | CONFIG_RELOADABLE | CONFIG_REPEATABLE},
    {"http", "auth_realm", CONFIG_REALM, CF(cf_auth.au_realm), 0, 0, "pfhttpd",
	CONFIG_RELOADABLE},
    {"http", "auth_tls_only", CONFIG_BOOL, CF(cf_auth.au_tls_only), 0, 1, "yes",
	CONFIG_RELOADABLE},
    {"http", "autoindex", CONFIG_BOOL, CF(cf_autoindex), 0, 1, "no",
	CONFIG_RELOADABLE},

    {"log", "error_log", CONFIG_PATH, CF(cf_error_log), 0, 0,
	"../var/log/error.log", CONFIG_EMPTY_NONE},
    {"log", "access_log", CONFIG_PATH, CF(cf_access_log), 0, 0,
	"../var/log/access.log", CONFIG_EMPTY_NONE | CONFIG_RELOADABLE},
    {"log", "format", CONFIG_FORMAT, CF(cf_log_format), 0, 0, "combined",
	CONFIG_RELOADABLE},
    {"log", "ring_size", CONFIG_SIZE, CF(cf_ring_size), 64 * CONFIG_KB,
	64 * CONFIG_MB, "1m", 0},
    {"websocket", "echo_path", CONFIG_URLPATH, CF(cf_ws_echo_path), 0, 0,
	"/echo", CONFIG_EMPTY_NONE | CONFIG_RELOADABLE},
    {"websocket", "max_message_size", CONFIG_SIZE, CF(cf_ws_max_message), 125,
	1024 * CONFIG_MB, "16m", CONFIG_RELOADABLE},
    {"websocket", "idle_timeout", CONFIG_DURATION, CF(cf_ws_idle_timeout), 0,
	CONFIG_HOUR, "60s", CONFIG_RELOADABLE},
    {"websocket", "allowed_origins", CONFIG_ORIGINS, CF(cf_ws_origins), 0, 0,
	"", CONFIG_EMPTY_NONE | CONFIG_RELOADABLE},
    {"websocket", "compression", CONFIG_BOOL, CF(cf_ws_compression), 0, 1,
	"yes", CONFIG_RELOADABLE},
    {"websocket", "compression_level", CONFIG_INTEGER,
	CF(cf_ws_compression_level), 1, 9, "1", CONFIG_RELOADABLE},
    {"websocket", "compression_min_size", CONFIG_SIZE,
	CF(cf_ws_compression_min_size), 0, CONFIG_MB, "256", CONFIG_RELOADABLE},
    {"websocket", "compression_window_bits", CONFIG_INTEGER,
	CF(cf_ws_compression_bits), 9, 15, "15", CONFIG_RELOADABLE},

    {"chat", "path", CONFIG_URLPATH, CF(cf_chat_path), 0, 0, "/chat",
	CONFIG_EMPTY_NONE | CONFIG_RELOADABLE},
    {"chat", "default_room", CONFIG_CHATNAME, CF(cf_chat_default_room), 0, 0,
	"lobby", CONFIG_RELOADABLE},
    {"chat", "history", CONFIG_INTEGER, CF(cf_chat_history), 1, 10000, "100",
	0},
    {"chat", "max_rooms", CONFIG_INTEGER, CF(cf_chat_max_rooms), 1, 65536,
	"256", 0},
    {"chat", "max_members", CONFIG_INTEGER, CF(cf_chat_max_members), 16,
	1048576, "65536", 0},
    {"chat", "max_message_size", CONFIG_SIZE, CF(cf_chat_max_message), 1,
	CHAT_TEXT_MAX, "4k", 0},
    {"chat", "rate", CONFIG_RATE, CF(cf_chat_rate), 1, 1000, "5/s",
	CONFIG_RELOADABLE},
    {"chat", "burst", CONFIG_INTEGER, CF(cf_chat_burst), 0, 10000, "0",
	CONFIG_RELOADABLE},
    {"chat", "idle_timeout", CONFIG_DURATION, CF(cf_chat_idle_timeout), 0,
	24 * CONFIG_HOUR, "5m", CONFIG_RELOADABLE},
    {"chat", "max_queue", CONFIG_SIZE, CF(cf_chat_max_queue), 64 * CONFIG_KB,
	64 * CONFIG_MB, "256k", CONFIG_RELOADABLE},
    {"chat", "transcript", CONFIG_PATH, CF(cf_chat_transcript), 0, 0, "",
	CONFIG_EMPTY_NONE | CONFIG_RELOADABLE},
    {"chat", "ring_size", CONFIG_SIZE, CF(cf_chat_ring_size), 64 * CONFIG_KB,
	64 * CONFIG_MB, "1m", 0},
    {"chat", "broadcast_size", CONFIG_SIZE, CF(cf_chat_bcast_size), CONFIG_MB,
	1024 * CONFIG_MB, "4m", 0},
    {"chat", "listen", CONFIG_LISTEN, CF(cf_listen), 0, 0, "",
	CONFIG_EMPTY_NONE | CONFIG_RELOADABLE | CONFIG_REPEATABLE},
    {"chat", "redis", CONFIG_REDIS, CF(cf_chat_redis), 0, 0, "",
	CONFIG_EMPTY_NONE | CONFIG_RELOADABLE},
    {"chat", "redis_prefix", CONFIG_CHATNAME, CF(cf_chat_redis_prefix), 0, 0,
	"pfhttpd", CONFIG_RELOADABLE},
    {"chat", "redis_stream_length", CONFIG_INTEGER,
	CF(cf_chat_redis_stream_length), 1, 10000000, "1000",
	CONFIG_RELOADABLE},

    {"stats", "shm_path", CONFIG_PATH, CF(cf_shm_path), 0, 0, "",
	CONFIG_EMPTY_NONE},
    {"stats", "listen", CONFIG_ADDRESS, CF(cf_stats_listen), 0, 0, "",
	CONFIG_EMPTY_NONE | CONFIG_RELOADABLE},

    {"tls", "certificate", CONFIG_PATH, CF(cf_tls_certificate), 0, 0, "",
	CONFIG_EMPTY_NONE | CONFIG_RELOADABLE},
    {"tls", "key", CONFIG_PATH, CF(cf_tls_key), 0, 0, "",
	CONFIG_EMPTY_NONE | CONFIG_RELOADABLE},
    {"tls", "protocols", CONFIG_PROTOCOLS, CF(cf_tls_protocols), 0, 0,
	"TLSv1.2 TLSv1.3", CONFIG_RELOADABLE},
    {"tls", "ciphers", CONFIG_TEXT, CF(cf_tls_ciphers), 0, 0,
	"ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!PSK", CONFIG_RELOADABLE},
    {"tls", "session_tickets", CONFIG_BOOL, CF(cf_tls_tickets), 0, 1, "yes",
	CONFIG_RELOADABLE},
    {"tls", "session_timeout", CONFIG_DURATION, CF(cf_tls_session_timeout),
	CONFIG_SEC, 24 * CONFIG_HOUR, "5m", CONFIG_RELOADABLE},
    {"tls", "client_ca", CONFIG_PATH, CF(cf_tls_client_ca), 0, 0, "",
	CONFIG_EMPTY_NONE | CONFIG_RELOADABLE},
    {"tls", "verify_client", CONFIG_VERIFY, CF(cf_tls_verify_client), 0, 0,
	"no", CONFIG_RELOADABLE},
    {"tls", "hsts", CONFIG_TEXT, CF(cf_tls_hsts), 0, 0, "",
	CONFIG_EMPTY_NONE | CONFIG_RELOADABLE},
};

#define CONFIG_NKEYS CONFIG_NITEMS(config_keys)

#define CONFIG_HOST_PREFIX "host \"" /* of a [host "NAME"] section */

/*
 * The keys of a [host "NAME"] section: ck_offset is into struct vhost.
 * A key the section does not set is the [http] one's value.
 */
static const struct config_key config_host_keys[] = {
    {"host", "root", CONFIG_DIRECTORY, offsetof(struct vhost, vh_root), 0, 0,
	NULL, CONFIG_RELOADABLE},
    {"host", "index", CONFIG_FILENAME, offsetof(struct vhost, vh_index), 0, 0,
	NULL, CONFIG_RELOADABLE},
    {"host", "alias", CONFIG_TEXT, offsetof(struct vhost, vh_names), 0, 0, NULL,
	CONFIG_RELOADABLE | CONFIG_REPEATABLE},
    {"host", "default", CONFIG_BOOL, offsetof(struct vhost, vh_default), 0, 1,
	NULL, CONFIG_RELOADABLE},
    {"host", "cache", CONFIG_CACHE, offsetof(struct vhost, vh_cache), 0, 0,
	NULL, CONFIG_RELOADABLE | CONFIG_REPEATABLE},
    {"host", "error_page", CONFIG_ERRPAGE, offsetof(struct vhost, vh_errpages),
	0, 0, NULL, CONFIG_RELOADABLE | CONFIG_REPEATABLE},
    {"host", "precompressed", CONFIG_CODINGS,
	offsetof(struct vhost, vh_precompressed), 0, 0, NULL,
	CONFIG_RELOADABLE},
    {"host", "tls_certificate", CONFIG_PATH,
	offsetof(struct vhost, vh_tls_certificate), 0, 0, NULL,
	CONFIG_RELOADABLE},
    {"host", "tls_key", CONFIG_PATH, offsetof(struct vhost, vh_tls_key), 0, 0,
	NULL, CONFIG_RELOADABLE},
    {"host", "auth", CONFIG_AUTH, offsetof(struct vhost, vh_auth), 0, 0, NULL,
	CONFIG_RELOADABLE | CONFIG_REPEATABLE},
    {"host", "auth_realm", CONFIG_REALM,
	offsetof(struct vhost, vh_auth.au_realm), 0, 0, NULL,
	CONFIG_RELOADABLE},
    {"host", "auth_tls_only", CONFIG_BOOL,
	offsetof(struct vhost, vh_auth.au_tls_only), 0, 1, NULL,
	CONFIG_RELOADABLE},
    {"host", "autoindex", CONFIG_BOOL, offsetof(struct vhost, vh_autoindex), 0,
	1, NULL, CONFIG_RELOADABLE},
};

#define CONFIG_HOST_NKEYS CONFIG_NITEMS(config_host_keys)

/* Results of config_parse_number(). */
#define CONFIG_NUMBER_OK    0
#define CONFIG_NUMBER_BAD   (-1) /* not the expected syntax */
#define CONFIG_NUMBER_RANGE (-2) /* well-formed but overflows */

/* State shared by the reader and the handler while one file is parsed. */
struct config_parse {
	struct config *cp_cf;	   /* being filled */
	const char *cp_file;	   /* file name as given, for messages */
	char *cp_dir;		   /* absolute directory of the file */
	FILE *cp_fp;		   /* the open file */
	char *cp_buf;		   /* getline() buffer */
	size_t cp_bufsize;	   /* its size */
	int cp_line;		   /* line last returned by the reader */
	int cp_seen[CONFIG_NKEYS]; /* line of a key's first use, or 0 */
	int cp_listen_line[CONFIG_MAX_LISTEN]; /* line of each listen */
	struct vhost *cp_host; /* the [host "NAME"] section being read */
	int cp_host_seen[VHOST_MAX][CONFIG_HOST_NKEYS]; /* cp_seen of
							 * each host's keys */
	int cp_name_line[VHOST_MAX][VHOST_NAMES_MAX];	/* of each host name */
	int cp_default_line; /* of the default = yes, or 0 */
	int cp_failed;	     /* cp_err holds an error */
	int cp_load_tls;     /* read the [tls] files */
	int cp_error_line;   /* line of that error, 0 if none */
	char *cp_err;	     /* caller's error buffer */
	size_t cp_errlen;    /* its size */
};

static void config_error(
    struct config_parse *cp, int line, const char *fmt, ...) PRINTFLIKE(3, 4);
static void config_verror(struct config_parse *cp, const char *file, int line,
    const char *fmt, va_list ap) PRINTFLIKE(4, 0);
static void config_error_in(struct config_parse *cp, const char *file, int line,
    const char *fmt, ...) PRINTFLIKE(4, 5);
static void *config_member(struct config *cf, const struct config_key *ck);
static int config_is_string(enum config_type type);
static void config_format_number(
    enum config_type type, long long v, char *buf, size_t len);
static void config_expected(const struct config_key *ck, char *buf, size_t len);
static int config_parse_number(
    enum config_type type, const char *s, long long *out);
static int config_parse_bool(const char *s, int *out);
static long long config_cpus(const struct config_key *ck);
static char *config_join(const char *dir, const char *path);
static int config_set_number(struct config_parse *cp,
    const struct config_key *ck, const char *value, int line);
static int config_path_has_dot_segment(const char *path);
static int config_check_token_list(enum config_type type, const char *value);
static int config_set_string(struct config_parse *cp,
    const struct config_key *ck, const char *value, int line);
static int config_set_listen(struct config_parse *cp,
    const struct config_key *ck, const char *value, int line);
static int config_set(struct config_parse *cp, const struct config_key *ck,
    const char *value, int line);
static int config_set_site(struct config_parse *cp, const struct config_key *ck,
    const char *value, int line);
static int config_set_auth(struct config_parse *cp, const struct config_key *ck,
    const char *value, int line);
static int config_check_section(struct config_parse *cp, const char *s);
static int config_host_new(struct config_parse *cp, const char *s, size_t len);
static int config_host_set(struct config_parse *cp, const char *section,
    const char *name, const char *value);
static int config_hosts_finish(struct config_parse *cp);
static int config_line_of(
    const struct config_parse *cp, const char *section, const char *key);
static void config_host_free(struct vhost *vh);
static char *config_read_line(char *str, int num, void *stream);
static int config_handler(
    void *user, const char *section, const char *name, const char *value);
static int config_locate(struct config_parse *cp);
static int config_defaults(struct config_parse *cp);

/*
 * Record "FILE:LINE: message" (or "FILE: message" when line is 0) unless an
 * error is already recorded: the first error is the one reported. FILE is
 * the config file, or one it names (an htpasswd file).
 */
static void
config_verror(struct config_parse *cp, const char *file, int line,
    const char *fmt, va_list ap)
{
	int n;

	if (cp->cp_failed)
		return;
	cp->cp_failed = 1;
	cp->cp_error_line = line;
	if (cp->cp_errlen == 0)
		return;
	if (line > 0)
		n = snprintf(cp->cp_err, cp->cp_errlen, "%s:%d: ", file, line);
	else
		n = snprintf(cp->cp_err, cp->cp_errlen, "%s: ", file);
	if (n < 0 || (size_t)n >= cp->cp_errlen)
		return;
	vsnprintf(cp->cp_err + n, cp->cp_errlen - (size_t)n, fmt, ap);
}

/* Record an error at line of the config file (config_verror()). */
static void
config_error(struct config_parse *cp, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_verror(cp, cp->cp_file, line, fmt, ap);
	va_end(ap);
}

/* Record an error at line of file, another than the config file. */
static void
config_error_in(
    struct config_parse *cp, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_verror(cp, file, line, fmt, ap);
	va_end(ap);
}

/* Return the address of the member of cf that the key ck sets. */
static void *
config_member(struct config *cf, const struct config_key *ck)
{
	return (char *)cf + ck->ck_offset;
}

/* Tell whether keys of this type are stored as an allocated char *. */
static int
config_is_string(enum config_type type)
{
	switch (type) {
	case CONFIG_PATH:
	case CONFIG_DIRECTORY:
	case CONFIG_FILENAME:
	case CONFIG_USER:
	case CONFIG_GROUP:
	case CONFIG_URLPATH:
	case CONFIG_ORIGINS:
	case CONFIG_CHATNAME:
	case CONFIG_TEXT:
	case CONFIG_REDIS:
	case CONFIG_CIDRS:
		return 1;
	default:
		return 0;
	}
}

/* Tell whether keys of this type are stored as an int. */
static int
config_is_int(enum config_type type)
{
	switch (type) {
	case CONFIG_BOOL:
	case CONFIG_FORMAT:
	case CONFIG_VERIFY:
	case CONFIG_PROTOCOLS:
		return 1;
	default:
		return 0;
	}
}

/* Format v in the largest unit of its type that shows it exactly. */
static void
config_format_number(enum config_type type, long long v, char *buf, size_t len)
{
	if (type == CONFIG_SIZE && v != 0 && v % CONFIG_MB == 0)
		snprintf(buf, len, "%lldm", v / CONFIG_MB);
	else if (type == CONFIG_SIZE && v != 0 && v % CONFIG_KB == 0)
		snprintf(buf, len, "%lldk", v / CONFIG_KB);
	else if (type == CONFIG_DURATION && v != 0 && v % CONFIG_MIN == 0)
		snprintf(buf, len, "%lldm", v / CONFIG_MIN);
	else if (type == CONFIG_DURATION && v != 0 && v % CONFIG_SEC == 0)
		snprintf(buf, len, "%llds", v / CONFIG_SEC);
	else if (type == CONFIG_DURATION && v != 0)
		snprintf(buf, len, "%lldms", v);
	else if (type == CONFIG_RATE)
		snprintf(buf, len, "%lld/s", v);
	else
		snprintf(buf, len, "%lld", v);
}

/* Describe what a value of key ck must look like, for error messages. */
static void
config_expected(const struct config_key *ck, char *buf, size_t len)
{
	char min[32], max[32];

	config_format_number(ck->ck_type, ck->ck_min, min, sizeof(min));
	config_format_number(ck->ck_type, ck->ck_max, max, sizeof(max));
	switch (ck->ck_type) {
	case CONFIG_INTEGER:
		snprintf(buf, len, "an integer from %s to %s", min, max);
		break;
	case CONFIG_AUTO:
		snprintf(
		    buf, len, "auto or an integer from %s to %s", min, max);
		break;
	case CONFIG_SIZE:
		snprintf(buf, len,
		    "a size from %s to %s (digits with an optional k or m suffix)",
		    min, max);
		break;
	case CONFIG_DURATION:
		snprintf(buf, len,
		    "a duration from %s to %s (digits with an optional ms, s or m suffix)",
		    min, max);
		break;
	case CONFIG_BOOL:
		snprintf(buf, len, "yes or no (or on/off, true/false, 1/0)");
		break;
	case CONFIG_PATH:
	case CONFIG_DIRECTORY:
		snprintf(buf, len, "a path");
		break;
	case CONFIG_FILENAME:
		snprintf(buf, len, "a file name without '/'");
		break;
	case CONFIG_USER:
		snprintf(buf, len, "a user name");
		break;
	case CONFIG_GROUP:
		snprintf(buf, len, "a group name");
		break;
	case CONFIG_LISTEN:
		snprintf(buf, len,
		    "host:port, [v6addr]:port, *:port or port, then tls for "
		    "a TLS listener");
		break;
	case CONFIG_ADDRESS:
		snprintf(buf, len, "host:port, [v6addr]:port, *:port or port");
		break;
	case CONFIG_FORMAT:
		snprintf(buf, len, "combined, common, json or vhost_combined");
		break;
	case CONFIG_URLPATH:
		snprintf(buf, len,
		    "a normalised URL path starting with '/', without '?', '#', '%%' or spaces");
		break;
	case CONFIG_ORIGINS:
		snprintf(buf, len,
		    "origins such as https://example.com, separated by spaces");
		break;
	case CONFIG_RATE:
		snprintf(buf, len,
		    "a rate from %s to %s (messages a second: N/s or N)", min,
		    max);
		break;
	case CONFIG_CHATNAME:
		snprintf(buf, len,
		    "a name of 1 to %d letters, digits, '_' or '-'",
		    CHAT_NAME_MAX);
		break;
	case CONFIG_TEXT:
		snprintf(buf, len, "printable ASCII text");
		break;
	case CONFIG_VERIFY:
		snprintf(buf, len, "no, optional or require");
		break;
	case CONFIG_PROTOCOLS:
		snprintf(buf, len, "TLSv1.2, TLSv1.3 or both");
		break;
	case CONFIG_REDIS:
		snprintf(
		    buf, len, "HOST:PORT, [V6ADDR]:PORT or a unix socket path");
		break;
	case CONFIG_CACHE:
		snprintf(buf, len,
		    "a path prefix (/...) or an extension (.ext), then a "
		    "Cache-Control value");
		break;
	case CONFIG_ERRPAGE:
		snprintf(buf, len,
		    "a status from %d to %d, then a path in the document root",
		    ERRPAGE_FIRST, ERRPAGE_LAST);
		break;
	case CONFIG_CIDRS:
		snprintf(buf, len,
		    "address ranges such as 192.0.2.0/24 2001:db8::/32, "
		    "separated by spaces");
		break;
	case CONFIG_CODINGS:
		snprintf(buf, len,
		    "br, gzip, both in order of preference, or nothing");
		break;
	case CONFIG_AUTH:
		snprintf(buf, len,
		    "a path prefix (/...), then an htpasswd file or off");
		break;
	case CONFIG_REALM:
		snprintf(buf, len, "printable ASCII text without '\"' or '\\'");
		break;
	}
}

/*
 * Parse an integer, size, duration or rate into *out in the stored unit
 * (bytes, milliseconds, a second). Return CONFIG_NUMBER_OK, _BAD or _RANGE
 * (too large).
 */
static int
config_parse_number(enum config_type type, const char *s, long long *out)
{
	const char *p;
	long long v, mult;
	int digit, overflow;

	v = 0;
	overflow = 0;
	for (p = s; *p >= '0' && *p <= '9'; p++) {
		digit = *p - '0';
		if (v > (LLONG_MAX - digit) / 10)
			overflow = 1;
		else
			v = v * 10 + digit;
	}
	if (p == s)
		return CONFIG_NUMBER_BAD;

	mult = 1;
	if (type == CONFIG_SIZE) {
		if (*p == 'k' || *p == 'K') {
			mult = CONFIG_KB;
			p++;
		} else if (*p == 'm' || *p == 'M') {
			mult = CONFIG_MB;
			p++;
		}
	} else if (type == CONFIG_DURATION) {
		/* A bare number is seconds. */
		mult = CONFIG_SEC;
		if (strcmp(p, "ms") == 0) {
			mult = 1;
			p += 2;
		} else if (*p == 's') {
			p++;
		} else if (*p == 'm') {
			mult = CONFIG_MIN;
			p++;
		}
	} else if (type == CONFIG_RATE && strcmp(p, "/s") == 0)
		p += 2; /* "N" alone means N/s too */
	if (*p != '\0')
		return CONFIG_NUMBER_BAD;
	if (overflow || v > LLONG_MAX / mult)
		return CONFIG_NUMBER_RANGE;
	*out = v * mult;
	return CONFIG_NUMBER_OK;
}

/* Parse a boolean (case-insensitive) into *out; return 0 or -1. */
static int
config_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"yes", "on", "true", "1"};
	static const char *const no[] = {"no", "off", "false", "0"};
	size_t i;

	for (i = 0; i < CONFIG_NITEMS(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/*
 * Parse a keyword of a CONFIG_FORMAT or CONFIG_VERIFY key into *out, its
 * index in the list, which the enum (log_format, tls_verify) follows.
 * Return 0 or -1.
 */
static int
config_parse_keyword(enum config_type type, const char *s, int *out)
{
	static const char *const formats[] = {
	    "combined", "common", "json", "vhost_combined"};
	static const char *const verify[] = {"no", "optional", "require"};
	const char *const *names = type == CONFIG_FORMAT ? formats : verify;
	size_t i,
	    n = type == CONFIG_FORMAT ? CONFIG_NITEMS(formats)
				      : CONFIG_NITEMS(verify);

	for (i = 0; i < n; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	return -1;
}

/* Parse a list of TLS protocol versions into TLS_PROTO_* bits; 0 or -1. */
static int
config_parse_protocols(const char *s, int *out)
{
	size_t n;
	int bits = 0;

	for (;;) {
		s += strspn(s, " \t");
		if (*s == '\0')
			break;
		n = strcspn(s, " \t");
		if (n == 7 && strncasecmp(s, "TLSv1.2", n) == 0)
			bits |= TLS_PROTO_TLSV1_2;
		else if (n == 7 && strncasecmp(s, "TLSv1.3", n) == 0)
			bits |= TLS_PROTO_TLSV1_3;
		else
			return -1;
		s += n;
	}
	if (bits == 0)
		return -1;
	*out = bits;
	return 0;
}

/* Parse a value of an int-stored key other than a boolean; 0 or -1. */
static int
config_parse_int(enum config_type type, const char *s, int *out)
{
	if (type == CONFIG_PROTOCOLS)
		return config_parse_protocols(s, out);
	return config_parse_keyword(type, s, out);
}

/* Return the number of online CPUs, clamped to the bounds of key ck. */
static long long
config_cpus(const struct config_key *ck)
{
	long n;

	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < ck->ck_min)
		return ck->ck_min;
	if (n > ck->ck_max)
		return ck->ck_max;
	return n;
}

/* Return path made absolute against dir, newly allocated, or NULL. */
static char *
config_join(const char *dir, const char *path)
{
	char *s;
	size_t len;

	if (path[0] == '/')
		return strdup(path);
	len = strlen(dir);
	if (asprintf(&s, "%s%s%s", dir,
		len > 0 && dir[len - 1] == '/' ? "" : "/", path) == -1)
		return NULL;
	return s;
}

/* Set an integer, "auto", size, duration, rate or boolean key from value. */
static int
config_set_number(struct config_parse *cp, const struct config_key *ck,
    const char *value, int line)
{
	char expected[160], min[32], max[32];
	long long v, *llp;
	int b, *ip, rv;

	config_expected(ck, expected, sizeof(expected));
	if (*value == '\0') {
		config_error(cp, line, "[%s] %s: missing value, expected %s",
		    ck->ck_section, ck->ck_key, expected);
		return -1;
	}
	if (config_is_int(ck->ck_type) && ck->ck_type != CONFIG_BOOL) {
		if (config_parse_int(ck->ck_type, value, &b) == -1) {
			config_error(cp, line, "[%s] %s: expected %s, got '%s'",
			    ck->ck_section, ck->ck_key, expected, value);
			return -1;
		}
		ip = config_member(cp->cp_cf, ck);
		*ip = b;
		return 0;
	}
	if (ck->ck_type == CONFIG_BOOL) {
		if (config_parse_bool(value, &b) == -1) {
			config_error(cp, line, "[%s] %s: expected %s, got '%s'",
			    ck->ck_section, ck->ck_key, expected, value);
			return -1;
		}
		ip = config_member(cp->cp_cf, ck);
		*ip = b;
		return 0;
	}

	if (ck->ck_type == CONFIG_AUTO && strcmp(value, "auto") == 0) {
		v = config_cpus(ck);
		rv = CONFIG_NUMBER_OK;
	} else
		rv = config_parse_number(ck->ck_type, value, &v);
	if (rv == CONFIG_NUMBER_BAD) {
		config_error(cp, line, "[%s] %s: expected %s, got '%s'",
		    ck->ck_section, ck->ck_key, expected, value);
		return -1;
	}
	if (rv == CONFIG_NUMBER_RANGE || v < ck->ck_min || v > ck->ck_max) {
		config_format_number(ck->ck_type, ck->ck_min, min, sizeof(min));
		config_format_number(ck->ck_type, ck->ck_max, max, sizeof(max));
		config_error(cp, line, "[%s] %s: %s is out of range (%s..%s)",
		    ck->ck_section, ck->ck_key, value, min, max);
		return -1;
	}
	llp = config_member(cp->cp_cf, ck);
	*llp = v;
	return 0;
}

/*
 * Tell whether a URL path has an empty, "." or ".." segment, which a
 * normalised request path never has, so that it could never match.
 */
static int
config_path_has_dot_segment(const char *path)
{
	const char *seg, *end;
	size_t n;

	for (seg = path + 1; *seg != '\0'; seg = end + 1) {
		end = strchr(seg, '/');
		n = end != NULL ? (size_t)(end - seg) : strlen(seg);
		if ((n == 0 && end != NULL) || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 1;
		if (end == NULL)
			break;
	}
	return 0;
}

/*
 * Check a URL path (one word: '/', then printable ASCII other than '?',
 * '#' and '%', so that it compares equal to a decoded request path) or a
 * list of origins (words "scheme://host[:port]" separated by spaces).
 * Return 0 or -1.
 */
static int
config_check_token_list(enum config_type type, const char *value)
{
	const char *p, *word;
	size_t n, skip;

	for (p = value; *p != '\0';) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		word = p;
		while (*p > ' ' && *p < 0x7f)
			p++;
		if (*p != '\0' && *p != ' ' && *p != '\t')
			return -1; /* a control or non-ASCII byte */
		n = (size_t)(p - word);
		if (type == CONFIG_URLPATH) {
			if (word != value || *p != '\0' || word[0] != '/' ||
			    strcspn(word, "?#%") != n ||
			    config_path_has_dot_segment(word))
				return -1;
		} else {
			if (n > 8 && strncmp(word, "https://", 8) == 0)
				skip = 8;
			else if (n > 7 && strncmp(word, "http://", 7) == 0)
				skip = 7;
			else
				return -1;
			if (memchr(word + skip, '/', n - skip) != NULL)
				return -1; /* a path after the host */
		}
	}
	return 0;
}

/* Tell whether text is printable ASCII, as a header value must be: 0, -1. */
static int
config_check_text(const char *text)
{
	for (; *text != '\0'; text++)
		if (*text < 0x20 || *text > 0x7e)
			return -1;
	return 0;
}

/*
 * Set [chat] redis from value: resolved now, stored numeric (a relative
 * socket path is relative to the config file's directory).
 */
static int
config_set_redis(struct config_parse *cp, const struct config_key *ck,
    const char *value, int line)
{
	char why[CONFIG_ERR_LEN], canon[160], **sp;
	struct redis_addr ra;
	char *path = NULL;
	int rc;

	if (strchr(value, '/') != NULL &&
	    (path = config_join(cp->cp_dir, value)) == NULL) {
		config_error(cp, line, "%s", strerror(errno));
		return -1;
	}
	rc = redis_addr_parse(
	    path != NULL ? path : value, &ra, why, sizeof(why));
	free(path);
	if (rc == -1) {
		config_error(
		    cp, line, "[%s] %s: %s", ck->ck_section, ck->ck_key, why);
		return -1;
	}
	redis_addr_format(&ra, canon, sizeof(canon));
	sp = config_member(cp->cp_cf, ck);
	free(*sp);
	if ((*sp = strdup(canon)) == NULL) {
		config_error(cp, line, "%s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Set a path, directory, file name, user, group, URL path, origins, chat
 * name or text key from value.
 */
static int
config_set_string(struct config_parse *cp, const struct config_key *ck,
    const char *value, int line)
{
	char expected[160], why[CONFIG_ERR_LEN], **sp;
	struct stat st;
	char *s;

	sp = config_member(cp->cp_cf, ck);
	if (*value == '\0') {
		if (ck->ck_flags & CONFIG_EMPTY_NONE) {
			free(*sp);
			*sp = NULL;
			return 0;
		}
		config_expected(ck, expected, sizeof(expected));
		config_error(cp, line, "[%s] %s: missing value, expected %s",
		    ck->ck_section, ck->ck_key, expected);
		return -1;
	}

	switch (ck->ck_type) {
	case CONFIG_FILENAME:
		if (strchr(value, '/') != NULL || strcmp(value, ".") == 0 ||
		    strcmp(value, "..") == 0) {
			config_expected(ck, expected, sizeof(expected));
			config_error(cp, line, "[%s] %s: expected %s, got '%s'",
			    ck->ck_section, ck->ck_key, expected, value);
			return -1;
		}
		break;
	case CONFIG_USER:
		if (getpwnam(value) == NULL) {
			config_error(cp, line, "[%s] %s: unknown user '%s'",
			    ck->ck_section, ck->ck_key, value);
			return -1;
		}
		break;
	case CONFIG_GROUP:
		if (getgrnam(value) == NULL) {
			config_error(cp, line, "[%s] %s: unknown group '%s'",
			    ck->ck_section, ck->ck_key, value);
			return -1;
		}
		break;
	case CONFIG_URLPATH:
	case CONFIG_ORIGINS:
		if (config_check_token_list(ck->ck_type, value) == -1) {
			config_expected(ck, expected, sizeof(expected));
			config_error(cp, line, "[%s] %s: expected %s, got '%s'",
			    ck->ck_section, ck->ck_key, expected, value);
			return -1;
		}
		break;
	case CONFIG_TEXT:
		if (config_check_text(value) == -1) {
			config_expected(ck, expected, sizeof(expected));
			config_error(cp, line, "[%s] %s: expected %s, got '%s'",
			    ck->ck_section, ck->ck_key, expected, value);
			return -1;
		}
		break;
	case CONFIG_CIDRS:
		if (iplimit_cidr_parse(value, cp->cp_cf->cf_exempt,
			IPLIMIT_CIDR_MAX, why, sizeof(why)) == -1) {
			config_error(cp, line, "[%s] %s: %s", ck->ck_section,
			    ck->ck_key, why);
			return -1;
		}
		break;
	case CONFIG_CHATNAME:
		if (!chatev_name_valid(value, strlen(value))) {
			config_expected(ck, expected, sizeof(expected));
			config_error(cp, line, "[%s] %s: expected %s, got '%s'",
			    ck->ck_section, ck->ck_key, expected, value);
			return -1;
		}
		break;
	default:
		break;
	}

	if (ck->ck_type == CONFIG_REDIS)
		return config_set_redis(cp, ck, value, line);
	if (ck->ck_type == CONFIG_PATH || ck->ck_type == CONFIG_DIRECTORY)
		s = config_join(cp->cp_dir, value);
	else
		s = strdup(value);
	if (s == NULL) {
		config_error(cp, line, "%s", strerror(errno));
		return -1;
	}
	if (ck->ck_type == CONFIG_DIRECTORY && line != 0) {
		/* a default root is checked when a host takes it */
		if (stat(s, &st) == -1) {
			config_error(cp, line, "[%s] %s %s: %s", ck->ck_section,
			    ck->ck_key, s, strerror(errno));
			free(s);
			return -1;
		}
		if (!S_ISDIR(st.st_mode)) {
			config_error(cp, line, "[%s] %s %s: not a directory",
			    ck->ck_section, ck->ck_key, s);
			free(s);
			return -1;
		}
	}
	free(*sp);
	*sp = s;
	return 0;
}

/*
 * Split a listen value, "ADDRESS" or "ADDRESS tls", into the address
 * (into addr, len bytes) and *tls. Return 0, or -1 with the reason in why.
 */
static int
config_split_listen(const char *value, char *addr, size_t len, int *tls,
    char *why, size_t whylen)
{
	size_t n = strcspn(value, " \t");
	const char *opt = value + n + strspn(value + n, " \t");

	if (n >= len) {
		snprintf(why, whylen,
		    "bad listen address '%.40s...': longer "
		    "than %zu characters",
		    value, len - 1);
		return -1;
	}
	memcpy(addr, value, n);
	addr[n] = '\0';
	*tls = strcmp(opt, "tls") == 0;
	if (*opt != '\0' && !*tls) {
		snprintf(why, whylen,
		    "unknown listen option '%s' (expected tls or nothing)",
		    opt);
		return -1;
	}
	return 0;
}

/*
 * Append the listen address in value to cf_listen[], the listeners of
 * [server] and of [chat] alike, told apart by la_chat.
 */
static int
config_set_listen(struct config_parse *cp, const struct config_key *ck,
    const char *value, int line)
{
	struct config *cf = cp->cp_cf;
	struct listen_addr la, *las;
	char reason[CONFIG_ERR_LEN], addr[sizeof(la.la_name)];
	int i, tls;

	las = config_member(cf, ck);
	if (*value == '\0' && (ck->ck_flags & CONFIG_EMPTY_NONE))
		return 0;
	if (cf->cf_nlisten == CONFIG_MAX_LISTEN) {
		config_error(cp, line,
		    "[%s] %s: too many listen addresses (at most %d)",
		    ck->ck_section, ck->ck_key, CONFIG_MAX_LISTEN);
		return -1;
	}
	if (config_split_listen(value, addr, sizeof(addr), &tls, reason,
		sizeof(reason)) == -1 ||
	    listen_parse(addr, &la, reason, sizeof(reason)) == -1) {
		config_error(cp, line, "[%s] %s: %s", ck->ck_section,
		    ck->ck_key, reason);
		return -1;
	}
	la.la_chat = strcmp(ck->ck_section, "chat") == 0;
	la.la_tls = tls;
	for (i = 0; i < cf->cf_nlisten; i++) {
		if (las[i].la_sslen != la.la_sslen ||
		    memcmp(&las[i].la_ss, &la.la_ss, la.la_sslen) != 0)
			continue;
		if (line == 0) /* the default: blame the line that took it */
			config_error(cp, cp->cp_listen_line[i],
			    "[%s] listen: '%s' is the same address as the "
			    "default [%s] %s '%s'",
			    las[i].la_chat ? "chat" : "server", las[i].la_name,
			    ck->ck_section, ck->ck_key, la.la_name);
		else
			config_error(cp, line,
			    "[%s] %s: '%s' is the same address as '%s' at line %d",
			    ck->ck_section, ck->ck_key, la.la_name,
			    las[i].la_name, cp->cp_listen_line[i]);
		return -1;
	}
	cp->cp_listen_line[cf->cf_nlisten] = line;
	la.la_line = line;
	las[cf->cf_nlisten++] = la;
	return 0;
}

/*
 * Set the one address of key ck ([stats] listen) from value, or none if
 * value is empty.
 */
static int
config_set_address(struct config_parse *cp, const struct config_key *ck,
    const char *value, int line)
{
	struct listen_addr *la = config_member(cp->cp_cf, ck);
	char reason[CONFIG_ERR_LEN];

	if (*value == '\0')
		return 0;
	if (listen_parse(value, la, reason, sizeof(reason)) == -1) {
		config_error(cp, line, "[%s] %s: %s", ck->ck_section,
		    ck->ck_key, reason);
		return -1;
	}
	la->la_line = line;
	return 0;
}

/* Set a list of content codings ([http] precompressed) from value. */
static int
config_set_codings(struct config_parse *cp, const struct config_key *ck,
    const char *value, int line)
{
	char expected[160];

	if (accenc_list_parse(value, config_member(cp->cp_cf, ck)) == -1) {
		config_expected(ck, expected, sizeof(expected));
		config_error(cp, line, "[%s] %s: expected %s, got '%s'",
		    ck->ck_section, ck->ck_key, expected, value);
		return -1;
	}
	return 0;
}

/* Parse value for key ck (line 0 for a default) and store it in the config. */
static int
config_set(struct config_parse *cp, const struct config_key *ck,
    const char *value, int line)
{
	switch (ck->ck_type) {
	case CONFIG_INTEGER:
	case CONFIG_AUTO:
	case CONFIG_SIZE:
	case CONFIG_DURATION:
	case CONFIG_RATE:
	case CONFIG_BOOL:
	case CONFIG_FORMAT:
	case CONFIG_VERIFY:
	case CONFIG_PROTOCOLS:
		return config_set_number(cp, ck, value, line);
	case CONFIG_LISTEN:
		return config_set_listen(cp, ck, value, line);
	case CONFIG_ADDRESS:
		return config_set_address(cp, ck, value, line);
	case CONFIG_CACHE:
	case CONFIG_ERRPAGE:
		return config_set_site(cp, ck, value, line);
	case CONFIG_CODINGS:
		return config_set_codings(cp, ck, value, line);
	case CONFIG_AUTH:
	case CONFIG_REALM:
		return config_set_auth(cp, ck, value, line);
	default:
		return config_set_string(cp, ck, value, line);
	}
}

/*
 * Add an auth rule ([http]'s or a host's), reading its htpasswd file
 * (with the TLS files: cp_load_tls), or set auth_realm, whose member is
 * the au_realm of its struct auth. A fault in a line of the htpasswd
 * file is reported at that line of that file.
 */
static int
config_set_auth(struct config_parse *cp, const struct config_key *ck,
    const char *value, int line)
{
	char *member = config_member(cp->cp_cf, ck);
	struct auth *au = (struct auth *)(ck->ck_type == CONFIG_REALM
		? member - offsetof(struct auth, au_realm)
		: member);
	char why[CONFIG_ERR_LEN], *file;
	int fline;

	if (ck->ck_type == CONFIG_REALM) {
		if (auth_realm_set(au, value, why, sizeof(why)) == 0)
			return 0;
		config_error(
		    cp, line, "[%s] %s: %s", ck->ck_section, ck->ck_key, why);
		return -1;
	}
	if (*value == '\0' && line == 0)
		return 0;
	if (auth_add(au, value, cp->cp_dir, cp->cp_load_tls, why, sizeof(why),
		&file, &fline) == 0)
		return 0;
	if (file != NULL)
		config_error_in(cp, file, fline, "%s (%s:%d: [%s] %s)", why,
		    cp->cp_file, line, ck->ck_section, ck->ck_key);
	else
		config_error(
		    cp, line, "[%s] %s: %s", ck->ck_section, ck->ck_key, why);
	free(file);
	return -1;
}

/*
 * Add an [http] cache rule or error_page from value. An empty value is
 * none: the default adds nothing, and a line with nothing is an error.
 */
static int
config_set_site(struct config_parse *cp, const struct config_key *ck,
    const char *value, int line)
{
	char why[CONFIG_ERR_LEN];
	int rv;

	if (*value == '\0' && line == 0)
		return 0;
	if (ck->ck_type == CONFIG_CACHE)
		rv = cachectl_add(
		    config_member(cp->cp_cf, ck), value, why, sizeof(why));
	else
		rv = errpage_add(config_member(cp->cp_cf, ck), value, line, why,
		    sizeof(why));
	if (rv == -1)
		config_error(
		    cp, line, "[%s] %s: %s", ck->ck_section, ck->ck_key, why);
	return rv;
}

/*
 * Add name (a section name or an alias, NUL-terminated) to host vh, on
 * line: a host name no host has yet. Return 0 or -1.
 */
static int
config_host_name(
    struct config_parse *cp, struct vhost *vh, const char *name, int line)
{
	struct config *cf = cp->cp_cf;
	char buf[VHOST_NAME_MAX + 2];
	int h, i, me;

	me = (int)(vh - cf->cf_hosts);
	if (vhost_name_parse(name, buf, sizeof(buf)) == -1) {
		config_error(cp, line,
		    "bad host name '%s' (expected letters, digits, hyphens "
		    "and dots, at most %d bytes, a wildcard only as a "
		    "leading '*.')",
		    name, VHOST_NAME_MAX);
		return -1;
	}
	for (h = 0; h <= me; h++) {
		for (i = 0; i < cf->cf_hosts[h].vh_nnames; i++) {
			if (strcmp(cf->cf_hosts[h].vh_names[i], buf) != 0)
				continue;
			config_error(cp, line,
			    "host name '%s' is already given at line %d", buf,
			    cp->cp_name_line[h][i]);
			return -1;
		}
	}
	if (vh->vh_nnames == VHOST_NAMES_MAX) {
		config_error(cp, line,
		    "too many names for one host (at most %d)",
		    VHOST_NAMES_MAX);
		return -1;
	}
	if ((vh->vh_names[vh->vh_nnames] = strdup(buf)) == NULL) {
		config_error(cp, line, "%s", strerror(errno));
		return -1;
	}
	cp->cp_name_line[me][vh->vh_nnames++] = line;
	return 0;
}

/*
 * Start the host of a [host "NAME"] section: section is its text between
 * the brackets (len bytes), which inih will hand to config_handler() as
 * it is. Return 0 or -1.
 */
static int
config_host_new(struct config_parse *cp, const char *section, size_t len)
{
	struct config *cf = cp->cp_cf;
	char name[VHOST_NAME_MAX + 2];
	size_t pre = strlen(CONFIG_HOST_PREFIX);
	struct vhost *vh;

	if (section[len - 1] != '"' || len - pre - 1 >= sizeof(name) ||
	    memchr(section + pre, '"', len - pre - 1) != NULL) {
		config_error(cp, cp->cp_line,
		    "bad section [%.*s] (expected [host \"NAME\"])", (int)len,
		    section);
		return -1;
	}
	if (cf->cf_nhosts == VHOST_MAX) {
		config_error(cp, cp->cp_line,
		    "too many [host] sections (at most %d)", VHOST_MAX);
		return -1;
	}
	memcpy(name, section + pre, len - pre - 1);
	name[len - pre - 1] = '\0';
	vh = &cf->cf_hosts[cf->cf_nhosts++];
	vh->vh_line = cp->cp_line;
	cp->cp_host = vh;
	return config_host_name(cp, vh, name, cp->cp_line);
}

/* Return the index of the host key called name, or CONFIG_HOST_NKEYS. */
static size_t
config_host_key(const char *name)
{
	size_t i;

	for (i = 0; i < CONFIG_HOST_NKEYS; i++)
		if (strcmp(config_host_keys[i].ck_key, name) == 0)
			break;
	return i;
}

/* Report key name, unknown in [host "NAME"] section, with the known ones. */
static void
config_host_unknown(
    struct config_parse *cp, const char *section, const char *name)
{
	char known[256];
	size_t i, used = 0;

	known[0] = '\0';
	for (i = 0; i < CONFIG_HOST_NKEYS && used < sizeof(known); i++)
		used +=
		    (size_t)snprintf(known + used, sizeof(known) - used, "%s%s",
			i == 0				? ""
			    : i + 1 < CONFIG_HOST_NKEYS ? ", "
							: " or ",
			config_host_keys[i].ck_key);
	config_error(cp, cp->cp_line,
	    "unknown key '%s' in section [%s] (expected %s)", name, section,
	    known);
}

/*
 * Set key name of the [host "NAME"] section being read (section, as inih
 * names it) to value. Return 0 or -1.
 */
static int
config_host_set(struct config_parse *cp, const char *section, const char *name,
    const char *value)
{
	struct config *cf = cp->cp_cf;
	struct vhost *vh = cp->cp_host;
	int *seen = cp->cp_host_seen[vh - cf->cf_hosts];
	char label[VHOST_NAME_MAX + 8];
	struct config_key ck;
	int line = cp->cp_line;
	size_t i;

	/* inih cuts a section name at 49 bytes: name the host whole */
	snprintf(label, sizeof(label), "host \"%s\"", vh->vh_names[0]);
	section = label;
	if ((i = config_host_key(name)) == CONFIG_HOST_NKEYS) {
		config_host_unknown(cp, section, name);
		return -1;
	}
	ck = config_host_keys[i];
	if (seen[i] != 0 && !(ck.ck_flags & CONFIG_REPEATABLE)) {
		config_error(cp, line,
		    "[%s] %s: duplicate key (already set at line %d)", section,
		    name, seen[i]);
		return -1;
	}
	seen[i] = line;
	if (strcmp(name, "alias") == 0)
		return config_host_name(cp, vh, value, line);
	ck.ck_section = section;
	ck.ck_offset += (size_t)((char *)vh - (char *)cf);
	if (config_set(cp, &ck, value, line) == -1)
		return -1;
	if (strcmp(name, "default") != 0 || !vh->vh_default)
		return 0;
	if (cp->cp_default_line != 0) {
		config_error(cp, line,
		    "[%s] default: another host is the default (line %d)",
		    section, cp->cp_default_line);
		return -1;
	}
	cp->cp_default_line = line;
	cf->cf_host_default = (int)(vh - cf->cf_hosts);
	return 0;
}

/*
 * Give host vh a copy of the [http] value of host key hk, which its
 * section does not set. A key with no [http] twin (alias, default) is
 * left alone. Return 0, or -1 if memory ran out.
 */
static int
config_host_inherit(
    struct config *cf, struct vhost *vh, const struct config_key *hk)
{
	void *to = (char *)vh + hk->ck_offset;
	const void *from;
	size_t i;

	for (i = 0; i < CONFIG_NKEYS; i++)
		if (strcmp(config_keys[i].ck_section, "http") == 0 &&
		    strcmp(config_keys[i].ck_key, hk->ck_key) == 0)
			break;
	if (i == CONFIG_NKEYS)
		return 0;
	from = config_member(cf, &config_keys[i]);
	switch (hk->ck_type) {
	case CONFIG_DIRECTORY:
	case CONFIG_FILENAME:
		*(char **)to = strdup(*(char *const *)from);
		return *(char **)to == NULL ? -1 : 0;
	case CONFIG_CACHE:
		return cachectl_copy(to, from);
	case CONFIG_ERRPAGE:
		return errpage_copy(to, from);
	case CONFIG_CODINGS:
		memcpy(to, from, sizeof(struct accenc_list));
		return 0;
	case CONFIG_AUTH:
		return auth_copy(to, from);
	case CONFIG_REALM:
		memcpy(to, from, AUTH_REALM_MAX + 1);
		return 0;
	case CONFIG_BOOL:
		*(int *)to = *(const int *)from;
		return 0;
	default:
		return 0;
	}
}

/*
 * The [http] root that host vh takes must be a directory: checked here,
 * not as the default is set, so that a file whose hosts all have roots
 * of their own needs none. Reported at [http] root's line, else at the
 * host's section line (0 for the implicit host). Return 0 or -1.
 */
static int
config_check_http_root(struct config_parse *cp, const struct vhost *vh)
{
	const char *root = cp->cp_cf->cf_root, *why;
	int line = config_line_of(cp, "http", "root");
	struct stat st;

	if (stat(root, &st) == -1)
		why = strerror(errno);
	else if (!S_ISDIR(st.st_mode))
		why = "not a directory";
	else
		return 0;
	if (line == 0)
		line = vh->vh_line;
	if (vh->vh_line == 0)
		config_error(cp, line, "[http] root %s: %s", root, why);
	else
		config_error(cp, line,
		    "[http] root %s, the root of [host \"%s\"]: %s", root,
		    vh->vh_names[0], why);
	return -1;
}

/*
 * Give each host the [http] site settings its section does not set, or
 * make the one implicit host from [http] when the file has no [host]
 * section. Return 0 or -1.
 */
static int
config_hosts_finish(struct config_parse *cp)
{
	struct config *cf = cp->cp_cf;
	size_t k;
	int i;

	if (cf->cf_nhosts == 0)
		cf->cf_nhosts = 1;
	for (i = 0; i < cf->cf_nhosts; i++)
		for (k = 0; k < CONFIG_HOST_NKEYS; k++) {
			if (cp->cp_host_seen[i][k] != 0)
				continue;
			if (k == config_host_key("root") &&
			    config_check_http_root(cp, &cf->cf_hosts[i]) == -1)
				return -1;
			if (config_host_inherit(cf, &cf->cf_hosts[i],
				&config_host_keys[k]) == -1) {
				config_error(cp, 0, "%s", strerror(errno));
				return -1;
			}
		}
	return 0;
}

/* Free what host vh holds. */
static void
config_host_free(struct vhost *vh)
{
	int i;

	for (i = 0; i < vh->vh_nnames; i++)
		free(vh->vh_names[i]);
	free(vh->vh_root);
	free(vh->vh_index);
	cachectl_free(&vh->vh_cache);
	errpage_free(&vh->vh_errpages);
	auth_free(&vh->vh_auth);
	free(vh->vh_tls_certificate);
	free(vh->vh_tls_key);
	tls_context_free(vh->vh_tls_ctx);
}

/*
 * Check a "[name]" line, which inih does not pass to the handler: the
 * section must be known and nothing but a comment may follow. A line with
 * no ']' is left to inih, which reports it as a syntax error.
 */
static int
config_check_section(struct config_parse *cp, const char *s)
{
	char known[128];
	const char *end, *p;
	size_t i, j, len, used;

	end = strchr(s + 1, ']');
	if (end == NULL)
		return 0;
	for (p = end + 1; isspace((unsigned char)*p); p++)
		continue;
	if (*p != '\0' && *p != ';') {
		config_error(
		    cp, cp->cp_line, "syntax error: unexpected text after ']'");
		return -1;
	}
	len = (size_t)(end - (s + 1));
	if (len > strlen(CONFIG_HOST_PREFIX) &&
	    strncmp(s + 1, CONFIG_HOST_PREFIX, strlen(CONFIG_HOST_PREFIX)) == 0)
		return config_host_new(cp, s + 1, len);
	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (strlen(config_keys[i].ck_section) == len &&
		    strncmp(config_keys[i].ck_section, s + 1, len) == 0)
			return 0;
	}

	/* List every known section once, in table order. */
	known[0] = '\0';
	used = 0;
	for (i = 0; i < CONFIG_NKEYS; i++) {
		for (j = 0; j < i; j++) {
			if (strcmp(config_keys[j].ck_section,
				config_keys[i].ck_section) == 0)
				break;
		}
		if (j < i || used >= sizeof(known))
			continue;
		used += (size_t)snprintf(known + used, sizeof(known) - used,
		    "%s[%s]", used > 0 ? ", " : "", config_keys[i].ck_section);
	}
	config_error(cp, cp->cp_line,
	    "unknown section [%.*s] (expected %s or [host \"NAME\"])", (int)len,
	    s + 1, known);
	return -1;
}

/*
 * The ini_reader: return the next line into str (num bytes) without its
 * leading whitespace, so that inih never takes an indented line for the
 * continuation of a value, and count lines, since inih's handler is told
 * no line number. Return NULL at the end or after an error.
 */
static char *
config_read_line(char *str, int num, void *stream)
{
	struct config_parse *cp = stream;
	ssize_t n;
	char *s;

	if (cp->cp_failed)
		return NULL;
	n = getline(&cp->cp_buf, &cp->cp_bufsize, cp->cp_fp);
	if (n == -1) {
		if (ferror(cp->cp_fp))
			config_error(cp, 0, "%s", strerror(errno));
		return NULL;
	}
	cp->cp_line++;
	s = cp->cp_buf;
	if (n > 0 && s[n - 1] == '\n')
		s[--n] = '\0';
	if (n > 0 && s[n - 1] == '\r')
		s[--n] = '\0';
	if (n > (ssize_t)num - 1) {
		config_error(cp, cp->cp_line,
		    "line too long (more than %d characters)", num - 1);
		return NULL;
	}
	if (cp->cp_line == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3; /* UTF-8 byte order mark */
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '[' && config_check_section(cp, s) == -1)
		return NULL;
	memmove(str, s, strlen(s) + 1);
	return str;
}

/* The ini_handler: look up the key in the table and set its value. */
static int
config_handler(
    void *user, const char *section, const char *name, const char *value)
{
	struct config_parse *cp = user;
	const struct config_key *ck;
	size_t i;
	int line;

	line = cp->cp_line;
	if (*section == '\0') {
		config_error(cp, line,
		    "key '%s' is outside of any section (expected a [section] line first)",
		    name);
		return 0;
	}
	if (strncmp(section, CONFIG_HOST_PREFIX, strlen(CONFIG_HOST_PREFIX)) ==
	    0)
		return config_host_set(cp, section, name, value) == 0;
	for (i = 0; i < CONFIG_NKEYS; i++) {
		ck = &config_keys[i];
		if (strcmp(ck->ck_section, section) == 0 &&
		    strcmp(ck->ck_key, name) == 0)
			break;
	}
	if (i == CONFIG_NKEYS) {
		config_error(cp, line, "unknown key '%s' in section [%s]", name,
		    section);
		return 0;
	}
	if (cp->cp_seen[i] != 0 && !(ck->ck_flags & CONFIG_REPEATABLE)) {
		config_error(cp, line,
		    "[%s] %s: duplicate key (already set at line %d)",
		    ck->ck_section, ck->ck_key, cp->cp_seen[i]);
		return 0;
	}
	if (cp->cp_seen[i] == 0)
		cp->cp_seen[i] = line;
	return config_set(cp, ck, value, line) == 0;
}

/*
 * Find the absolute directory of the config file (against which relative
 * paths resolve) and the file's absolute path.
 */
static int
config_locate(struct config_parse *cp)
{
	char *copy, *base;

	if ((copy = strdup(cp->cp_file)) == NULL) {
		config_error(cp, 0, "%s", strerror(errno));
		return -1;
	}
	cp->cp_dir = realpath(dirname(copy), NULL);
	free(copy);
	if (cp->cp_dir == NULL) {
		config_error(cp, 0, "%s", strerror(errno));
		return -1;
	}
	if ((copy = strdup(cp->cp_file)) == NULL) {
		config_error(cp, 0, "%s", strerror(errno));
		return -1;
	}
	base = basename(copy);
	cp->cp_cf->cf_file = config_join(cp->cp_dir, base);
	free(copy);
	if (cp->cp_cf->cf_file == NULL) {
		config_error(cp, 0, "%s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Give every key the file did not set its default from the table. */
static int
config_defaults(struct config_parse *cp)
{
	size_t i;

	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (cp->cp_seen[i] == 0 &&
		    config_set(cp, &config_keys[i], config_keys[i].ck_default,
			0) == -1)
			return -1;
	}
	return 0;
}

/*
 * Read and validate the configuration file, and with load_tls the TLS
 * certificate, key and CAs it names. Return a new config, or NULL with
 * one message "FILE:LINE: message" (or "FILE: message") in err.
 */
static struct config *
config_read(const char *file, int load_tls, char *err, size_t errlen)
{
	struct config_parse cp;
	struct config *cf;
	int i, rv;

	memset(&cp, 0, sizeof(cp));
	cp.cp_file = file;
	cp.cp_load_tls = load_tls;
	cp.cp_err = err;
	cp.cp_errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';

	if ((cf = calloc(1, sizeof(*cf))) == NULL) {
		config_error(&cp, 0, "%s", strerror(errno));
		return NULL;
	}
	for (i = 0; i < CONFIG_MAX_LISTEN; i++)
		cf->cf_listen[i].la_fd = -1;
	cf->cf_stats_listen.la_fd = -1;
	cp.cp_cf = cf;

	if ((cp.cp_fp = fopen(file, "r")) == NULL) {
		config_error(&cp, 0, "%s", strerror(errno));
		goto done;
	}
	if (config_locate(&cp) == -1)
		goto done;

	rv = ini_parse_stream(config_read_line, &cp, config_handler, &cp);
	if (rv < 0)
		config_error(&cp, 0, "%s", strerror(ENOMEM));
	else if (rv > 0 && (!cp.cp_failed || rv < cp.cp_error_line)) {
		/*
		 * inih keeps going after a line it cannot parse: a line it
		 * rejected before our first error is the first error.
		 */
		cp.cp_failed = 0;
		config_error(&cp, rv,
		    "syntax error (expected 'key = value', '[section]' or a comment)");
	}
	if (!cp.cp_failed)
		config_defaults(&cp);
	if (!cp.cp_failed)
		config_hosts_finish(&cp);
	if (!cp.cp_failed)
		config_check_paths(&cp);
	if (!cp.cp_failed && config_finish(&cp) == -1)
		config_error(&cp, 0, "%s", strerror(errno));
	if (!cp.cp_failed)
		config_check_tls(&cp);
	if (!cp.cp_failed)
		config_check_host_tls(&cp);
	if (!cp.cp_failed)
		config_check_redis(&cp);
	if (!cp.cp_failed)
		config_check_stats(&cp);
	if (!cp.cp_failed)
		config_check_errpages(&cp);
	if (!cp.cp_failed)
		config_check_host_chat(&cp);

done:
	if (cp.cp_fp != NULL)
		fclose(cp.cp_fp);
	free(cp.cp_buf);
	free(cp.cp_dir);
	if (cp.cp_failed) {
		config_free(cf);
		return NULL;
	}
	return cf;
}

/*
 * Read and validate the configuration file and the TLS files it names:
 * everything the server needs. A config, or NULL with the error in err.
 */
struct config *
config_load(const char *file, char *err, size_t errlen)
{
	return config_read(file, 1, err, errlen);
}

/*
 * Read and validate the configuration file alone: its TLS files are not
 * read (cf_tls_ctx stays NULL). For a reader of the settings, such as
 * statsdump, that may not read a key file meant for root.
 */
struct config *
config_load_keys(const char *file, char *err, size_t errlen)
{
	return config_read(file, 0, err, errlen);
}

/* Return the line where the file sets key of section, or 0 if it does not. */
static int
config_line_of(
    const struct config_parse *cp, const char *section, const char *key)
{
	size_t i;

	for (i = 0; i < CONFIG_NKEYS; i++)
		if (strcmp(config_keys[i].ck_section, section) == 0 &&
		    strcmp(config_keys[i].ck_key, key) == 0)
			return cp->cp_seen[i];
	return 0;
}

/*
 * Check what no single key can: the chat and echo endpoints need paths of
 * their own. The error names the line of [chat] path, or of [websocket]
 * echo_path when the chat path is its default. Return 0 or -1.
 */
static int
config_check_paths(struct config_parse *cp)
{
	const struct config *cf = cp->cp_cf;
	int chat_line, echo_line;

	if (cf->cf_chat_path == NULL || cf->cf_ws_echo_path == NULL ||
	    strcmp(cf->cf_chat_path, cf->cf_ws_echo_path) != 0)
		return 0;
	chat_line = config_line_of(cp, "chat", "path");
	echo_line = config_line_of(cp, "websocket", "echo_path");
	if (chat_line > 0 && echo_line > 0)
		config_error(cp, chat_line,
		    "[chat] path: '%s' is also [websocket] echo_path at line "
		    "%d; the chat and the echo need paths of their own",
		    cf->cf_chat_path, echo_line);
	else if (chat_line > 0)
		config_error(cp, chat_line,
		    "[chat] path: '%s' is also the default [websocket] "
		    "echo_path; the chat and the echo need paths of their own",
		    cf->cf_chat_path);
	else
		config_error(cp, echo_line,
		    "[websocket] echo_path: '%s' is also the default [chat] "
		    "path; the chat and the echo need paths of their own",
		    cf->cf_ws_echo_path);
	return -1;
}

/* Return the line of the first TLS listener, or -1 if there is none. */
static int
config_tls_listen_line(const struct config_parse *cp)
{
	const struct config *cf = cp->cp_cf;
	int i;

	for (i = 0; i < cf->cf_nlisten; i++)
		if (cf->cf_listen[i].la_tls)
			return cp->cp_listen_line[i];
	return -1;
}

/*
 * Check the [tls] keys together: a TLS listener needs a certificate and
 * its key, each needs the other, verify_client needs client_ca. Then
 * load them (tls_context_new()): the files are read and checked now, as
 * root, so that -t and a reload find what is wrong with them. Return 0
 * or -1.
 */
static int
config_check_tls(struct config_parse *cp)
{
	struct config *cf = cp->cp_cf;
	char why[CONFIG_ERR_LEN];
	const char *key;
	int line;

	if ((line = config_tls_listen_line(cp)) >= 0 &&
	    cf->cf_tls_certificate == NULL) {
		config_error(
		    cp, line, "a tls listener needs [tls] certificate and key");
		return -1;
	}
	if ((cf->cf_tls_certificate == NULL) != (cf->cf_tls_key == NULL)) {
		key = cf->cf_tls_key == NULL ? "certificate" : "key";
		config_error(cp, config_line_of(cp, "tls", key),
		    "[tls] %s: needs [tls] %s too", key,
		    cf->cf_tls_key == NULL ? "key" : "certificate");
		return -1;
	}
	if (cf->cf_tls_verify_client != TLS_VERIFY_NO &&
	    cf->cf_tls_client_ca == NULL) {
		config_error(cp, config_line_of(cp, "tls", "verify_client"),
		    "[tls] verify_client: needs [tls] client_ca, the "
		    "certificates client certificates are verified against");
		return -1;
	}
	if (cf->cf_tls_certificate == NULL || !cp->cp_load_tls)
		return 0;
	if ((cf->cf_tls_ctx = tls_context_new(cf, &key, why, sizeof(why))) ==
	    NULL) {
		config_error(cp, config_line_of(cp, "tls", key), "[tls] %s: %s",
		    key, why);
		return -1;
	}
	return 0;
}

/* Return the line where host h sets key, or 0 if it does not. */
static int
config_host_line_of(const struct config_parse *cp, int h, const char *key)
{
	size_t i = config_host_key(key);

	return i < CONFIG_HOST_NKEYS ? cp->cp_host_seen[h][i] : 0;
}

/*
 * Build the TLS context of host h, which has a certificate of its own
 * (tls_context_host()). An error in its files is reported at its
 * tls_certificate or tls_key, one in the other [tls] keys at that key.
 * Return 0 or -1.
 */
static int
config_host_tls_context(struct config_parse *cp, int h)
{
	struct vhost *vh = &cp->cp_cf->cf_hosts[h];
	char why[CONFIG_ERR_LEN];
	const char *key;

	vh->vh_tls_ctx =
	    tls_context_host(cp->cp_cf, vh, &key, why, sizeof(why));
	if (vh->vh_tls_ctx != NULL)
		return 0;
	if (strcmp(key, "certificate") == 0 || strcmp(key, "key") == 0)
		config_error(cp,
		    config_host_line_of(
			cp, h, key[0] == 'c' ? "tls_certificate" : "tls_key"),
		    "[host \"%s\"] tls_%s: %s", vh->vh_names[0], key, why);
	else
		config_error(cp, config_line_of(cp, "tls", key), "[tls] %s: %s",
		    key, why);
	return -1;
}

/*
 * Check each host's tls_certificate and tls_key: each needs the other,
 * and with the TLS files read, they load as [tls]'s do (a host's context
 * is built whether a TLS listener uses it or not, as [tls]'s is). Return
 * 0 or -1.
 */
static int
config_check_host_tls(struct config_parse *cp)
{
	struct config *cf = cp->cp_cf;
	const struct vhost *vh;
	const char *key;
	int h;

	for (h = 0; h < cf->cf_nhosts; h++) {
		vh = &cf->cf_hosts[h];
		if ((vh->vh_tls_certificate == NULL) !=
		    (vh->vh_tls_key == NULL)) {
			key = vh->vh_tls_key == NULL ? "tls_certificate"
						     : "tls_key";
			config_error(cp, config_host_line_of(cp, h, key),
			    "[host \"%s\"] %s: needs [host \"%s\"] %s too",
			    vh->vh_names[0], key, vh->vh_names[0],
			    vh->vh_tls_key == NULL ? "tls_key"
						   : "tls_certificate");
			return -1;
		}
		if (vh->vh_tls_certificate != NULL && cp->cp_load_tls &&
		    config_host_tls_context(cp, h) == -1)
			return -1;
	}
	return 0;
}

/* Return the port of the first [server] listen address. */
static unsigned
config_http_port(const struct config *cf)
{
	const struct sockaddr_storage *ss;
	int i;

	/* There is one: [server] listen has a default. */
	for (i = 0; i + 1 < cf->cf_nlisten && cf->cf_listen[i].la_chat; i++)
		continue;
	ss = &cf->cf_listen[i].la_ss;
	if (ss->ss_family == AF_INET6)
		return ntohs(
		    ((const struct sockaddr_in6 *)(const void *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)(const void *)ss)->sin_port);
}

/* Return v rounded up to a power of two. */
static long long
config_pow2(long long v)
{
	long long size;

	for (size = 1; size < v; size *= 2)
		continue;
	return size;
}

/*
 * A room's Redis stream must keep at least the history a newcomer is
 * shown, or a hub loading the room could not fill it. Return 0 or -1.
 */
static int
config_check_redis(struct config_parse *cp)
{
	const struct config *cf = cp->cp_cf;
	int line;

	if (cf->cf_chat_redis == NULL ||
	    cf->cf_chat_redis_stream_length >= cf->cf_chat_history)
		return 0;
	if ((line = config_line_of(cp, "chat", "redis_stream_length")) == 0)
		line = config_line_of(cp, "chat", "history");
	config_error(cp, line,
	    "[chat] redis_stream_length: %lld is less than [chat] history "
	    "(%lld); a room's stream keeps at least the history",
	    cf->cf_chat_redis_stream_length, cf->cf_chat_history);
	return -1;
}

/*
 * The metrics endpoint ([stats] listen) needs an address of its own: not
 * one that a [server] or [chat] listen line takes. Return 0 or -1.
 */
static int
config_check_stats(struct config_parse *cp)
{
	const struct config *cf = cp->cp_cf;
	const struct listen_addr *st = &cf->cf_stats_listen, *la;
	int i;

	for (i = 0; st->la_sslen != 0 && i < cf->cf_nlisten; i++) {
		la = &cf->cf_listen[i];
		if (la->la_sslen != st->la_sslen ||
		    memcmp(&la->la_ss, &st->la_ss, st->la_sslen) != 0)
			continue;
		config_error(cp, st->la_line,
		    "[stats] listen: '%s' is the same address as [%s] listen "
		    "'%s'%s",
		    st->la_name, la->la_chat ? "chat" : "server", la->la_name,
		    la->la_line == 0 ? " (its default)" : "");
		return -1;
	}
	return 0;
}

/* Why path (absolute) beneath rootfd is not a regular file, or NULL. */
static const char *
config_page_problem(int rootfd, const char *path)
{
	const char *why = NULL;
	struct stat st;
	int fd;

	if ((fd = beneath_open(rootfd, path + 1, O_RDONLY)) == -1)
		return strerror(errno);
	if (fstat(fd, &st) == -1)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	close(fd);
	return why;
}

/*
 * Each error_page of host vh (its own or its copy of [http]'s) must name
 * a regular file beneath the host's root, opened as file.c opens what it
 * serves (beneath.c: no "..", no symbolic link out). Return 0 or -1.
 */
static int
config_check_host_pages(struct config_parse *cp, const struct vhost *vh)
{
	const struct errpages *ep = &vh->vh_errpages;
	char section[VHOST_NAME_MAX + 16];
	const char *why;
	int i, rootfd;

	if (vh->vh_line == 0)
		snprintf(section, sizeof(section), "http");
	else
		snprintf(
		    section, sizeof(section), "host \"%s\"", vh->vh_names[0]);
	if ((rootfd = open(vh->vh_root, O_PATH | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		config_error(cp, vh->vh_line, "[%s] root %s: %s", section,
		    vh->vh_root, strerror(errno));
		return -1;
	}
	for (i = 0; i <= ERRPAGE_LAST - ERRPAGE_FIRST; i++) {
		if (ep->ep_path[i] == NULL ||
		    (why = config_page_problem(rootfd, ep->ep_path[i])) == NULL)
			continue;
		config_error(cp, ep->ep_line[i],
		    "[%s] error_page %d %s: %s%s%s", section, ERRPAGE_FIRST + i,
		    ep->ep_path[i], why, vh->vh_line != 0 ? " in root " : "",
		    vh->vh_line != 0 ? vh->vh_root : "");
		break;
	}
	close(rootfd);
	return cp->cp_failed ? -1 : 0;
}

/*
 * Check every host's error pages. Done with the TLS files (cp_load_tls):
 * a reader of the settings alone may not read the roots. Return 0 or -1.
 */
static int
config_check_errpages(struct config_parse *cp)
{
	int i;

	if (!cp->cp_load_tls)
		return 0;
	for (i = 0; i < cp->cp_cf->cf_nhosts; i++)
		if (config_check_host_pages(cp, &cp->cp_cf->cf_hosts[i]) == -1)
			return -1;
	return 0;
}

/*
 * A host's own auth rule whose prefix is the chat's path or a room's
 * would not hold: the rooms are the server's, shared by every host and
 * the telnet listener, and [http] auth alone protects them (chatauth.c).
 * Refuse it at the host's auth line. Return 0 or -1.
 */
static int
config_check_host_chat(struct config_parse *cp)
{
	const struct config *cf = cp->cp_cf;
	const char *chat = cf->cf_chat_path, *prefix;
	size_t n;
	int h, i, line;

	if (chat == NULL)
		return 0;
	n = strlen(chat);
	for (h = 0; h < cf->cf_nhosts; h++) {
		if ((line = config_host_line_of(cp, h, "auth")) == 0)
			continue; /* [http]'s rules: they do hold */
		for (i = 0; i < cf->cf_hosts[h].vh_auth.au_n; i++) {
			prefix = cf->cf_hosts[h].vh_auth.au_rules[i].ar_prefix;
			if (strncmp(prefix, chat, n) != 0 ||
			    (prefix[n] != '\0' && prefix[n] != '/'))
				continue;
			config_error(cp, line,
			    "[host \"%s\"] auth %s: the chat (%s) is shared by "
			    "every host; protect its rooms with [http] auth",
			    cf->cf_hosts[h].vh_names[0], prefix, chat);
			return -1;
		}
	}
	return 0;
}

/*
 * Derive what the table cannot express: the default shm_path names the
 * first [server] listen port (/dev/shm/pfhttpd-8080); the ring sizes are
 * rounded up to a power of two, the address table to a power of two
 * groups; a chat or address burst of 0 is twice the rate; the exempt
 * ranges, checked as the line was read, are parsed.
 */
static int
config_finish(struct config_parse *cp)
{
	struct config *cf = cp->cp_cf;

	if (cf->cf_shm_path == NULL) {
		if (asprintf(&cf->cf_shm_path, "/dev/shm/pfhttpd-%u",
			config_http_port(cf)) == -1) {
			cf->cf_shm_path = NULL;
			return -1;
		}
		cf->cf_shm_path_derived = 1;
	}
	cf->cf_ring_size = config_pow2(cf->cf_ring_size);
	cf->cf_chat_ring_size = config_pow2(cf->cf_chat_ring_size);
	cf->cf_chat_bcast_size = config_pow2(cf->cf_chat_bcast_size);
	if (cf->cf_chat_burst == 0)
		cf->cf_chat_burst = 2 * cf->cf_chat_rate;
	if (cf->cf_limit_burst == 0)
		cf->cf_limit_burst = 2 * cf->cf_limit_rate;
	cf->cf_ip_table_size =
	    SHM_IP_WAYS * config_pow2(cf->cf_ip_table_size / SHM_IP_WAYS);
	if (cf->cf_limit_exempt != NULL)
		cf->cf_nexempt = iplimit_cidr_parse(cf->cf_limit_exempt,
		    cf->cf_exempt, IPLIMIT_CIDR_MAX, NULL, 0);
	return 0;
}

/* Tell whether key ck has the same value in a and b. */
static int
config_key_equal(
    const struct config *a, const struct config *b, const struct config_key *ck)
{
	const void *va = (const char *)a + ck->ck_offset;
	const void *vb = (const char *)b + ck->ck_offset;
	const char *sa, *sb;

	if (config_is_string(ck->ck_type)) {
		sa = *(char *const *)va;
		sb = *(char *const *)vb;
		return sa == sb ||
		    (sa != NULL && sb != NULL && strcmp(sa, sb) == 0);
	}
	if (config_is_int(ck->ck_type))
		return *(const int *)va == *(const int *)vb;
	switch (ck->ck_type) {
	case CONFIG_LISTEN:
	case CONFIG_ADDRESS:
		return 1; /* reloadable: the master compares addresses */
	case CONFIG_CACHE:
	case CONFIG_ERRPAGE:
	case CONFIG_AUTH:
	case CONFIG_REALM:
		return 1; /* reloadable: a struct, not a number to compare */
	case CONFIG_CODINGS:
		return memcmp(va, vb, sizeof(struct accenc_list)) == 0;
	default:
		return *(const long long *)va == *(const long long *)vb;
	}
}

/*
 * Before a reload applies next: put back the running value of every key a
 * reload cannot change, and list the keys that differed in buf ("[server]
 * user, [log] ring_size"). Return how many there were, or -1 if a string
 * could not be copied (next is then unusable).
 */
int
config_restart_keys(
    struct config *next, const struct config *running, char *buf, size_t len)
{
	const struct config_key *ck;
	const void *keep;
	char **sp, *copy;
	size_t i, used = 0;
	int n = 0, w;

	if (len > 0)
		buf[0] = '\0';
	for (i = 0; i < CONFIG_NKEYS; i++) {
		ck = &config_keys[i];
		if ((ck->ck_flags & CONFIG_RELOADABLE) ||
		    config_key_equal(next, running, ck))
			continue;
		keep = (const char *)running + ck->ck_offset;
		if (config_is_string(ck->ck_type)) {
			copy = NULL;
			if (*(char *const *)keep != NULL &&
			    (copy = strdup(*(char *const *)keep)) == NULL)
				return -1;
			sp = config_member(next, ck);
			free(*sp);
			*sp = copy;
		} else if (config_is_int(ck->ck_type))
			memcpy(config_member(next, ck), keep, sizeof(int));
		else
			memcpy(
			    config_member(next, ck), keep, sizeof(long long));
		w = snprintf(buf + used, len - used, "%s[%s] %s%s",
		    n > 0 ? ", " : "", ck->ck_section, ck->ck_key,
		    ck->ck_offset == CF(cf_shm_path) &&
			    next->cf_shm_path_derived
			? " (derived from the first [server] listen port)"
			: "");
		if (w > 0 && (size_t)w < len - used)
			used += (size_t)w;
		else if (len > 0)
			buf[used] = '\0'; /* whole names only */
		n++;
	}
	return n;
}

/*
 * Free cf and everything it holds. A listening socket still open in
 * cf_listen[] or cf_stats_listen is closed: set its la_fd to -1 first to
 * keep it.
 */
void
config_free(struct config *cf)
{
	char **sp;
	size_t i;
	int j;

	if (cf == NULL)
		return;
	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (config_is_string(config_keys[i].ck_type)) {
			sp = config_member(cf, &config_keys[i]);
			free(*sp);
		}
	}
	for (j = 0; j < cf->cf_nlisten; j++)
		listen_close(&cf->cf_listen[j]);
	listen_close(&cf->cf_stats_listen);
	for (j = 0; j < cf->cf_nhosts; j++)
		config_host_free(&cf->cf_hosts[j]);
	cachectl_free(&cf->cf_cache);
	errpage_free(&cf->cf_errpages);
	auth_free(&cf->cf_auth);
	tls_context_free(cf->cf_tls_ctx);
	free(cf->cf_file);
	free(cf);
}
