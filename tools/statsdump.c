/*
 * statsdump: read pfhttpd's counters straight from its shared-memory
 * segment (layout and contract: src/shm.h), the chat hub's included, and
 * print them as text, as one JSON object or in the Prometheus text
 * exposition format, once or every -w seconds. It maps the segment read-only
 * and never talks to the server, so it works when the server is too busy to
 * answer HTTP, and it says so when the master that wrote the numbers is gone.
 */

#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pfhttpd.h"
#include "shm.h"

#ifndef PFHTTPD_CONF
#define PFHTTPD_CONF "/usr/local/etc/pfhttpd/pfhttpd.ini"
#endif

#define STATSDUMP_NAME	    "statsdump"
#define STATSDUMP_ERR_LEN   1024
#define STATSDUMP_MAX_WAIT  86400.0 /* longest -w interval, seconds */
#define STATSDUMP_FOLD_WAIT 100	    /* ms to wait for a fold to finish */
#define STATSDUMP_RESP_LINE 6	    /* status codes per line of text */
#define STATSDUMP_OPT_JSON  256	    /* getopt_long values of long options */
#define STATSDUMP_OPT_PROM  257
#define STATSDUMP_OPT_ROOMS 258

enum statsdump_format {
	STATSDUMP_TEXT = 0,
	STATSDUMP_JSON,
	STATSDUMP_PROMETHEUS,
};

/* Why a segment is stale (sn_stale). */
enum statsdump_stale {
	STATSDUMP_LIVE = 0, /* the master runs */
	STATSDUMP_GONE,	    /* no process has the master's pid */
	STATSDUMP_REUSED,   /* a program not pfhttpd has the pid */
};

/* One worker slot that is not free, as read. */
struct statsdump_worker {
	uint32_t sw_slot;	   /* index in the segment */
	uint64_t sw_id;		   /* worker number, 1..N */
	uint64_t sw_pid;	   /* worker pid */
	uint64_t sw_generation;	   /* generation it was started in */
	uint64_t sw_started;	   /* start time, unix seconds */
	uint64_t sw_state;	   /* enum shm_state */
	uint64_t sw_conn_accepted; /* its counters, see shm_counters */
	uint64_t sw_conn_active;
	uint64_t sw_requests;
	uint64_t sw_bytes_in;
	uint64_t sw_bytes_out;
	uint64_t sw_chat_members; /* chat clients, WebSocket and telnet */
	uint64_t sw_chat_read;	  /* the last broadcast event it read */
	uint64_t sw_tls_full;	  /* TLS handshakes done in full */
	uint64_t sw_tls_resumed;  /* TLS sessions resumed */
	uint64_t sw_tls_failed;	  /* TLS handshakes failed, any class */
	uint64_t sw_tls_done;	  /* sw_tls_full + sw_tls_resumed */
};

/* The chat hub's state and counters, as read (struct shm_chat). */
struct statsdump_chat {
	uint64_t ct_hub_pid;	/* the running hub, 0: none */
	uint64_t ct_hub_starts; /* hubs started, the first included */
	uint64_t ct_rooms;	/* rooms with a member */
	uint64_t ct_members;	/* members of all rooms */
	uint64_t ct_events;	/* sequenced events */
	uint64_t ct_requests;	/* requests the hub took from the rings */
	uint64_t ct_refused;	/* requests it answered with an error */
	uint64_t ct_last_event; /* unix ms of the last event, 0: none */
	uint64_t ct_next_event; /* br_next_event: the broadcast head + 1 */
};

/* A chat room with members, as read (--rooms). */
struct statsdump_room {
	char ro_name[CHAT_NAME_MAX + 1]; /* [A-Za-z0-9_-], '?' for others */
	uint64_t ro_members;		 /* members now */
	uint64_t ro_seq;		 /* the last sequence number given */
};

/* One read of the segment: everything a report shows. */
struct statsdump_snap {
	uint64_t sn_master_pid; /* header fields */
	uint64_t sn_start_time;
	uint64_t sn_generation;
	uint64_t sn_reloads_failed;
	uint64_t sn_logger_pid;	   /* 0: none runs */
	uint64_t sn_logger_wrote;  /* unix seconds, 0: never */
	uint64_t sn_log_written;   /* access lines written, all rings */
	uint64_t sn_log_discarded; /* access records not written, all rings */
	uint32_t sn_nslots;
	enum statsdump_stale sn_stale;	     /* the master is gone */
	int sn_torn;			     /* summed during a fold */
	time_t sn_now;			     /* wall clock at the read */
	struct timespec sn_mono;	     /* CLOCK_MONOTONIC at the read */
	struct shm_counters sn_total;	     /* retired + live slots */
	struct statsdump_worker *sn_workers; /* slots not free */
	uint32_t sn_nworkers;		     /* entries in sn_workers */
	struct statsdump_chat sn_chat;	     /* the chat hub */
	struct statsdump_room *sn_rooms;     /* with --rooms, else NULL */
	uint32_t sn_nrooms;		     /* entries in sn_rooms */
};

/* Rates between two reads of the same segment. */
struct statsdump_rate {
	int rt_known;		   /* the fields below are set */
	double rt_requests;	   /* requests per second */
	double rt_bytes_in;	   /* request bytes per second */
	double rt_bytes_out;	   /* response bytes per second */
	double rt_chat_events;	   /* chat events sequenced per second */
	double rt_chat_deliveries; /* chat events delivered per second */
};

/* The command line, as parsed. */
struct statsdump_opts {
	enum statsdump_format op_format;
	const char *op_cfile;	     /* -c FILE, or NULL */
	const char *op_spath;	     /* -s SHM_PATH, or NULL */
	struct timespec op_interval; /* -w SECONDS, if op_watch */
	int op_watch;		     /* -w was given */
	int op_nformats;	     /* --json and --prometheus given */
	int op_rooms;		     /* --rooms was given */
};

static const char *statsdump_close_class[SHM_WS_CLOSE_CLASSES] = {
    "1000", "1001", "1002-1011", "3000-4999", "other"};

/* The short name of each class of failed TLS handshake (enum shm_tls_fail). */
static const char *statsdump_tls_fail_class[SHM_TLS_FAIL_CLASSES] = {
    [SHM_TLS_FAIL_PROTOCOL] = "protocol",
    [SHM_TLS_FAIL_CERT] = "client_cert",
    [SHM_TLS_FAIL_PLAIN_HTTP] = "plain_http",
    [SHM_TLS_FAIL_TIMEOUT] = "timeout",
    [SHM_TLS_FAIL_CLOSED] = "closed",
};

static const struct option statsdump_longopts[] = {
    {"config", required_argument, NULL, 'c'},
    {"shm", required_argument, NULL, 's'},
    {"json", no_argument, NULL, STATSDUMP_OPT_JSON},
    {"prometheus", no_argument, NULL, STATSDUMP_OPT_PROM},
    {"rooms", no_argument, NULL, STATSDUMP_OPT_ROOMS},
    {"watch", required_argument, NULL, 'w'},
    {"version", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void statsdump_usage(FILE *fp);
static int statsdump_interval(const char *s, struct timespec *ts);
static char *statsdump_shm_path(const char *spath, const char *cfile);
static enum statsdump_stale statsdump_master_alive(const struct shm_header *sh);
static void statsdump_totals(struct shm_header *sh, struct statsdump_snap *sn);
static void statsdump_log_taken(
    struct shm_header *sh, struct statsdump_snap *sn);
static uint64_t statsdump_log_pending(const struct statsdump_snap *sn);
static void statsdump_read_header(
    struct shm_header *sh, struct statsdump_snap *sn);
static void statsdump_read_worker_tls(
    const struct shm_slot *slot, struct statsdump_worker *sw);
static void statsdump_read_worker(const struct shm_slot *slot, uint32_t i,
    uint64_t state, struct statsdump_worker *sw);
static void statsdump_read_workers(
    struct shm_header *sh, struct statsdump_snap *sn);
static void statsdump_read_chat(
    struct shm_header *sh, struct statsdump_snap *sn);
static void statsdump_room_name(char *name);
static int statsdump_read_room(
    const struct shm_chat_room *rm, struct statsdump_room *ro);
static int statsdump_room_cmp(const void *a, const void *b);
static int statsdump_read_rooms(
    struct shm_header *sh, struct statsdump_snap *sn);
static void statsdump_snap_free(struct statsdump_snap *sn);
static int statsdump_read(const char *path, int rooms,
    struct statsdump_snap *sn, char *err, size_t errlen);
static int statsdump_rate_valid(
    const struct statsdump_snap *prev, const struct statsdump_snap *cur);
static void statsdump_rate(const struct statsdump_snap *prev,
    const struct statsdump_snap *cur, struct statsdump_rate *rt);
static uint64_t statsdump_chat_restarts(const struct statsdump_chat *ct);
static int statsdump_chat_lag(const struct statsdump_snap *sn,
    const struct statsdump_worker *sw, uint64_t *lag);
static uint64_t statsdump_tls_failed(const uint64_t *failed);
static int statsdump_tls_resumed_ratio(
    const struct shm_counters *t, double *ratio);
static uint64_t statsdump_hist_count(const uint64_t *b);
static int statsdump_percentile(
    const uint64_t *b, unsigned permille, uint64_t *usec);
static double statsdump_hist_sum(const uint64_t *b);
static const char *statsdump_state_name(uint64_t state);
static const char *statsdump_stale_text(enum statsdump_stale stale);
static uint64_t statsdump_uptime(const struct statsdump_snap *sn);
static void statsdump_fmt_usec(uint64_t usec, char *buf, size_t len);
static void statsdump_fmt_uptime(uint64_t secs, char *buf, size_t len);
static void statsdump_fmt_time(time_t t, char *buf, size_t len);
static int statsdump_fmt_rfc3339(uint64_t ms, char *buf);
static void statsdump_fmt_le(uint64_t usec, char *buf, size_t len);
static void statsdump_text_logger(FILE *fp, const struct statsdump_snap *sn);
static void statsdump_text_header(
    FILE *fp, const char *path, const struct statsdump_snap *sn);
static void statsdump_text_totals(
    FILE *fp, const struct shm_counters *t, const struct statsdump_rate *rt);
static void statsdump_text_log(FILE *fp, const struct statsdump_snap *sn);
static void statsdump_text_tls(FILE *fp, const struct shm_counters *t);
static void statsdump_text_websocket(FILE *fp, const struct shm_counters *t);
static void statsdump_text_chat_hub(FILE *fp, const struct statsdump_snap *sn);
static void statsdump_text_chat_events(
    FILE *fp, const struct statsdump_snap *sn, const struct statsdump_rate *rt);
static void statsdump_text_chat(
    FILE *fp, const struct statsdump_snap *sn, const struct statsdump_rate *rt);
static void statsdump_text_responses(FILE *fp, const struct shm_counters *t);
static void statsdump_text_latency(FILE *fp, const struct shm_counters *t);
static void statsdump_text_workers(FILE *fp, const struct statsdump_snap *sn);
static void statsdump_text_rooms(FILE *fp, const struct statsdump_snap *sn);
static void statsdump_text(FILE *fp, const char *path,
    const struct statsdump_snap *sn, const struct statsdump_rate *rt);
static void statsdump_json_string(FILE *fp, const char *s);
static void statsdump_json_percentile(
    FILE *fp, const char *name, const uint64_t *b, unsigned permille);
static void statsdump_json_header(
    FILE *fp, const char *path, const struct statsdump_snap *sn);
static void statsdump_json_totals(
    FILE *fp, const struct shm_counters *t, const struct statsdump_rate *rt);
static void statsdump_json_responses(FILE *fp, const struct shm_counters *t);
static void statsdump_json_log(FILE *fp, const struct statsdump_snap *sn);
static void statsdump_json_tls(FILE *fp, const struct shm_counters *t);
static void statsdump_json_websocket(FILE *fp, const struct shm_counters *t);
static void statsdump_json_chat_counts(
    FILE *fp, const struct statsdump_snap *sn);
static void statsdump_json_chat_hub(
    FILE *fp, const struct statsdump_snap *sn, const struct statsdump_rate *rt);
static void statsdump_json_rooms(FILE *fp, const struct statsdump_snap *sn);
static void statsdump_json_chat(
    FILE *fp, const struct statsdump_snap *sn, const struct statsdump_rate *rt);
static void statsdump_json_worker_chat(FILE *fp,
    const struct statsdump_snap *sn, const struct statsdump_worker *sw);
static void statsdump_json_worker_tls(
    FILE *fp, const struct statsdump_worker *sw);
static void statsdump_json_latency(FILE *fp, const struct shm_counters *t);
static void statsdump_json_workers(FILE *fp, const struct statsdump_snap *sn);
static void statsdump_json(FILE *fp, const char *path,
    const struct statsdump_snap *sn, const struct statsdump_rate *rt);
static void statsdump_prom_family(
    FILE *fp, const char *name, const char *type, const char *help);
static void statsdump_prom_worker_family(FILE *fp,
    const struct statsdump_snap *sn, const char *name, const char *type,
    const char *help, size_t field);
static void statsdump_prom_value(FILE *fp, const char *name, const char *help,
    const char *type, uint64_t value);
static void statsdump_prom_master(FILE *fp, const struct statsdump_snap *sn);
static void statsdump_prom_responses(FILE *fp, const struct shm_counters *t);
static void statsdump_prom_totals(FILE *fp, const struct shm_counters *t);
static void statsdump_prom_log(FILE *fp, const struct statsdump_snap *sn);
static void statsdump_prom_tls(FILE *fp, const struct shm_counters *t);
static void statsdump_prom_websocket(FILE *fp, const struct shm_counters *t);
static void statsdump_prom_chat_hub(FILE *fp, const struct statsdump_snap *sn);
static void statsdump_prom_chat_workers(FILE *fp, const struct shm_counters *t);
static void statsdump_prom_latency(FILE *fp, const struct shm_counters *t);
static void statsdump_prom_chat_lag(FILE *fp, const struct statsdump_snap *sn);
static void statsdump_prom_workers(FILE *fp, const struct statsdump_snap *sn);
static void statsdump_prometheus(FILE *fp, const struct statsdump_snap *sn);
static int statsdump_report(enum statsdump_format format, const char *path,
    const struct statsdump_snap *sn, const struct statsdump_rate *rt);
static int statsdump_step(const struct statsdump_opts *op, const char *path,
    const struct statsdump_snap *prev, struct statsdump_snap *sn);
static void statsdump_time_left(struct timespec *next, struct timespec *left);
static int statsdump_sleep(const sigset_t *stop, struct timespec *next,
    const struct timespec *interval);
static int statsdump_watch(const struct statsdump_opts *op, const char *path);
static int statsdump_option(int ch, struct statsdump_opts *op);
static int statsdump_check(
    int argc, char *argv[], const struct statsdump_opts *op);

/* Print the usage message to fp. */
static void
statsdump_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: %s [-c FILE | -s SHM_PATH] [--json | --prometheus] "
	    "[--rooms] [-w SECONDS]\n"
	    "  -c FILE       read shm_path from this pfhttpd configuration\n"
	    "                (default %s)\n"
	    "  -s SHM_PATH   read this shared-memory segment\n"
	    "  --json        print one JSON object per report\n"
	    "  --prometheus  print the Prometheus text exposition format\n"
	    "  --rooms       list the chat rooms with members (text, JSON)\n"
	    "  -w SECONDS    print a report every SECONDS, with rates\n"
	    "  -V            print the version and exit\n"
	    "  -h            print this help and exit\n",
	    STATSDUMP_NAME, PFHTTPD_CONF);
}

