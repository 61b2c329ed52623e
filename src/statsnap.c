/*
 * A snapshot of the shared segment (layout and contract: shm.h) for its
 * readers, statsdump and the metrics process: the header, the totals, the
 * workers' slots, the chat hub and its link to Redis, the rooms; and what
 * the reports derive from it (rates, lags, percentiles). Reading never
 * writes to the segment, so it works on a read-only map.
 */

#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pfhttpd.h"
#include "shm.h"
#include "stats.h"

#define STATSNAP_FOLD_WAIT 100 /* ms to wait for a fold to finish */

/* The name of each class of WebSocket close code (sc_ws_closes[]). */
const char *const statsnap_close_class[SHM_WS_CLOSE_CLASSES] = {
    "1000", "1001", "1002-1011", "3000-4999", "other"};

/* The short name of each class of failed TLS handshake (enum shm_tls_fail). */
const char *const statsnap_tls_fail_class[SHM_TLS_FAIL_CLASSES] = {
    [SHM_TLS_FAIL_PROTOCOL] = "protocol",
    [SHM_TLS_FAIL_CERT] = "client_cert",
    [SHM_TLS_FAIL_PLAIN_HTTP] = "plain_http",
    [SHM_TLS_FAIL_TIMEOUT] = "timeout",
    [SHM_TLS_FAIL_CLOSED] = "closed",
};

/*
 * Tell whether the master that owns the segment runs. Beyond
 * shm_master_alive(), a process that has the pid but whose name (the
 * master sets it to "pfhttpd: master") is not pfhttpd's has reused the
 * pid of a master that is gone. If /proc does not tell, trust the pid.
 */
static enum statsnap_stale
statsnap_master_alive(const struct shm_header *sh)
{
	char path[64], comm[64];
	FILE *fp;
	int named;

	if (!shm_master_alive(sh))
		return STATSNAP_GONE;
	snprintf(
	    path, sizeof(path), "/proc/%" PRIu64 "/comm", sh->sh_master_pid);
	if ((fp = fopen(path, "re")) == NULL)
		return STATSNAP_LIVE;
	named = fgets(comm, sizeof(comm), fp) != NULL;
	fclose(fp);
	if (named && strncmp(comm, PFHTTPD_NAME, strlen(PFHTTPD_NAME)) != 0)
		return STATSNAP_REUSED;
	return STATSNAP_LIVE;
}

/*
 * Sum the totals into sn. shm_totals() waits for a fold in progress to
 * end; a master that died or stopped in the middle of one would make it
 * wait forever, so after a bounded wait (or at once if the master is
 * gone) take one pass instead and say the sum may be off by one worker.
 */
static void
statsnap_totals(struct shm_header *sh, struct statsnap *sn)
{
	struct timespec nap = {0, 1000000}; /* 1 ms */
	struct shm_slot *slot;
	uint64_t state;
	uint32_t i;
	int tries = STATSNAP_FOLD_WAIT;

	while (sn->sn_stale == STATSNAP_LIVE && tries-- > 0) {
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
statsnap_log_taken(struct shm_header *sh, struct statsnap *sn)
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
uint64_t
statsnap_log_pending(const struct statsnap *sn)
{
	uint64_t queued = sn->sn_total.sc_log_queued;
	uint64_t taken = sn->sn_log_written + sn->sn_log_discarded;

	return queued > taken ? queued - taken : 0;
}

/* Read into sn the clocks, the header fields and whether the master runs. */
static void
statsnap_read_header(struct shm_header *sh, struct statsnap *sn)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &sn->sn_mono);
	clock_gettime(CLOCK_REALTIME, &now);
	sn->sn_now = now.tv_sec;
	sn->sn_now_ms = now.tv_sec < 0
	    ? 0
	    : (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
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
	sn->sn_stale = statsnap_master_alive(sh);
}

/* Return the failed TLS handshakes of every class in failed[]. */
uint64_t
statsnap_tls_failed(const uint64_t *failed)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < SHM_TLS_FAIL_CLASSES; i++)
		n += failed[i];
	return n;
}

/* Read the TLS handshake counters of the worker in slot into sw. */
static void
statsnap_read_worker_tls(
    const struct shm_slot *slot, struct statsnap_worker *sw)
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
	sw->sw_tls_failed = statsnap_tls_failed(failed);
	sw->sw_tls_done = sw->sw_tls_full + sw->sw_tls_resumed;
}

