/*
 * The statistics of a running pfhttpd, as its readers see them: one
 * snapshot of the shared segment (statsnap.c) and its three renderings,
 * text (statstext.c), one JSON object (statsjson.c) and the Prometheus
 * text exposition format (statsprom.c), shared by statsdump and by the
 * metrics process (metrics.c), which serves the Prometheus one over HTTP
 * on [stats] listen (its requests: metricshttp.c). Include after
 * pfhttpd.h and shm.h.
 */

#ifndef STATS_H
#define STATS_H

#include <stdio.h>
#include <time.h>

/* Why a segment is stale (sn_stale). */
enum statsnap_stale {
	STATSNAP_LIVE = 0, /* the master runs */
	STATSNAP_GONE,	   /* no process has the master's pid */
	STATSNAP_REUSED,   /* a program not pfhttpd has the pid */
};

/* One worker slot that is not free, as read. */
struct statsnap_worker {
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

/* The hub's link to Redis, as read (struct shm_chat_redis). */
struct statsnap_redis {
	uint64_t rs_state;	 /* enum shm_redis_state */
	uint64_t rs_since;	 /* unix ms it took that state, 0: never */
	uint64_t rs_connects;	 /* connections made */
	uint64_t rs_failures;	 /* links lost, connects that failed */
	uint64_t rs_published;	 /* events Redis took from this hub */
	uint64_t rs_applied;	 /* events read back and sequenced */
	uint64_t rs_unavailable; /* requests refused: Redis unreachable */
	uint64_t rs_inflight;	 /* publishes awaiting a reply */
	uint64_t rs_last_event;	 /* unix ms of the last event read, 0: none */
	uint64_t rs_skipped;	 /* sequence numbers a stream no longer had */
	uint64_t rs_reseeds;	 /* rooms written back into an empty Redis */
};

/* The chat hub's state and counters, as read (struct shm_chat). */
struct statsnap_chat {
	uint64_t ct_hub_pid;	/* the running hub, 0: none */
	uint64_t ct_hub_starts; /* hubs started, the first included */
	uint64_t ct_rooms;	/* rooms with a member */
	uint64_t ct_members;	/* members of all rooms */
	uint64_t ct_events;	/* sequenced events */
	uint64_t ct_requests;	/* requests the hub took from the rings */
	uint64_t ct_refused;	/* requests it answered with an error */
	uint64_t ct_last_event; /* unix ms of the last event, 0: none */
	uint64_t ct_next_event; /* br_next_event: the broadcast head + 1 */
	struct statsnap_redis ct_redis; /* its link to Redis */
};

/* A chat room with members, as read (--rooms). */
struct statsnap_room {
	char ro_name[CHAT_NAME_MAX + 1]; /* [A-Za-z0-9_-], '?' for others */
	uint64_t ro_members;		 /* members now */
	uint64_t ro_seq;		 /* the last sequence number given */
};

/* One read of the segment: everything a report shows. */
struct statsnap {
	uint64_t sn_master_pid; /* header fields */
	uint64_t sn_start_time;
	uint64_t sn_generation;
	uint64_t sn_reloads_failed;
	uint64_t sn_logger_pid;	   /* 0: none runs */
	uint64_t sn_logger_wrote;  /* unix seconds, 0: never */
	uint64_t sn_log_written;   /* access lines written, all rings */
	uint64_t sn_log_discarded; /* access records not written, all rings */
	uint32_t sn_nslots;
	enum statsnap_stale sn_stale;	    /* the master is gone */
	int sn_torn;			    /* summed during a fold */
	time_t sn_now;			    /* wall clock at the read */
	uint64_t sn_now_ms;		    /* the same in unix ms */
	struct timespec sn_mono;	    /* CLOCK_MONOTONIC at the read */
	struct shm_counters sn_total;	    /* retired + live slots */
	struct statsnap_worker *sn_workers; /* slots not free */
	uint32_t sn_nworkers;		    /* entries in sn_workers */
	struct statsnap_chat sn_chat;	    /* the chat hub */
	struct statsnap_room *sn_rooms;	    /* with rooms asked, else NULL */
	uint32_t sn_nrooms;		    /* entries in sn_rooms */
};

/* Rates between two reads of the same segment. */
struct statsnap_rate {
	int rt_known;		   /* the fields below are set */
	double rt_requests;	   /* requests per second */
	double rt_bytes_in;	   /* request bytes per second */
	double rt_bytes_out;	   /* response bytes per second */
	double rt_chat_events;	   /* chat events sequenced per second */
	double rt_chat_deliveries; /* chat events delivered per second */
};

/* statsnap.c */
extern const char *const statsnap_close_class[SHM_WS_CLOSE_CLASSES];
extern const char *const statsnap_tls_fail_class[SHM_TLS_FAIL_CLASSES];

int statsnap_read(struct shm_header *sh, int rooms, struct statsnap *sn);
void statsnap_free(struct statsnap *sn);
void statsnap_rates(const struct statsnap *prev, const struct statsnap *cur,
    struct statsnap_rate *rt);
uint64_t statsnap_log_pending(const struct statsnap *sn);
uint64_t statsnap_chat_restarts(const struct statsnap_chat *ct);
int statsnap_chat_lag(
    const struct statsnap *sn, const struct statsnap_worker *sw, uint64_t *lag);
uint64_t statsnap_tls_failed(const uint64_t *failed);
int statsnap_tls_resumed_ratio(const struct shm_counters *t, double *ratio);
uint64_t statsnap_hist_count(const uint64_t *b);
int statsnap_percentile(const uint64_t *b, unsigned permille, uint64_t *usec);
double statsnap_hist_sum(const uint64_t *b);
const char *statsnap_state_name(uint64_t state);
uint64_t statsnap_uptime(const struct statsnap *sn);
const char *statsnap_redis_state_name(uint64_t state);
int statsnap_age_ms(const struct statsnap *sn, uint64_t when, uint64_t *ms);

/* statstext.c */
void statstext_print(FILE *fp, const char *path, const struct statsnap *sn,
    const struct statsnap_rate *rt);

/* statsjson.c */
void statsjson_print(FILE *fp, const char *path, const struct statsnap *sn,
    const struct statsnap_rate *rt);

/* statsprom.c */
#define STATSPROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

void statsprom_print(FILE *fp, const struct statsnap *sn);

/* metricshttp.c */

/* What a request to the metrics endpoint asked for. */
struct metricshttp_req {
	int mr_status; /* the status to answer: 200, 400, 404, 405, 431, 505 */
	int mr_head;   /* HEAD: the response has no body */
	size_t mr_len; /* bytes of the request head, its blank line included */
};

#define METRICSHTTP_MAX_HEAD 8192 /* bytes of a request head at most */

int metricshttp_parse(const char *buf, size_t len, struct metricshttp_req *mr);
const char *metricshttp_reason(int status);

/* metrics.c */
void metrics_main(const struct config *cf, struct shm_header *sh) NORETURN;

#endif /* STATS_H */