/* Parse a -w interval (seconds, > 0, fractions allowed) into ts. */
static int
statsdump_interval(const char *s, struct timespec *ts)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) ||
	    v < 0.001 || v > STATSDUMP_MAX_WAIT)
		return -1;
	ts->tv_sec = (time_t)v;
	ts->tv_nsec = (long)((v - (double)ts->tv_sec) * 1e9);
	return 0;
}

/*
 * Return the segment path (allocated): spath if given, else shm_path from
 * the configuration cfile (or the default one). Print why on failure.
 */
static char *
statsdump_shm_path(const char *spath, const char *cfile)
{
	char err[CONFIG_ERR_LEN];
	struct config *cf;
	char *path;

	if (spath != NULL)
		path = strdup(spath);
	else {
		cf = config_load_keys(
		    cfile != NULL ? cfile : PFHTTPD_CONF, err, sizeof(err));
		if (cf == NULL) {
			fprintf(stderr, "%s: %s%s\n", STATSDUMP_NAME, err,
			    cfile == NULL ? " (give -c FILE or -s SHM_PATH)"
					  : "");
			return NULL;
		}
		if (cf->cf_shm_path == NULL) {
			fprintf(stderr, "%s: %s: no [stats] shm_path\n",
			    STATSDUMP_NAME, cf->cf_file);
			config_free(cf);
			return NULL;
		}
		path = strdup(cf->cf_shm_path);
		config_free(cf);
	}
	if (path == NULL)
		fprintf(stderr, "%s: %s\n", STATSDUMP_NAME, strerror(errno));
	return path;
}

/*
 * Tell whether the master that owns the segment runs. Beyond
 * shm_master_alive(), a process that has the pid but whose name (the
 * master sets it to "pfhttpd: master") is not pfhttpd's has reused the
 * pid of a master that is gone. If /proc does not tell, trust the pid.
 */
static enum statsdump_stale
statsdump_master_alive(const struct shm_header *sh)
{
	char path[64], comm[64];
	FILE *fp;
	int named;

	if (!shm_master_alive(sh))
		return STATSDUMP_GONE;
	snprintf(
	    path, sizeof(path), "/proc/%" PRIu64 "/comm", sh->sh_master_pid);
	if ((fp = fopen(path, "re")) == NULL)
		return STATSDUMP_LIVE;
	named = fgets(comm, sizeof(comm), fp) != NULL;
	fclose(fp);
	if (named && strncmp(comm, PFHTTPD_NAME, strlen(PFHTTPD_NAME)) != 0)
		return STATSDUMP_REUSED;
	return STATSDUMP_LIVE;
}

/*
 * Sum the totals into sn. shm_totals() waits for a fold in progress to
 * end; a master that died or stopped in the middle of one would make it
 * wait forever, so after a bounded wait (or at once if the master is
 * gone) take one pass instead and say the sum may be off by one worker.
 */
static void
statsdump_totals(struct shm_header *sh, struct statsdump_snap *sn)
{
	struct timespec nap = {0, 1000000}; /* 1 ms */
	struct shm_slot *slot;
	uint64_t state;
	uint32_t i;
	int tries = STATSDUMP_FOLD_WAIT;

	while (sn->sn_stale == STATSDUMP_LIVE && tries-- > 0) {
		if ((__atomic_load_n(&sh->sh_fold_seq, __ATOMIC_ACQUIRE) & 1) ==
		    0) {
			shm_totals(sh, &sn->sn_total);
			return;
		}
		nanosleep(&nap, NULL);
	}
	if ((__atomic_load_n(&sh->sh_fold_seq, __ATOMIC_ACQUIRE) & 1) != 0)
		sn->sn_torn = 1;
	memset(&sn->sn_total, 0, sizeof(sn->sn_total));
	shm_counters_add(&sn->sn_total, &sh->sh_retired);
	for (i = 0; i < shm_nslots(); i++) {
		slot = shm_slot_at(sh, i);
		state = __atomic_load_n(&slot->ss_state, __ATOMIC_ACQUIRE);
		if (state == SHM_SLOT_STARTING || state == SHM_SLOT_SERVING ||
		    state == SHM_SLOT_DRAINING)
			shm_counters_add(&sn->sn_total, &slot->ss_c);
	}
}

/*
 * Sum over the rings the access records the loggers took: the lines they
 * wrote and the records they could not write.
 */
static void
statsdump_log_taken(struct shm_header *sh, struct statsdump_snap *sn)
{
	struct shm_ring *rg;
	uint32_t i;

	sn->sn_log_written = sn->sn_log_discarded = 0;
	for (i = 0; i < shm_nslots(); i++) {
		rg = shm_ring_at(sh, i);
		sn->sn_log_written +=
		    __atomic_load_n(&rg->rg_written, __ATOMIC_ACQUIRE);
		sn->sn_log_discarded +=
		    __atomic_load_n(&rg->rg_discarded, __ATOMIC_ACQUIRE);
	}
}

/*
 * Return the logger's backlog: records queued and not yet taken (written
 * or discarded). What the logger took is read before the records queued,
 * so a record taken meanwhile is seen queued; a worker counts a record a
 * moment after it publishes it, so the logger may take it first: never
 * below 0.
 */
static uint64_t
statsdump_log_pending(const struct statsdump_snap *sn)
{
	uint64_t queued = sn->sn_total.sc_log_queued;
	uint64_t taken = sn->sn_log_written + sn->sn_log_discarded;

	return queued > taken ? queued - taken : 0;
}

/* Read into sn the clocks, the header fields and whether the master runs. */
static void
statsdump_read_header(struct shm_header *sh, struct statsdump_snap *sn)
{
	clock_gettime(CLOCK_MONOTONIC, &sn->sn_mono);
	sn->sn_now = time(NULL);
	sn->sn_master_pid = sh->sh_master_pid;
	sn->sn_start_time = sh->sh_start_time;
	sn->sn_generation =
	    __atomic_load_n(&sh->sh_generation, __ATOMIC_RELAXED);
	sn->sn_reloads_failed =
	    __atomic_load_n(&sh->sh_reloads_failed, __ATOMIC_RELAXED);
	sn->sn_nslots = shm_nslots();
	sn->sn_logger_pid =
	    __atomic_load_n(&sh->sh_logger_pid, __ATOMIC_RELAXED);
	sn->sn_logger_wrote =
	    __atomic_load_n(&sh->sh_logger_wrote, __ATOMIC_RELAXED);
	sn->sn_stale = statsdump_master_alive(sh);
}