/* Read the identity and counters of the worker in slot i into sw. */
static void
statsnap_read_worker(const struct shm_slot *slot, uint32_t i, uint64_t state,
    struct statsnap_worker *sw)
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
	statsnap_read_worker_tls(slot, sw);
}

/* Read every slot that is not free into sn's worker array. */
static void
statsnap_read_workers(struct shm_header *sh, struct statsnap *sn)
{
	struct shm_slot *slot;
	uint64_t state;
	uint32_t i;

	for (i = 0; i < shm_nslots(); i++) {
		slot = shm_slot_at(sh, i);
		state = __atomic_load_n(&slot->ss_state, __ATOMIC_ACQUIRE);
		if (state == SHM_SLOT_FREE)
			continue;
		statsnap_read_worker(
		    slot, i, state, &sn->sn_workers[sn->sn_nworkers++]);
	}
}

/*
 * Read the hub's link to Redis into rs. The hub stores each field alone
 * (shm.h): each is read whole, the set is not one instant's.
 */
static void
statsnap_read_redis(const struct shm_chat_redis *rd, struct statsnap_redis *rs)
{
	rs->rs_state = __atomic_load_n(&rd->rd_state, __ATOMIC_RELAXED);
	rs->rs_since = __atomic_load_n(&rd->rd_since, __ATOMIC_RELAXED);
	rs->rs_connects = __atomic_load_n(&rd->rd_connects, __ATOMIC_RELAXED);
	rs->rs_failures = __atomic_load_n(&rd->rd_failures, __ATOMIC_RELAXED);
	rs->rs_published = __atomic_load_n(&rd->rd_published, __ATOMIC_RELAXED);
	rs->rs_applied = __atomic_load_n(&rd->rd_applied, __ATOMIC_RELAXED);
	rs->rs_unavailable =
	    __atomic_load_n(&rd->rd_unavailable, __ATOMIC_RELAXED);
	rs->rs_inflight = __atomic_load_n(&rd->rd_inflight, __ATOMIC_RELAXED);
	rs->rs_last_event =
	    __atomic_load_n(&rd->rd_last_event, __ATOMIC_RELAXED);
	rs->rs_skipped = __atomic_load_n(&rd->rd_skipped, __ATOMIC_RELAXED);
	rs->rs_reseeds = __atomic_load_n(&rd->rd_reseeds, __ATOMIC_RELAXED);
}

/*
 * Read the chat hub's state and counters into sn. After the workers: the
 * broadcast head is then rarely behind what a worker said it read.
 */
static void
statsnap_read_chat(struct shm_header *sh, struct statsnap *sn)
{
	const struct shm_chat *ch = shm_chat(sh);
	struct statsnap_chat *ct = &sn->sn_chat;

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
	statsnap_read_redis(&ch->ch_redis, &ct->ct_redis);
}

/* Make a room name safe to print: each byte not of [A-Za-z0-9_-] is '?'. */
static void
statsnap_room_name(char *name)
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
statsnap_read_room(const struct shm_chat_room *rm, struct statsnap_room *ro)
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
	statsnap_room_name(ro->ro_name);
	return 1;
}

/* Order rooms by name. */
static int
statsnap_room_cmp(const void *a, const void *b)
{
	const struct statsnap_room *ra = a, *rb = b;

	return strcmp(ra->ro_name, rb->ro_name);
}