/* Read the TLS handshake counters of the worker in slot into sw. */
static void
statsdump_read_worker_tls(
    const struct shm_slot *slot, struct statsdump_worker *sw)
{
	uint64_t failed[SHM_TLS_FAIL_CLASSES];
	uint32_t i;

	sw->sw_tls_full =
	    __atomic_load_n(&slot->ss_c.sc_tls_full, __ATOMIC_RELAXED);
	sw->sw_tls_resumed =
	    __atomic_load_n(&slot->ss_c.sc_tls_resumed, __ATOMIC_RELAXED);
	for (i = 0; i < SHM_TLS_FAIL_CLASSES; i++)
		failed[i] = __atomic_load_n(
		    &slot->ss_c.sc_tls_failed[i], __ATOMIC_RELAXED);
	sw->sw_tls_failed = statsdump_tls_failed(failed);
	sw->sw_tls_done = sw->sw_tls_full + sw->sw_tls_resumed;
}

/* Read the identity and counters of the worker in slot i into sw. */
static void
statsdump_read_worker(const struct shm_slot *slot, uint32_t i, uint64_t state,
    struct statsdump_worker *sw)
{
	sw->sw_slot = i;
	sw->sw_state = state;
	sw->sw_id = __atomic_load_n(&slot->ss_worker_id, __ATOMIC_RELAXED);
	sw->sw_pid = __atomic_load_n(&slot->ss_pid, __ATOMIC_RELAXED);
	sw->sw_generation =
	    __atomic_load_n(&slot->ss_generation, __ATOMIC_RELAXED);
	sw->sw_started = __atomic_load_n(&slot->ss_started, __ATOMIC_RELAXED);
	sw->sw_conn_accepted =
	    __atomic_load_n(&slot->ss_c.sc_conn_accepted, __ATOMIC_RELAXED);
	sw->sw_conn_active =
	    __atomic_load_n(&slot->ss_c.sc_conn_active, __ATOMIC_RELAXED);
	sw->sw_requests =
	    __atomic_load_n(&slot->ss_c.sc_requests, __ATOMIC_RELAXED);
	sw->sw_bytes_in =
	    __atomic_load_n(&slot->ss_c.sc_bytes_in, __ATOMIC_RELAXED);
	sw->sw_bytes_out =
	    __atomic_load_n(&slot->ss_c.sc_bytes_out, __ATOMIC_RELAXED);
	sw->sw_chat_members =
	    __atomic_load_n(&slot->ss_c.sc_chat_members_ws, __ATOMIC_RELAXED) +
	    __atomic_load_n(
		&slot->ss_c.sc_chat_members_telnet, __ATOMIC_RELAXED);
	sw->sw_chat_read =
	    __atomic_load_n(&slot->ss_c.sc_chat_read, __ATOMIC_RELAXED);
	statsdump_read_worker_tls(slot, sw);
}

/* Read every slot that is not free into sn's worker array. */
static void
statsdump_read_workers(struct shm_header *sh, struct statsdump_snap *sn)
{
	struct shm_slot *slot;
	uint64_t state;
	uint32_t i;

	for (i = 0; i < shm_nslots(); i++) {
		slot = shm_slot_at(sh, i);
		state = __atomic_load_n(&slot->ss_state, __ATOMIC_ACQUIRE);
		if (state == SHM_SLOT_FREE)
			continue;
		statsdump_read_worker(
		    slot, i, state, &sn->sn_workers[sn->sn_nworkers++]);
	}
}

/*
 * Read the chat hub's state and counters into sn. After the workers: the
 * broadcast head is then rarely behind what a worker said it read.
 */
static void
statsdump_read_chat(struct shm_header *sh, struct statsdump_snap *sn)
{
	const struct shm_chat *ch = shm_chat(sh);
	struct statsdump_chat *ct = &sn->sn_chat;

	ct->ct_hub_pid = __atomic_load_n(&ch->ch_hub_pid, __ATOMIC_RELAXED);
	ct->ct_hub_starts =
	    __atomic_load_n(&ch->ch_hub_starts, __ATOMIC_RELAXED);
	ct->ct_rooms = __atomic_load_n(&ch->ch_rooms_live, __ATOMIC_RELAXED);
	ct->ct_members = __atomic_load_n(&ch->ch_members, __ATOMIC_RELAXED);
	ct->ct_events = __atomic_load_n(&ch->ch_events, __ATOMIC_RELAXED);
	ct->ct_requests = __atomic_load_n(&ch->ch_requests, __ATOMIC_RELAXED);
	ct->ct_refused = __atomic_load_n(&ch->ch_refused, __ATOMIC_RELAXED);
	ct->ct_last_event =
	    __atomic_load_n(&ch->ch_last_event, __ATOMIC_RELAXED);
	ct->ct_next_event = __atomic_load_n(
	    &shm_chat_bcast(sh)->br_next_event, __ATOMIC_ACQUIRE);
}

/* Make a room name safe to print: each byte not of [A-Za-z0-9_-] is '?'. */
static void
statsdump_room_name(char *name)
{
	for (; *name != '\0'; name++)
		if (!((*name >= 'a' && *name <= 'z') ||
			(*name >= 'A' && *name <= 'Z') ||
			(*name >= '0' && *name <= '9') || *name == '_' ||
			*name == '-'))
			*name = '?';
}

/*
 * Copy room entry rm into ro; 1 if it is a room with members. The hub
 * rewrites an entry into another room only while it has no members: it
 * clears rm_used first and bumps rm_epoch before setting rm_used again.
 * A copy taken across such a rewrite finds rm_used clear or another epoch
 * at the second look, and is dropped.
 */
static int
statsdump_read_room(const struct shm_chat_room *rm, struct statsdump_room *ro)
{
	uint32_t epoch;
	size_t i;

	epoch = __atomic_load_n(&rm->rm_epoch, __ATOMIC_ACQUIRE);
	if (!__atomic_load_n(&rm->rm_used, __ATOMIC_ACQUIRE))
		return 0;
	ro->ro_members = __atomic_load_n(&rm->rm_members, __ATOMIC_RELAXED);
	ro->ro_seq = __atomic_load_n(&rm->rm_seq, __ATOMIC_ACQUIRE);
	for (i = 0; i < CHAT_NAME_MAX; i++)
		ro->ro_name[i] =
		    __atomic_load_n(&rm->rm_name[i], __ATOMIC_RELAXED);
	ro->ro_name[CHAT_NAME_MAX] = '\0';
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (ro->ro_members == 0 ||
	    !__atomic_load_n(&rm->rm_used, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&rm->rm_epoch, __ATOMIC_RELAXED) != epoch)
		return 0;
	statsdump_room_name(ro->ro_name);
	return 1;
}

/* Order rooms by name. */
static int
statsdump_room_cmp(const void *a, const void *b)
{
	const struct statsdump_room *ra = a, *rb = b;

	return strcmp(ra->ro_name, rb->ro_name);
}

/* Read the rooms with members into sn's room array, ordered by name. */
static int
statsdump_read_rooms(struct shm_header *sh, struct statsdump_snap *sn)
{
	uint64_t i, n = shm_chat_geometry()->cg_max_rooms;

	/* shm_attach() checked that 1 <= n <= 65536. */
	if ((sn->sn_rooms = calloc(n, sizeof(*sn->sn_rooms))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (statsdump_read_room(shm_chat_room(sh, (uint32_t)i),
			&sn->sn_rooms[sn->sn_nrooms]))
			sn->sn_nrooms++;
	qsort(sn->sn_rooms, sn->sn_nrooms, sizeof(*sn->sn_rooms),
	    statsdump_room_cmp);
	return 0;
}

/* Free what sn holds. */
static void
statsdump_snap_free(struct statsdump_snap *sn)
{
	free(sn->sn_workers);
	free(sn->sn_rooms);
	sn->sn_workers = NULL;
	sn->sn_rooms = NULL;
}

/*
 * Attach the segment at path, read a snapshot into sn (its worker array
 * allocated, and its room array if rooms is set; what it held before
 * freed), detach. The segment is attached afresh each time, so a restarted
 * server's new segment is followed.
 */
static int
statsdump_read(const char *path, int rooms, struct statsdump_snap *sn,
    char *err, size_t errlen)
{
	struct shm_header *sh;

	if ((sh = shm_attach(path, err, errlen)) == NULL)
		return -1;
	/* shm_attach() checked that the whole layout lies in the map. */
	statsdump_snap_free(sn);
	memset(sn, 0, sizeof(*sn));
	sn->sn_workers = calloc(shm_nslots() + 1, sizeof(*sn->sn_workers));
	if (sn->sn_workers == NULL ||
	    (rooms && statsdump_read_rooms(sh, sn) == -1)) {
		snprintf(err, errlen, "%s", strerror(errno));
		shm_detach(sh);
		return -1;
	}
	statsdump_read_header(sh, sn);
	/* Written first: the totals read after it count every line in it. */
	statsdump_log_taken(sh, sn);
	statsdump_totals(sh, sn);
	statsdump_read_workers(sh, sn);
	statsdump_read_chat(sh, sn);
	shm_detach(sh);
	return 0;
}

/*
 * Tell whether rates can be computed from prev to cur: both reads come
 * from the same segment (the server did not restart) and no counter
 * that has a rate went backwards.
 */
static int
statsdump_rate_valid(
    const struct statsdump_snap *prev, const struct statsdump_snap *cur)
{
	const struct shm_counters *a = &prev->sn_total, *b = &cur->sn_total;

	return prev->sn_master_pid == cur->sn_master_pid &&
	    prev->sn_start_time == cur->sn_start_time &&
	    b->sc_requests >= a->sc_requests &&
	    b->sc_bytes_in >= a->sc_bytes_in &&
	    b->sc_bytes_out >= a->sc_bytes_out &&
	    b->sc_chat_deliveries >= a->sc_chat_deliveries &&
	    cur->sn_chat.ct_events >= prev->sn_chat.ct_events;
}

/* Compute the rates from prev to cur, if they are known. */
static void
statsdump_rate(const struct statsdump_snap *prev,
    const struct statsdump_snap *cur, struct statsdump_rate *rt)
{
	const struct shm_counters *a = &prev->sn_total, *b = &cur->sn_total;
	double dt;

	memset(rt, 0, sizeof(*rt));
	dt = (double)(cur->sn_mono.tv_sec - prev->sn_mono.tv_sec) +
	    (double)(cur->sn_mono.tv_nsec - prev->sn_mono.tv_nsec) / 1e9;
	if (dt <= 0 || !statsdump_rate_valid(prev, cur))
		return;
	rt->rt_known = 1;
	rt->rt_requests = (double)(b->sc_requests - a->sc_requests) / dt;
	rt->rt_bytes_in = (double)(b->sc_bytes_in - a->sc_bytes_in) / dt;
	rt->rt_bytes_out = (double)(b->sc_bytes_out - a->sc_bytes_out) / dt;
	rt->rt_chat_events =
	    (double)(cur->sn_chat.ct_events - prev->sn_chat.ct_events) / dt;
	rt->rt_chat_deliveries =
	    (double)(b->sc_chat_deliveries - a->sc_chat_deliveries) / dt;
}

/* Return the hub restarts: the hubs started after the first. */
static uint64_t
statsdump_chat_restarts(const struct statsdump_chat *ct)
{
	return ct->ct_hub_starts > 0 ? ct->ct_hub_starts - 1 : 0;
}

/*
 * Set *lag to the broadcast events that the worker sw has still to read:
 * from the last it read to the head (a worker starts at the head). Return
 * -1 if that is unknown: the worker is starting or has exited.
 */
static int
statsdump_chat_lag(const struct statsdump_snap *sn,
    const struct statsdump_worker *sw, uint64_t *lag)
{
	uint64_t next = sn->sn_chat.ct_next_event;
	uint64_t head = next > 0 ? next - 1 : 0; /* the last published */

	if (sw->sw_state == SHM_SLOT_EXITED ||
	    sw->sw_state == SHM_SLOT_STARTING)
		return -1;
	/* Read before the head, the worker may be a little ahead of it. */
	*lag = head > sw->sw_chat_read ? head - sw->sw_chat_read : 0;
	return 0;
}

/* Return the failed TLS handshakes of every class in failed[]. */
static uint64_t
statsdump_tls_failed(const uint64_t *failed)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < SHM_TLS_FAIL_CLASSES; i++)
		n += failed[i];
	return n;
}