/* Read the rooms with members into sn's room array, ordered by name. */
static int
statsnap_read_rooms(struct shm_header *sh, struct statsnap *sn)
{
	uint64_t i, n = shm_chat_geometry()->cg_max_rooms;

	/* shm_attach() checked that 1 <= n <= 65536. */
	if ((sn->sn_rooms = calloc(n, sizeof(*sn->sn_rooms))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (statsnap_read_room(shm_chat_room(sh, (uint32_t)i),
			&sn->sn_rooms[sn->sn_nrooms]))
			sn->sn_nrooms++;
	qsort(sn->sn_rooms, sn->sn_nrooms, sizeof(*sn->sn_rooms),
	    statsnap_room_cmp);
	return 0;
}

/* Free what sn holds. */
void
statsnap_free(struct statsnap *sn)
{
	free(sn->sn_workers);
	free(sn->sn_rooms);
	sn->sn_workers = NULL;
	sn->sn_rooms = NULL;
}

/*
 * Read a snapshot of the segment sh into sn: its worker array allocated,
 * and its room array if rooms is set; what it held before is freed.
 * Return 0, or -1 with errno set (sn then holds nothing).
 */
int
statsnap_read(struct shm_header *sh, int rooms, struct statsnap *sn)
{
	statsnap_free(sn);
	memset(sn, 0, sizeof(*sn));
	sn->sn_workers = calloc(shm_nslots() + 1, sizeof(*sn->sn_workers));
	if (sn->sn_workers == NULL ||
	    (rooms && statsnap_read_rooms(sh, sn) == -1)) {
		statsnap_free(sn);
		return -1;
	}
	statsnap_read_header(sh, sn);
	/* Written first: the totals read after it count every line in it. */
	statsnap_log_taken(sh, sn);
	statsnap_totals(sh, sn);
	statsnap_read_workers(sh, sn);
	statsnap_read_chat(sh, sn);
	return 0;
}

/*
 * Tell whether rates can be computed from prev to cur: both reads come
 * from the same segment (the server did not restart) and no counter
 * that has a rate went backwards.
 */
static int
statsnap_rate_valid(const struct statsnap *prev, const struct statsnap *cur)
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
void
statsnap_rates(const struct statsnap *prev, const struct statsnap *cur,
    struct statsnap_rate *rt)
{
	const struct shm_counters *a = &prev->sn_total, *b = &cur->sn_total;
	double dt;

	memset(rt, 0, sizeof(*rt));
	dt = (double)(cur->sn_mono.tv_sec - prev->sn_mono.tv_sec) +
	    (double)(cur->sn_mono.tv_nsec - prev->sn_mono.tv_nsec) / 1e9;
	if (dt <= 0 || !statsnap_rate_valid(prev, cur))
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
uint64_t
statsnap_chat_restarts(const struct statsnap_chat *ct)
{
	return ct->ct_hub_starts > 0 ? ct->ct_hub_starts - 1 : 0;
}

/*
 * Set *lag to the broadcast events that the worker sw has still to read:
 * from the last it read to the head (a worker starts at the head). Return
 * -1 if that is unknown: the worker is starting or has exited.
 */
int
statsnap_chat_lag(
    const struct statsnap *sn, const struct statsnap_worker *sw, uint64_t *lag)
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

/*
 * Set *ratio to the share of the TLS handshakes done in t that resumed a
 * session: resumed / (full + resumed). Return -1 if none was done.
 */
int
statsnap_tls_resumed_ratio(const struct shm_counters *t, double *ratio)
{
	uint64_t done = t->sc_tls_full + t->sc_tls_resumed;

	if (done == 0)
		return -1;
	*ratio = (double)t->sc_tls_resumed / (double)done;
	return 0;
}

/* Return the number of durations in the latency histogram b. */
uint64_t
statsnap_hist_count(const uint64_t *b)
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
int
statsnap_percentile(const uint64_t *b, unsigned permille, uint64_t *usec)
{
	uint64_t n, rank, seen = 0;
	int i;

	if ((n = statsnap_hist_count(b)) == 0)
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
double
statsnap_hist_sum(const uint64_t *b)
{
	double sum = (double)b[0];
	int i;

	for (i = 1; i < SHM_LATENCY_BUCKETS; i++)
		sum += (double)b[i] * 1.5 * (double)((uint64_t)1 << i);
	return sum / 1e6;
}

/* Return the name of a slot state. */
const char *
statsnap_state_name(uint64_t state)
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

/* Return the seconds from the master's start to the read (0 if skewed). */
uint64_t
statsnap_uptime(const struct statsnap *sn)
{
	if (sn->sn_now < 0 || (uint64_t)sn->sn_now < sn->sn_start_time)
		return 0;
	return (uint64_t)sn->sn_now - sn->sn_start_time;
}

/* Return the name of a state of the link to Redis (enum shm_redis_state). */
const char *
statsnap_redis_state_name(uint64_t state)
{
	switch (state) {
	case SHM_REDIS_OFF:
		return "off";
	case SHM_REDIS_CONNECTING:
		return "connecting";
	case SHM_REDIS_UP:
		return "up";
	case SHM_REDIS_DOWN:
		return "down";
	default:
		return "unknown";
	}
}

/*
 * Set *ms to the milliseconds from when (unix ms) to the read of sn, 0 if
 * when is later (clocks of two processes). Return -1 if when is 0: never.
 */
int
statsnap_age_ms(const struct statsnap *sn, uint64_t when, uint64_t *ms)
{
	if (when == 0)
		return -1;
	*ms = sn->sn_now_ms > when ? sn->sn_now_ms - when : 0;
	return 0;
}