/*
 * Set *ratio to the share of the TLS handshakes done in t that resumed a
 * session: resumed / (full + resumed). Return -1 if none was done.
 */
static int
statsdump_tls_resumed_ratio(const struct shm_counters *t, double *ratio)
{
	uint64_t done = t->sc_tls_full + t->sc_tls_resumed;

	if (done == 0)
		return -1;
	*ratio = (double)t->sc_tls_resumed / (double)done;
	return 0;
}

/* Return the number of durations in the latency histogram b. */
static uint64_t
statsdump_hist_count(const uint64_t *b)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < SHM_LATENCY_BUCKETS; i++)
		n += b[i];
	return n;
}

/*
 * Estimate a percentile (in thousandths) of the histogram b: the upper
 * bound, 2^(i+1) microseconds, of the bucket i holding the duration of
 * that rank. Return -1 if the histogram is empty.
 */
static int
statsdump_percentile(const uint64_t *b, unsigned permille, uint64_t *usec)
{
	uint64_t n, rank, seen = 0;
	int i;

	if ((n = statsdump_hist_count(b)) == 0)
		return -1;
	/* rank = ceil(n * permille / 1000), without overflow. */
	rank = n / 1000 * permille + (n % 1000 * permille + 999) / 1000;
	if (rank == 0)
		rank = 1;
	for (i = 0; i < SHM_LATENCY_BUCKETS - 1; i++) {
		seen += b[i];
		if (seen >= rank)
			break;
	}
	*usec = (uint64_t)1 << (i + 1);
	return 0;
}

/*
 * Approximate the sum of the durations in b, in seconds: each duration
 * counts as the middle of its bucket (1 us for bucket 0, 1.5 * 2^i us for
 * bucket i), since the histogram keeps no exact sum.
 */
static double
statsdump_hist_sum(const uint64_t *b)
{
	double sum = (double)b[0];
	int i;

	for (i = 1; i < SHM_LATENCY_BUCKETS; i++)
		sum += (double)b[i] * 1.5 * (double)((uint64_t)1 << i);
	return sum / 1e6;
}

/* Return the name of a slot state. */
static const char *
statsdump_state_name(uint64_t state)
{
	switch (state) {
	case SHM_SLOT_FREE:
		return "free";
	case SHM_SLOT_STARTING:
		return "starting";
	case SHM_SLOT_SERVING:
		return "serving";
	case SHM_SLOT_DRAINING:
		return "draining";
	case SHM_SLOT_EXITED:
		return "exited";
	default:
		return "unknown";
	}
}

/* Return the text that says a segment is stale, and why. */
static const char *
statsdump_stale_text(enum statsdump_stale stale)
{
	if (stale == STATSDUMP_REUSED)
		return "STALE: master PID is gone, these numbers are the "
		       "last it wrote (another program has that pid now)";
	return "STALE: master PID is gone, these numbers are the last it "
	       "wrote";
}

/* Return the seconds from the master's start to the read (0 if skewed). */
static uint64_t
statsdump_uptime(const struct statsdump_snap *sn)
{
	if (sn->sn_now < 0 || (uint64_t)sn->sn_now < sn->sn_start_time)
		return 0;
	return (uint64_t)sn->sn_now - sn->sn_start_time;
}

/* Format a duration in microseconds with a unit that suits it. */
static void
statsdump_fmt_usec(uint64_t usec, char *buf, size_t len)
{
	if (usec < 1000)
		snprintf(buf, len, "%" PRIu64 " us", usec);
	else if (usec < 1000000)
		snprintf(buf, len, "%.3f ms", (double)usec / 1e3);
	else
		snprintf(buf, len, "%.3f s", (double)usec / 1e6);
}

/* Format an uptime as "[Nd ]HH:MM:SS". */
static void
statsdump_fmt_uptime(uint64_t secs, char *buf, size_t len)
{
	unsigned h = (unsigned)(secs % 86400 / 3600);
	unsigned m = (unsigned)(secs % 3600 / 60), s = (unsigned)(secs % 60);

	if (secs >= 86400)
		snprintf(buf, len, "%" PRIu64 "d %02u:%02u:%02u", secs / 86400,
		    h, m, s);
	else
		snprintf(buf, len, "%02u:%02u:%02u", h, m, s);
}

/* Format a unix time as local "YYYY-MM-DD HH:MM:SS". */
static void
statsdump_fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)t);
}

/*
 * Format unix milliseconds as RFC 3339 in UTC, "2026-12-05T21:07:04.123Z",
 * NUL-terminated, in buf of at least HTTPDATE_RFC3339_LEN(3) + 1 bytes.
 * Return -1 if the time is not in the years 0000-9999.
 */
static int
statsdump_fmt_rfc3339(uint64_t ms, char *buf)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year > 9999 - 1900)
		return -1;
	buf[httpdate_rfc3339(&tm, (unsigned long)(ms % 1000), 3, buf)] = '\0';
	return 0;
}

/* Format microseconds as exact decimal seconds ("0.000512", "2.097152"). */
static void
statsdump_fmt_le(uint64_t usec, char *buf, size_t len)
{
	size_t n;

	snprintf(
	    buf, len, "%" PRIu64 ".%06" PRIu64, usec / 1000000, usec % 1000000);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
}

/* Print the text report's line on the logger: its pid, its last write. */
static void
statsdump_text_logger(FILE *fp, const struct statsdump_snap *sn)
{
	uint64_t ago = 0;

	if (sn->sn_logger_pid != 0)
		fprintf(fp, "logger       pid %" PRIu64, sn->sn_logger_pid);
	else
		fprintf(fp, "logger       not running");
	if (sn->sn_logger_wrote == 0) {
		fprintf(fp, ", last wrote never\n");
		return;
	}
	if (sn->sn_now > 0 && (uint64_t)sn->sn_now > sn->sn_logger_wrote)
		ago = (uint64_t)sn->sn_now - sn->sn_logger_wrote;
	fprintf(fp, ", last wrote %" PRIu64 " s ago\n", ago);
}

/* Print the text report's first line (the master) and the fold warning. */
static void
statsdump_text_header(
    FILE *fp, const char *path, const struct statsdump_snap *sn)
{
	char when[64], up[64];

	statsdump_fmt_time(sn->sn_now, when, sizeof(when));
	fprintf(fp, "pfhttpd %s at %s: master %" PRIu64 ", ", path, when,
	    sn->sn_master_pid);
	if (sn->sn_stale == STATSDUMP_LIVE) {
		statsdump_fmt_uptime(statsdump_uptime(sn), up, sizeof(up));
		fprintf(fp, "running, up %s", up);
	} else {
		statsdump_fmt_time((time_t)sn->sn_start_time, up, sizeof(up));
		fprintf(fp, "%s; started %s",
		    statsdump_stale_text(sn->sn_stale), up);
	}
	fprintf(fp, ", generation %" PRIu64, sn->sn_generation);
	if (sn->sn_reloads_failed > 0)
		fprintf(fp, " (%" PRIu64 " failed reload%s)",
		    sn->sn_reloads_failed,
		    sn->sn_reloads_failed == 1 ? "" : "s");
	fputc('\n', fp);
	if (sn->sn_torn)
		fprintf(fp,
		    "warning: read while the master folded an exited "
		    "worker: one worker may be counted twice or not "
		    "at all\n");
}

/* Print the text report's connection, request and byte totals and rates. */
static void
statsdump_text_totals(
    FILE *fp, const struct shm_counters *t, const struct statsdump_rate *rt)
{
	fprintf(fp, "connections  accepted %" PRIu64 "  active %" PRIu64 "\n",
	    t->sc_conn_accepted, t->sc_conn_active);
	fprintf(fp, "requests     %" PRIu64, t->sc_requests);
	if (rt->rt_known)
		fprintf(fp, "  (%.1f/s)", rt->rt_requests);
	fprintf(fp, "\nbytes        in %" PRIu64 "  out %" PRIu64,
	    t->sc_bytes_in, t->sc_bytes_out);
	if (rt->rt_known)
		fprintf(fp, "  (in %.0f/s  out %.0f/s)", rt->rt_bytes_in,
		    rt->rt_bytes_out);
	fputc('\n', fp);
}

/* Print the text report's line on the access log records. */
static void
statsdump_text_log(FILE *fp, const struct statsdump_snap *sn)
{
	fprintf(fp,
	    "log records  queued %" PRIu64 "  written %" PRIu64
	    "  dropped %" PRIu64 "  discarded %" PRIu64 "  pending %" PRIu64
	    "\n",
	    sn->sn_total.sc_log_queued, sn->sn_log_written,
	    sn->sn_total.sc_log_dropped, sn->sn_log_discarded,
	    statsdump_log_pending(sn));
}

/*
 * Print the text report's TLS lines: handshakes done in full or resumed
 * (with the share resumed, once there is one), then failed, by class.
 */
static void
statsdump_text_tls(FILE *fp, const struct shm_counters *t)
{
	double ratio;
	uint32_t i;

	fprintf(fp,
	    "tls          handshakes full %" PRIu64 "  resumed %" PRIu64,
	    t->sc_tls_full, t->sc_tls_resumed);
	if (statsdump_tls_resumed_ratio(t, &ratio) == 0)
		fprintf(fp, " (%.1f%%)", ratio * 100);
	fprintf(fp, "  failed %" PRIu64 "\ntls failed  ",
	    statsdump_tls_failed(t->sc_tls_failed));
	for (i = 0; i < SHM_TLS_FAIL_CLASSES; i++)
		fprintf(fp, "%s%s %" PRIu64, i == 0 ? " " : "  ",
		    statsdump_tls_fail_class[i], t->sc_tls_failed[i]);
	fprintf(fp,
	    "\ntls after    errors %" PRIu64 "  renegotiations refused %" PRIu64
	    "\n",
	    t->sc_tls_errors, t->sc_tls_renegotiations);
}

/* Print the text report's WebSocket line. */
static void
statsdump_text_websocket(FILE *fp, const struct shm_counters *t)
{
	fprintf(fp,
	    "websocket    upgrades %" PRIu64 "  open %" PRIu64
	    "  messages in %" PRIu64 "  out %" PRIu64 "\n",
	    t->sc_ws_upgrades, t->sc_ws_open, t->sc_ws_messages_in,
	    t->sc_ws_messages_out);
}

/* Print the text report's line on the chat hub: pid, restarts, last event. */
static void
statsdump_text_chat_hub(FILE *fp, const struct statsdump_snap *sn)
{
	const struct statsdump_chat *ct = &sn->sn_chat;
	uint64_t ago = 0, last = ct->ct_last_event / 1000;

	if (ct->ct_hub_pid != 0)
		fprintf(fp, "chat hub     pid %" PRIu64, ct->ct_hub_pid);
	else
		fprintf(fp, "chat hub     not running");
	fprintf(fp, ", restarts %" PRIu64 ", last event ",
	    statsdump_chat_restarts(ct));
	if (ct->ct_last_event == 0) {
		fprintf(fp, "never\n");
		return;
	}
	if (sn->sn_now > 0 && (uint64_t)sn->sn_now > last)
		ago = (uint64_t)sn->sn_now - last;
	fprintf(fp, "%" PRIu64 " s ago\n", ago);
}

/* Print the text report's line on the chat events, with their rates. */
static void
statsdump_text_chat_events(
    FILE *fp, const struct statsdump_snap *sn, const struct statsdump_rate *rt)
{
	fprintf(fp, "chat events  sequenced %" PRIu64, sn->sn_chat.ct_events);
	if (rt->rt_known)
		fprintf(fp, " (%.1f/s)", rt->rt_chat_events);
	fprintf(fp, "  deliveries %" PRIu64, sn->sn_total.sc_chat_deliveries);
	if (rt->rt_known)
		fprintf(fp, " (%.1f/s)", rt->rt_chat_deliveries);
	fputc('\n', fp);
}

/* Print the text report's chat lines. */
static void
statsdump_text_chat(
    FILE *fp, const struct statsdump_snap *sn, const struct statsdump_rate *rt)
{
	const struct statsdump_chat *ct = &sn->sn_chat;
	const struct shm_counters *t = &sn->sn_total;

	statsdump_text_chat_hub(fp, sn);
	fprintf(fp,
	    "chat         rooms %" PRIu64 "  members %" PRIu64
	    " (websocket %" PRIu64 "  telnet %" PRIu64 ")\n",
	    ct->ct_rooms, ct->ct_members, t->sc_chat_members_ws,
	    t->sc_chat_members_telnet);
	statsdump_text_chat_events(fp, sn, rt);
	fprintf(fp,
	    "chat in      requests %" PRIu64 "  hub took %" PRIu64
	    "  hub refused %" PRIu64 "  unavailable %" PRIu64 "\n",
	    t->sc_chat_in, ct->ct_requests, ct->ct_refused,
	    t->sc_chat_unavailable);
	fprintf(fp,
	    "chat drops   rate-limited %" PRIu64 "  oversize %" PRIu64
	    "  refused %" PRIu64 "  slow closed %" PRIu64 "\n",
	    t->sc_chat_rate_limited, t->sc_chat_oversize, t->sc_chat_refused,
	    t->sc_chat_slow_closed);
	fprintf(fp,
	    "chat lapped  gaps %" PRIu64 "  events missed %" PRIu64 "\n",
	    t->sc_chat_gaps, t->sc_chat_missed);
}

/* Print the text report's responses by status code, a few per line. */
static void
statsdump_text_responses(FILE *fp, const struct shm_counters *t)
{
	int code, n;

	fprintf(fp, "responses   ");
	for (code = 0, n = 0; code < SHM_STATUS_MAX; code++) {
		if (t->sc_responses[code] == 0)
			continue;
		if (n > 0 && n % STATSDUMP_RESP_LINE == 0)
			fprintf(fp, "\n            ");
		fprintf(fp, "%s%d: %" PRIu64,
		    n % STATSDUMP_RESP_LINE == 0 ? " " : "  ", code,
		    t->sc_responses[code]);
		n++;
	}
	fprintf(fp, "%s\n", n == 0 ? " none" : "");
}

/* Print the text report's latency percentiles. */
static void
statsdump_text_latency(FILE *fp, const struct shm_counters *t)
{
	static const unsigned pct[3] = {500, 900, 990};
	char lat[32];
	uint64_t usec;
	uint32_t i;

	fprintf(fp, "latency     ");
	if (statsdump_hist_count(t->sc_latency) == 0)
		fprintf(fp, " no requests timed");
	for (i = 0; i < 3; i++) {
		if (statsdump_percentile(t->sc_latency, pct[i], &usec) == -1)
			break;
		statsdump_fmt_usec(usec, lat, sizeof(lat));
		fprintf(
		    fp, "%sp%u <= %s", i == 0 ? " " : "  ", pct[i] / 10, lat);
	}
	fputc('\n', fp);
}

/* Print the text report's worker table, one row per slot in use. */
static void
statsdump_text_workers(FILE *fp, const struct statsdump_snap *sn)
{
	const struct statsdump_worker *sw;
	uint64_t lag;
	uint32_t i;

	if (sn->sn_nworkers == 0) {
		fprintf(fp, "no workers\n");
		return;
	}
	fprintf(fp, "%4s %6s %8s %4s %-8s %6s %10s %14s %8s\n", "slot",
	    "worker", "pid", "gen", "state", "active", "requests", "bytes out",
	    "chat lag");
	for (i = 0; i < sn->sn_nworkers; i++) {
		sw = &sn->sn_workers[i];
		fprintf(fp,
		    "%4" PRIu32 " %6" PRIu64 " %8" PRIu64 " %4" PRIu64
		    " %-8s %6" PRIu64 " %10" PRIu64 " %14" PRIu64,
		    sw->sw_slot, sw->sw_id, sw->sw_pid, sw->sw_generation,
		    statsdump_state_name(sw->sw_state), sw->sw_conn_active,
		    sw->sw_requests, sw->sw_bytes_out);
		if (statsdump_chat_lag(sn, sw, &lag) == 0)
			fprintf(fp, " %8" PRIu64 "\n", lag);
		else
			fprintf(fp, " %8s\n", "-");
	}
}

/* Print the text report's chat rooms with members (--rooms), by name. */
static void
statsdump_text_rooms(FILE *fp, const struct statsdump_snap *sn)
{
	const struct statsdump_room *ro;
	uint32_t i;

	if (sn->sn_nrooms == 0) {
		fprintf(fp, "no chat rooms with members\n");
		return;
	}
	fprintf(fp, "%-32s %8s %12s\n", "room", "members", "last seq");
	for (i = 0; i < sn->sn_nrooms; i++) {
		ro = &sn->sn_rooms[i];
		fprintf(fp, "%-32s %8" PRIu64 " %12" PRIu64 "\n", ro->ro_name,
		    ro->ro_members, ro->ro_seq);
	}
}

/* Print the human-readable report. */
static void
statsdump_text(FILE *fp, const char *path, const struct statsdump_snap *sn,
    const struct statsdump_rate *rt)
{
	statsdump_text_header(fp, path, sn);
	statsdump_text_totals(fp, &sn->sn_total, rt);
	statsdump_text_log(fp, sn);
	statsdump_text_logger(fp, sn);
	statsdump_text_tls(fp, &sn->sn_total);
	statsdump_text_websocket(fp, &sn->sn_total);
	statsdump_text_chat(fp, sn, rt);
	statsdump_text_responses(fp, &sn->sn_total);
	statsdump_text_latency(fp, &sn->sn_total);
	fputc('\n', fp);
	statsdump_text_workers(fp, sn);
	if (sn->sn_rooms != NULL) {
		fputc('\n', fp);
		statsdump_text_rooms(fp, sn);
	}
}

/* Print s as a JSON string (bytes above 0x7f pass through as they are). */
static void
statsdump_json_string(FILE *fp, const char *s)
{
	const unsigned char *p;

	fputc('"', fp);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(fp, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(fp, "\\u%04x", *p);
		else
			fputc(*p, fp);
	}
	fputc('"', fp);
}

/* Print "name": the percentile in microseconds, or null if unknown. */
static void
statsdump_json_percentile(
    FILE *fp, const char *name, const uint64_t *b, unsigned permille)
{
	uint64_t usec;

	if (statsdump_percentile(b, permille, &usec) == -1)
		fprintf(fp, "\"%s\":null", name);
	else
		fprintf(fp, "\"%s\":%" PRIu64, name, usec);
}

/* Print the JSON report's opening and its fields on the master. */
static void
statsdump_json_header(
    FILE *fp, const char *path, const struct statsdump_snap *sn)
{
	fprintf(fp, "{\"shm_path\":");
	statsdump_json_string(fp, path);
	fprintf(fp,
	    ",\"time\":%lld,\"master_pid\":%" PRIu64 ",\"stale\":%s,"
	    "\"start_time\":%" PRIu64 ",\"uptime_seconds\":%" PRIu64
	    ",\"generation\":%" PRIu64 ",\"reloads_failed\":%" PRIu64
	    ",\"totals_torn\":%s",
	    (long long)sn->sn_now, sn->sn_master_pid,
	    sn->sn_stale != STATSDUMP_LIVE ? "true" : "false",
	    sn->sn_start_time, statsdump_uptime(sn), sn->sn_generation,
	    sn->sn_reloads_failed, sn->sn_torn ? "true" : "false");
}

/* Print the JSON report's connection, request and byte totals and rates. */
static void
statsdump_json_totals(
    FILE *fp, const struct shm_counters *t, const struct statsdump_rate *rt)
{
	fprintf(fp,
	    ",\"connections_accepted\":%" PRIu64
	    ",\"connections_active\":%" PRIu64 ",\"requests\":%" PRIu64
	    ",\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64,
	    t->sc_conn_accepted, t->sc_conn_active, t->sc_requests,
	    t->sc_bytes_in, t->sc_bytes_out);
	if (rt->rt_known)
		fprintf(fp,
		    ",\"requests_per_second\":%.3f"
		    ",\"bytes_in_per_second\":%.3f"
		    ",\"bytes_out_per_second\":%.3f",
		    rt->rt_requests, rt->rt_bytes_in, rt->rt_bytes_out);
	else
		fprintf(fp,
		    ",\"requests_per_second\":null"
		    ",\"bytes_in_per_second\":null"
		    ",\"bytes_out_per_second\":null");
}

/* Print the JSON report's responses object: the codes that occurred. */
static void
statsdump_json_responses(FILE *fp, const struct shm_counters *t)
{
	const char *sep;
	int code;

	fprintf(fp, ",\"responses\":{");
	for (code = 0, sep = ""; code < SHM_STATUS_MAX; code++) {
		if (t->sc_responses[code] == 0)
			continue;
		fprintf(
		    fp, "%s\"%d\":%" PRIu64, sep, code, t->sc_responses[code]);
		sep = ",";
	}
	fputc('}', fp);
}

/* Print the JSON report's log object: access log records and the logger. */
static void
statsdump_json_log(FILE *fp, const struct statsdump_snap *sn)
{
	fprintf(fp,
	    ",\"log\":{\"queued\":%" PRIu64 ",\"written\":%" PRIu64
	    ",\"dropped\":%" PRIu64 ",\"discarded\":%" PRIu64
	    ",\"pending\":%" PRIu64 ",\"logger_pid\":%" PRIu64
	    ",\"last_write\":",
	    sn->sn_total.sc_log_queued, sn->sn_log_written,
	    sn->sn_total.sc_log_dropped, sn->sn_log_discarded,
	    statsdump_log_pending(sn), sn->sn_logger_pid);
	if (sn->sn_logger_wrote == 0)
		fprintf(fp, "null}");
	else
		fprintf(fp, "%" PRIu64 "}", sn->sn_logger_wrote);
}

/* Print the JSON report's tls object: handshakes, failures by class. */
static void
statsdump_json_tls(FILE *fp, const struct shm_counters *t)
{
	double ratio;
	uint32_t i;

	fprintf(fp, ",\"tls\":{\"full\":%" PRIu64 ",\"resumed\":%" PRIu64,
	    t->sc_tls_full, t->sc_tls_resumed);
	if (statsdump_tls_resumed_ratio(t, &ratio) == 0)
		fprintf(fp, ",\"resumed_ratio\":%.3f", ratio);
	else
		fprintf(fp, ",\"resumed_ratio\":null");
	fprintf(fp, ",\"failed\":{");
	for (i = 0; i < SHM_TLS_FAIL_CLASSES; i++)
		fprintf(fp, "%s\"%s\":%" PRIu64, i == 0 ? "" : ",",
		    statsdump_tls_fail_class[i], t->sc_tls_failed[i]);
	fprintf(fp,
	    "},\"errors\":%" PRIu64 ",\"renegotiations_refused\":%" PRIu64 "}",
	    t->sc_tls_errors, t->sc_tls_renegotiations);
}

/* Print the JSON report's websocket object, closes by class included. */
static void
statsdump_json_websocket(FILE *fp, const struct shm_counters *t)
{
	uint32_t i;

	fprintf(fp,
	    ",\"websocket\":{\"upgrades\":%" PRIu64 ",\"open\":%" PRIu64
	    ",\"messages_in\":%" PRIu64 ",\"messages_out\":%" PRIu64
	    ",\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64 ",\"closes\":{",
	    t->sc_ws_upgrades, t->sc_ws_open, t->sc_ws_messages_in,
	    t->sc_ws_messages_out, t->sc_ws_bytes_in, t->sc_ws_bytes_out);
	for (i = 0; i < SHM_WS_CLOSE_CLASSES; i++)
		fprintf(fp, "%s\"%s\":%" PRIu64, i == 0 ? "" : ",",
		    statsdump_close_class[i], t->sc_ws_closes[i]);
	fprintf(fp, "}}");
}

/* Print the JSON chat object's counters. */
static void
statsdump_json_chat_counts(FILE *fp, const struct statsdump_snap *sn)
{
	const struct statsdump_chat *ct = &sn->sn_chat;
	const struct shm_counters *t = &sn->sn_total;

	fprintf(fp,
	    "\"rooms\":%" PRIu64 ",\"members\":%" PRIu64
	    ",\"members_websocket\":%" PRIu64 ",\"members_telnet\":%" PRIu64
	    ",\"events\":%" PRIu64 ",\"requests\":%" PRIu64
	    ",\"hub_requests\":%" PRIu64 ",\"deliveries\":%" PRIu64
	    ",\"rate_limited\":%" PRIu64 ",\"oversize\":%" PRIu64
	    ",\"refused\":%" PRIu64 ",\"hub_refused\":%" PRIu64
	    ",\"slow_closed\":%" PRIu64 ",\"gaps\":%" PRIu64
	    ",\"missed\":%" PRIu64 ",\"unavailable\":%" PRIu64,
	    ct->ct_rooms, ct->ct_members, t->sc_chat_members_ws,
	    t->sc_chat_members_telnet, ct->ct_events, t->sc_chat_in,
	    ct->ct_requests, t->sc_chat_deliveries, t->sc_chat_rate_limited,
	    t->sc_chat_oversize, t->sc_chat_refused, ct->ct_refused,
	    t->sc_chat_slow_closed, t->sc_chat_gaps, t->sc_chat_missed,
	    t->sc_chat_unavailable);
}

/* Print the JSON chat object's hub fields and rates. */
static void
statsdump_json_chat_hub(
    FILE *fp, const struct statsdump_snap *sn, const struct statsdump_rate *rt)
{
	const struct statsdump_chat *ct = &sn->sn_chat;
	char when[HTTPDATE_RFC3339_LEN(3) + 1];

	fprintf(fp, ",\"hub_pid\":%" PRIu64 ",\"hub_restarts\":%" PRIu64,
	    ct->ct_hub_pid, statsdump_chat_restarts(ct));
	if (ct->ct_last_event == 0 ||
	    statsdump_fmt_rfc3339(ct->ct_last_event, when) == -1)
		fprintf(fp, ",\"last_event\":null");
	else
		fprintf(fp, ",\"last_event\":\"%s\"", when);
	if (rt->rt_known)
		fprintf(fp,
		    ",\"events_per_second\":%.3f"
		    ",\"deliveries_per_second\":%.3f",
		    rt->rt_chat_events, rt->rt_chat_deliveries);
	else
		fprintf(fp,
		    ",\"events_per_second\":null"
		    ",\"deliveries_per_second\":null");
}

/* Print the JSON chat object's room_list: the rooms with members. */
static void
statsdump_json_rooms(FILE *fp, const struct statsdump_snap *sn)
{
	const struct statsdump_room *ro;
	uint32_t i;

	fprintf(fp, ",\"room_list\":[");
	for (i = 0; i < sn->sn_nrooms; i++) {
		ro = &sn->sn_rooms[i];
		fprintf(fp, "%s{\"name\":", i == 0 ? "" : ",");
		statsdump_json_string(fp, ro->ro_name);
		fprintf(fp,
		    ",\"members\":%" PRIu64 ",\"last_seq\":%" PRIu64 "}",
		    ro->ro_members, ro->ro_seq);
	}
	fputc(']', fp);
}

/* Print the JSON report's chat object, with the rooms after --rooms. */
static void
statsdump_json_chat(
    FILE *fp, const struct statsdump_snap *sn, const struct statsdump_rate *rt)
{
	fprintf(fp, ",\"chat\":{");
	statsdump_json_chat_counts(fp, sn);
	statsdump_json_chat_hub(fp, sn, rt);
	if (sn->sn_rooms != NULL)
		statsdump_json_rooms(fp, sn);
	fputc('}', fp);
}

/* Print a JSON worker's chat members and lag (null if unknown). */
static void
statsdump_json_worker_chat(FILE *fp, const struct statsdump_snap *sn,
    const struct statsdump_worker *sw)
{
	uint64_t lag;

	fprintf(fp, ",\"chat_members\":%" PRIu64, sw->sw_chat_members);
	if (statsdump_chat_lag(sn, sw, &lag) == 0)
		fprintf(fp, ",\"chat_lag\":%" PRIu64, lag);
	else
		fprintf(fp, ",\"chat_lag\":null");
}

/* Print a JSON worker's TLS handshakes: full, resumed, failed. */
static void
statsdump_json_worker_tls(FILE *fp, const struct statsdump_worker *sw)
{
	fprintf(fp,
	    ",\"tls_full\":%" PRIu64 ",\"tls_resumed\":%" PRIu64
	    ",\"tls_failed\":%" PRIu64,
	    sw->sw_tls_full, sw->sw_tls_resumed, sw->sw_tls_failed);
}

/* Print the JSON report's latency percentiles and histogram buckets. */
static void
statsdump_json_latency(FILE *fp, const struct shm_counters *t)
{
	uint32_t i;

	fprintf(fp, ",\"latency_us\":{");
	statsdump_json_percentile(fp, "p50", t->sc_latency, 500);
	fputc(',', fp);
	statsdump_json_percentile(fp, "p90", t->sc_latency, 900);
	fputc(',', fp);
	statsdump_json_percentile(fp, "p99", t->sc_latency, 990);
	fprintf(fp, "},\"latency_histogram\":[");
	for (i = 0; i < SHM_LATENCY_BUCKETS; i++)
		fprintf(fp, "%s%" PRIu64, i == 0 ? "" : ",", t->sc_latency[i]);
	fputc(']', fp);
}

/* Print the JSON report's workers array, one object per slot in use. */
static void
statsdump_json_workers(FILE *fp, const struct statsdump_snap *sn)
{
	const struct statsdump_worker *sw;
	uint32_t i;

	fprintf(fp, ",\"workers\":[");
	for (i = 0; i < sn->sn_nworkers; i++) {
		sw = &sn->sn_workers[i];
		fprintf(fp,
		    "%s{\"slot\":%" PRIu32 ",\"id\":%" PRIu64
		    ",\"pid\":%" PRIu64 ",\"generation\":%" PRIu64
		    ",\"state\":\"%s\""
		    ",\"started\":%" PRIu64 ",\"connections_accepted\":%" PRIu64
		    ",\"connections_active\":%" PRIu64 ",\"requests\":%" PRIu64
		    ",\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64,
		    i == 0 ? "" : ",", sw->sw_slot, sw->sw_id, sw->sw_pid,
		    sw->sw_generation, statsdump_state_name(sw->sw_state),
		    sw->sw_started, sw->sw_conn_accepted, sw->sw_conn_active,
		    sw->sw_requests, sw->sw_bytes_in, sw->sw_bytes_out);
		statsdump_json_worker_chat(fp, sn, sw);
		statsdump_json_worker_tls(fp, sw);
		fputc('}', fp);
	}
	fputc(']', fp);
}

/* Print the report as one JSON object on one line. */
static void
statsdump_json(FILE *fp, const char *path, const struct statsdump_snap *sn,
    const struct statsdump_rate *rt)
{
	statsdump_json_header(fp, path, sn);
	statsdump_json_totals(fp, &sn->sn_total, rt);
	statsdump_json_responses(fp, &sn->sn_total);
	statsdump_json_log(fp, sn);
	statsdump_json_tls(fp, &sn->sn_total);
	statsdump_json_websocket(fp, &sn->sn_total);
	statsdump_json_chat(fp, sn, rt);
	statsdump_json_latency(fp, &sn->sn_total);
	statsdump_json_workers(fp, sn);
	fprintf(fp, "}\n");
}

/* Print the HELP and TYPE lines of a metric family. */
static void
statsdump_prom_family(
    FILE *fp, const char *name, const char *type, const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Print a per-worker family: one sample (a uint64_t field) per live slot. */
static void
statsdump_prom_worker_family(FILE *fp, const struct statsdump_snap *sn,
    const char *name, const char *type, const char *help, size_t field)
{
	const struct statsdump_worker *sw;
	uint64_t value;
	uint32_t i;

	statsdump_prom_family(fp, name, type, help);
	for (i = 0; i < sn->sn_nworkers; i++) {
		sw = &sn->sn_workers[i];
		if (sw->sw_state == SHM_SLOT_EXITED)
			continue;
		memcpy(&value, (const char *)sw + field, sizeof(value));
		fprintf(fp,
		    "%s{slot=\"%" PRIu32 "\",pid=\"%" PRIu64 "\"} %" PRIu64
		    "\n",
		    name, sw->sw_slot, sw->sw_pid, value);
	}
}

/* Print a metric family that has one sample without labels. */
static void
statsdump_prom_value(FILE *fp, const char *name, const char *help,
    const char *type, uint64_t value)
{
	statsdump_prom_family(fp, name, type, help);
	fprintf(fp, "%s %" PRIu64 "\n", name, value);
}

/* Print the metrics on the master: whether it runs, its start, reloads. */
static void
statsdump_prom_master(FILE *fp, const struct statsdump_snap *sn)
{
	statsdump_prom_value(fp, "pfhttpd_up",
	    "1 if the master that writes the segment runs, 0 if the numbers "
	    "are stale.",
	    "gauge", sn->sn_stale == STATSDUMP_LIVE);
	statsdump_prom_value(fp, "pfhttpd_start_time_seconds",
	    "Start time of the master, unix seconds.", "gauge",
	    sn->sn_start_time);
	statsdump_prom_value(fp, "pfhttpd_generation",
	    "Configuration generation, bumped on each reload.", "gauge",
	    sn->sn_generation);
	statsdump_prom_value(fp, "pfhttpd_reloads_failed_total",
	    "Reloads that failed and changed nothing.", "counter",
	    sn->sn_reloads_failed);
}

/* Print the responses family: one sample per status code that occurred. */
static void
statsdump_prom_responses(FILE *fp, const struct shm_counters *t)
{
	int code;

	statsdump_prom_family(fp, "pfhttpd_responses_total", "counter",
	    "Responses by status code.");
	for (code = 0; code < SHM_STATUS_MAX; code++)
		if (t->sc_responses[code] != 0)
			fprintf(fp,
			    "pfhttpd_responses_total{code=\"%d\"} %" PRIu64
			    "\n",
			    code, t->sc_responses[code]);
}

/* Print the connection, request, response and byte totals. */
static void
statsdump_prom_totals(FILE *fp, const struct shm_counters *t)
{
	statsdump_prom_value(fp, "pfhttpd_connections_accepted_total",
	    "Connections accepted.", "counter", t->sc_conn_accepted);
	statsdump_prom_value(fp, "pfhttpd_connections_active",
	    "Connections open now.", "gauge", t->sc_conn_active);
	statsdump_prom_value(fp, "pfhttpd_requests_total", "Requests answered.",
	    "counter", t->sc_requests);
	statsdump_prom_responses(fp, t);
	statsdump_prom_value(fp, "pfhttpd_bytes_in_total",
	    "Request bytes read.", "counter", t->sc_bytes_in);
	statsdump_prom_value(fp, "pfhttpd_bytes_out_total",
	    "Response bytes sent.", "counter", t->sc_bytes_out);
}

/* Print the access log counters: queued, written, dropped, the backlog. */
static void
statsdump_prom_log(FILE *fp, const struct statsdump_snap *sn)
{
	statsdump_prom_value(fp, "pfhttpd_log_records_queued_total",
	    "Access log records the workers put in the log rings.", "counter",
	    sn->sn_total.sc_log_queued);
	statsdump_prom_value(fp, "pfhttpd_log_lines_written_total",
	    "Access log lines the logger wrote to the access log.", "counter",
	    sn->sn_log_written);
	statsdump_prom_value(fp, "pfhttpd_log_records_dropped_total",
	    "Access log records dropped because a log ring was full.",
	    "counter", sn->sn_total.sc_log_dropped);
	statsdump_prom_value(fp, "pfhttpd_log_records_discarded_total",
	    "Access log records the logger took but could not write (no "
	    "access log, or the write failed).",
	    "counter", sn->sn_log_discarded);
	statsdump_prom_value(fp, "pfhttpd_log_records_pending",
	    "Access log records queued and not yet written or discarded: the "
	    "logger's backlog.",
	    "gauge", statsdump_log_pending(sn));
}

/* Print the TLS handshakes, done by kind and failed by class. */
static void
statsdump_prom_tls(FILE *fp, const struct shm_counters *t)
{
	uint32_t i;

	statsdump_prom_family(fp, "pfhttpd_tls_handshakes_total", "counter",
	    "TLS handshakes done, in full or resuming a session.");
	fprintf(fp,
	    "pfhttpd_tls_handshakes_total{kind=\"full\"} %" PRIu64 "\n"
	    "pfhttpd_tls_handshakes_total{kind=\"resumed\"} %" PRIu64 "\n",
	    t->sc_tls_full, t->sc_tls_resumed);
	statsdump_prom_family(fp, "pfhttpd_tls_handshake_failures_total",
	    "counter", "TLS handshakes that failed, by class.");
	for (i = 0; i < SHM_TLS_FAIL_CLASSES; i++)
		fprintf(fp,
		    "pfhttpd_tls_handshake_failures_total{class=\"%s\"} "
		    "%" PRIu64 "\n",
		    statsdump_tls_fail_class[i], t->sc_tls_failed[i]);
	statsdump_prom_family(fp, "pfhttpd_tls_errors_total", "counter",
	    "Connections a TLS error ended after the handshake.");
	fprintf(fp, "pfhttpd_tls_errors_total %" PRIu64 "\n", t->sc_tls_errors);
	statsdump_prom_family(fp, "pfhttpd_tls_renegotiations_refused_total",
	    "counter", "TLS renegotiations refused.");
	fprintf(fp, "pfhttpd_tls_renegotiations_refused_total %" PRIu64 "\n",
	    t->sc_tls_renegotiations);
}

/* Print the WebSocket counters, closes by close code class included. */
static void
statsdump_prom_websocket(FILE *fp, const struct shm_counters *t)
{
	uint32_t i;

	statsdump_prom_value(fp, "pfhttpd_websocket_upgrades_total",
	    "WebSocket handshakes completed.", "counter", t->sc_ws_upgrades);
	statsdump_prom_value(fp, "pfhttpd_websocket_open",
	    "WebSocket connections open now.", "gauge", t->sc_ws_open);
	statsdump_prom_value(fp, "pfhttpd_websocket_messages_in_total",
	    "WebSocket messages received.", "counter", t->sc_ws_messages_in);
	statsdump_prom_value(fp, "pfhttpd_websocket_messages_out_total",
	    "WebSocket messages sent.", "counter", t->sc_ws_messages_out);
	statsdump_prom_value(fp, "pfhttpd_websocket_bytes_in_total",
	    "WebSocket message payload bytes received.", "counter",
	    t->sc_ws_bytes_in);
	statsdump_prom_value(fp, "pfhttpd_websocket_bytes_out_total",
	    "WebSocket message payload bytes sent.", "counter",
	    t->sc_ws_bytes_out);
	statsdump_prom_family(fp, "pfhttpd_websocket_closes_total", "counter",
	    "WebSocket closes by close code class.");
	for (i = 0; i < SHM_WS_CLOSE_CLASSES; i++)
		fprintf(fp,
		    "pfhttpd_websocket_closes_total{class=\"%s\"} %" PRIu64
		    "\n",
		    statsdump_close_class[i], t->sc_ws_closes[i]);
}

/* Print the chat hub's metrics: whether it runs, rooms, events, requests. */
static void
statsdump_prom_chat_hub(FILE *fp, const struct statsdump_snap *sn)
{
	const struct statsdump_chat *ct = &sn->sn_chat;

	statsdump_prom_value(fp, "pfhttpd_chat_hub_up",
	    "1 if a chat hub runs (and the master does).", "gauge",
	    ct->ct_hub_pid != 0 && sn->sn_stale == STATSDUMP_LIVE);
	statsdump_prom_value(fp, "pfhttpd_chat_hub_restarts_total",
	    "Chat hubs started after the first (the master restarts a hub "
	    "that dies).",
	    "counter", statsdump_chat_restarts(ct));
	statsdump_prom_value(fp, "pfhttpd_chat_rooms",
	    "Chat rooms with at least one member.", "gauge", ct->ct_rooms);
	statsdump_prom_value(fp, "pfhttpd_chat_members",
	    "Members of all chat rooms.", "gauge", ct->ct_members);
	statsdump_prom_value(fp, "pfhttpd_chat_events_total",
	    "Chat events sequenced by the hub.", "counter", ct->ct_events);
	statsdump_prom_value(fp, "pfhttpd_chat_hub_requests_total",
	    "Chat requests the hub took from the workers.", "counter",
	    ct->ct_requests);
	statsdump_prom_value(fp, "pfhttpd_chat_hub_refused_total",
	    "Chat requests the hub answered with an error.", "counter",
	    ct->ct_refused);
	statsdump_prom_family(fp, "pfhttpd_chat_last_event_time_seconds",
	    "gauge", "Unix time of the last chat event; no sample if none.");
	if (ct->ct_last_event != 0)
		fprintf(fp,
		    "pfhttpd_chat_last_event_time_seconds %" PRIu64
		    ".%03" PRIu64 "\n",
		    ct->ct_last_event / 1000, ct->ct_last_event % 1000);
}

/* Print the workers' chat metrics: clients, deliveries, refusals, losses. */
static void
statsdump_prom_chat_workers(FILE *fp, const struct shm_counters *t)
{
	statsdump_prom_family(fp, "pfhttpd_chat_clients", "gauge",
	    "Chat clients the workers hold, by transport.");
	fprintf(fp,
	    "pfhttpd_chat_clients{transport=\"websocket\"} %" PRIu64 "\n"
	    "pfhttpd_chat_clients{transport=\"telnet\"} %" PRIu64 "\n",
	    t->sc_chat_members_ws, t->sc_chat_members_telnet);
	statsdump_prom_value(fp, "pfhttpd_chat_requests_total",
	    "Chat requests the workers handed to the hub.", "counter",
	    t->sc_chat_in);
	statsdump_prom_value(fp, "pfhttpd_chat_unavailable_total",
	    "Chat requests refused because the ring to the hub was full.",
	    "counter", t->sc_chat_unavailable);
	statsdump_prom_value(fp, "pfhttpd_chat_deliveries_total",
	    "Chat events queued to a client.", "counter",
	    t->sc_chat_deliveries);
	statsdump_prom_value(fp, "pfhttpd_chat_rate_limited_total",
	    "Chat messages refused for the rate limit.", "counter",
	    t->sc_chat_rate_limited);
	statsdump_prom_value(fp, "pfhttpd_chat_oversize_total",
	    "Chat messages refused for their length.", "counter",
	    t->sc_chat_oversize);
	statsdump_prom_value(fp, "pfhttpd_chat_refused_total",
	    "Chat messages refused: bad UTF-8, nick or command.", "counter",
	    t->sc_chat_refused);
	statsdump_prom_value(fp, "pfhttpd_chat_slow_closed_total",
	    "Chat clients closed for output they did not read.", "counter",
	    t->sc_chat_slow_closed);
	statsdump_prom_value(fp, "pfhttpd_chat_gaps_total",
	    "Times the broadcast ring lapped a worker.", "counter",
	    t->sc_chat_gaps);
	statsdump_prom_value(fp, "pfhttpd_chat_missed_total",
	    "Chat events lost to laps, counted per room.", "counter",
	    t->sc_chat_missed);
}

/*
 * Print the request duration histogram. Bucket i holds [2^i, 2^(i+1)) us:
 * le of bucket i is 2^(i+1) us. The last bucket also holds longer
 * durations, so only +Inf bounds it.
 */
static void
statsdump_prom_latency(FILE *fp, const struct shm_counters *t)
{
	uint64_t cum = 0;
	char le[32];
	uint32_t i;

	statsdump_prom_family(fp, "pfhttpd_request_duration_seconds",
	    "histogram",
	    "Request durations from log2 buckets; _sum is estimated from "
	    "the bucket midpoints.");
	for (i = 0; i < SHM_LATENCY_BUCKETS - 1; i++) {
		cum += t->sc_latency[i];
		statsdump_fmt_le((uint64_t)1 << (i + 1), le, sizeof(le));
		fprintf(fp,
		    "pfhttpd_request_duration_seconds_bucket{le=\"%s\"} "
		    "%" PRIu64 "\n",
		    le, cum);
	}
	cum += t->sc_latency[SHM_LATENCY_BUCKETS - 1];
	fprintf(fp,
	    "pfhttpd_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64
	    "\n",
	    cum);
	fprintf(fp, "pfhttpd_request_duration_seconds_sum %.6f\n",
	    statsdump_hist_sum(t->sc_latency));
	fprintf(
	    fp, "pfhttpd_request_duration_seconds_count %" PRIu64 "\n", cum);
}

/* Print each running worker's chat lag, when it is known. */
static void
statsdump_prom_chat_lag(FILE *fp, const struct statsdump_snap *sn)
{
	const struct statsdump_worker *sw;
	uint64_t lag;
	uint32_t i;

	statsdump_prom_family(fp, "pfhttpd_chat_worker_lag_events", "gauge",
	    "Chat events a running worker has still to read from the "
	    "broadcast ring; no sample while it starts.");
	for (i = 0; i < sn->sn_nworkers; i++) {
		sw = &sn->sn_workers[i];
		if (statsdump_chat_lag(sn, sw, &lag) == -1)
			continue;
		fprintf(fp,
		    "pfhttpd_chat_worker_lag_events{slot=\"%" PRIu32
		    "\",pid=\"%" PRIu64 "\"} %" PRIu64 "\n",
		    sw->sw_slot, sw->sw_pid, lag);
	}
}

/* Print the per-worker families; exited slots are only in the totals. */
static void
statsdump_prom_workers(FILE *fp, const struct statsdump_snap *sn)
{
	statsdump_prom_worker_family(fp, sn, "pfhttpd_worker_requests_total",
	    "counter", "Requests answered by a running worker.",
	    offsetof(struct statsdump_worker, sw_requests));
	statsdump_prom_worker_family(fp, sn, "pfhttpd_worker_bytes_out_total",
	    "counter", "Response bytes sent by a running worker.",
	    offsetof(struct statsdump_worker, sw_bytes_out));
	statsdump_prom_worker_family(fp, sn,
	    "pfhttpd_worker_connections_active", "gauge",
	    "Connections open now in a running worker.",
	    offsetof(struct statsdump_worker, sw_conn_active));
	statsdump_prom_worker_family(fp, sn,
	    "pfhttpd_worker_tls_handshakes_total", "counter",
	    "TLS handshakes done (in full or resumed) by a running worker.",
	    offsetof(struct statsdump_worker, sw_tls_done));
}

/* Print the report in the Prometheus text exposition format 0.0.4. */
static void
statsdump_prometheus(FILE *fp, const struct statsdump_snap *sn)
{
	statsdump_prom_master(fp, sn);
	statsdump_prom_totals(fp, &sn->sn_total);
	statsdump_prom_log(fp, sn);
	statsdump_prom_tls(fp, &sn->sn_total);
	statsdump_prom_websocket(fp, &sn->sn_total);
	statsdump_prom_chat_hub(fp, sn);
	statsdump_prom_chat_workers(fp, &sn->sn_total);
	statsdump_prom_latency(fp, &sn->sn_total);
	statsdump_prom_workers(fp, sn);
	statsdump_prom_chat_lag(fp, sn);
}

/* Print one report in the chosen format and flush it; 0, or -1 (errno). */
static int
statsdump_report(enum statsdump_format format, const char *path,
    const struct statsdump_snap *sn, const struct statsdump_rate *rt)
{
	switch (format) {
	case STATSDUMP_JSON:
		statsdump_json(stdout, path, sn, rt);
		break;
	case STATSDUMP_PROMETHEUS:
		statsdump_prometheus(stdout, sn);
		break;
	default:
		statsdump_text(stdout, path, sn, rt);
		break;
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		return -1;
	return 0;
}

/*
 * Read the segment into sn and print a report as op says, with rates from
 * prev unless prev is NULL. Return 0, or -1 after saying why.
 */
static int
statsdump_step(const struct statsdump_opts *op, const char *path,
    const struct statsdump_snap *prev, struct statsdump_snap *sn)
{
	enum statsdump_format format = op->op_format;
	struct statsdump_rate rate;
	char err[STATSDUMP_ERR_LEN];

	if (statsdump_read(path, op->op_rooms, sn, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", STATSDUMP_NAME, err);
		return -1;
	}
	memset(&rate, 0, sizeof(rate));
	if (prev != NULL)
		statsdump_rate(prev, sn, &rate);
	if (format == STATSDUMP_TEXT && prev != NULL)
		putchar('\n');
	if (statsdump_report(format, path, sn, &rate) == -1) {
		fprintf(stderr, "%s: standard output: %s\n", STATSDUMP_NAME,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Set left to the time from now to next; if next is past, move it to now. */
static void
statsdump_time_left(struct timespec *next, struct timespec *left)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	left->tv_sec = next->tv_sec - now.tv_sec;
	left->tv_nsec = next->tv_nsec - now.tv_nsec;
	if (left->tv_nsec < 0) {
		left->tv_sec--;
		left->tv_nsec += 1000000000L;
	}
	if (left->tv_sec < 0) {
		/* Fell behind (stopped, slow): start afresh. */
		*next = now;
		left->tv_sec = left->tv_nsec = 0;
	}
}

/*
 * Sleep to the next multiple of the interval after next, not drifting,
 * and move next there. Return 1 if a stop signal came instead, else 0.
 */
static int
statsdump_sleep(const sigset_t *stop, struct timespec *next,
    const struct timespec *interval)
{
	struct timespec left;
	int sig;

	next->tv_sec += interval->tv_sec;
	next->tv_nsec += interval->tv_nsec;
	if (next->tv_nsec >= 1000000000L) {
		next->tv_sec++;
		next->tv_nsec -= 1000000000L;
	}
	for (;;) {
		statsdump_time_left(next, &left);
		sig = sigtimedwait(stop, NULL, &left);
		if (sig != -1 || errno == EAGAIN)
			break;
	}
	return sig == SIGINT || sig == SIGTERM;
}

/*
 * Print a report now, then with -w every interval until SIGINT or SIGTERM
 * (else once). Rates appear from the second report on. Return the exit
 * status.
 */
static int
statsdump_watch(const struct statsdump_opts *op, const char *path)
{
	const struct timespec *interval =
	    op->op_watch ? &op->op_interval : NULL;
	struct statsdump_snap snap[2];
	const struct statsdump_snap *prev = NULL;
	struct timespec next;
	sigset_t stop;
	int cur = 0, status = 0;

	memset(snap, 0, sizeof(snap));
	/* Blocked, the stop signals wait for sigtimedwait(): no race. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	if (interval != NULL)
		sigprocmask(SIG_BLOCK, &stop, NULL);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		if (statsdump_step(op, path, prev, &snap[cur]) == -1) {
			status = 1;
			break;
		}
		if (interval == NULL || statsdump_sleep(&stop, &next, interval))
			break;
		prev = &snap[cur];
		cur = !cur;
	}
	statsdump_snap_free(&snap[0]);
	statsdump_snap_free(&snap[1]);
	return status;
}

/*
 * Apply the option ch, with its argument in optarg, to op. Return -1 to
 * go on, or the status to exit with now (after -V, -h or an error).
 */
static int
statsdump_option(int ch, struct statsdump_opts *op)
{
	switch (ch) {
	case 'c':
		op->op_cfile = optarg;
		break;
	case 's':
		op->op_spath = optarg;
		break;
	case STATSDUMP_OPT_JSON:
		op->op_format = STATSDUMP_JSON;
		op->op_nformats++;
		break;
	case STATSDUMP_OPT_PROM:
		op->op_format = STATSDUMP_PROMETHEUS;
		op->op_nformats++;
		break;
	case STATSDUMP_OPT_ROOMS:
		op->op_rooms = 1;
		break;
	case 'w':
		if (statsdump_interval(optarg, &op->op_interval) == -1) {
			fprintf(stderr,
			    "%s: -w %s: expected a number of seconds "
			    "from 0.001 to %.0f\n",
			    STATSDUMP_NAME, optarg, STATSDUMP_MAX_WAIT);
			return 1;
		}
		op->op_watch = 1;
		break;
	case 'V':
		printf("%s (%s) %s\n", STATSDUMP_NAME, PFHTTPD_NAME,
		    PFHTTPD_VERSION);
		return 0;
	case 'h':
		statsdump_usage(stdout);
		return 0;
	default:
		statsdump_usage(stderr);
		return 1;
	}
	return -1;
}

/* Check the operands and the options together; say why and -1 if wrong. */
static int
statsdump_check(int argc, char *argv[], const struct statsdump_opts *op)
{
	if (optind != argc)
		fprintf(stderr, "%s: unexpected argument: %s\n", STATSDUMP_NAME,
		    argv[optind]);
	else if (op->op_nformats > 1)
		fprintf(stderr,
		    "%s: --json and --prometheus exclude each other\n",
		    STATSDUMP_NAME);
	else if (op->op_rooms && op->op_format == STATSDUMP_PROMETHEUS)
		fprintf(stderr,
		    "%s: --rooms lists rooms in the text and JSON reports "
		    "only\n",
		    STATSDUMP_NAME);
	else if (op->op_cfile != NULL && op->op_spath != NULL)
		fprintf(stderr, "%s: -c and -s exclude each other\n",
		    STATSDUMP_NAME);
	else
		return 0;
	statsdump_usage(stderr);
	return -1;
}

/* Run statsdump. */
int
main(int argc, char *argv[])
{
	struct statsdump_opts op;
	char *path;
	int ch, status;

	memset(&op, 0, sizeof(op));
	op.op_format = STATSDUMP_TEXT;
	while ((ch = getopt_long(
		    argc, argv, "c:s:w:Vh", statsdump_longopts, NULL)) != -1)
		if ((status = statsdump_option(ch, &op)) != -1)
			return status;
	if (statsdump_check(argc, argv, &op) == -1)
		return 1;
	if ((path = statsdump_shm_path(op.op_spath, op.op_cfile)) == NULL)
		return 1;
	status = statsdump_watch(&op, path);
	free(path);
	return status;
}
