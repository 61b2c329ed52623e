/*
 * The Prometheus text exposition format 0.0.4 of a snapshot: what
 * statsdump --prometheus prints and the metrics process serves, byte for
 * byte the same for one snapshot.
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

/* Format microseconds as exact decimal seconds ("0.000512", "2.097152"). */
static void
statsprom_fmt_le(uint64_t usec, char *buf, size_t len)
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

/* Print the HELP and TYPE lines of a metric family. */
static void
statsprom_family(FILE *fp, const char *name, const char *type, const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Print a per-worker family: one sample (a uint64_t field) per live slot. */
static void
statsprom_worker_family(FILE *fp, const struct statsnap *sn, const char *name,
    const char *type, const char *help, size_t field)
{
	const struct statsnap_worker *sw;
	uint64_t value;
	uint32_t i;

	statsprom_family(fp, name, type, help);
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
statsprom_value(FILE *fp, const char *name, const char *help, const char *type,
    uint64_t value)
{
	statsprom_family(fp, name, type, help);
	fprintf(fp, "%s %" PRIu64 "\n", name, value);
}

/* Print the metrics on the master: whether it runs, its start, reloads. */
static void
statsprom_master(FILE *fp, const struct statsnap *sn)
{
	statsprom_value(fp, "pfhttpd_up",
	    "1 if the master that writes the segment runs, 0 if the numbers "
	    "are stale.",
	    "gauge", sn->sn_stale == STATSNAP_LIVE);
	statsprom_value(fp, "pfhttpd_start_time_seconds",
	    "Start time of the master, unix seconds.", "gauge",
	    sn->sn_start_time);
	statsprom_value(fp, "pfhttpd_generation",
	    "Configuration generation, bumped on each reload.", "gauge",
	    sn->sn_generation);
	statsprom_value(fp, "pfhttpd_reloads_failed_total",
	    "Reloads that failed and changed nothing.", "counter",
	    sn->sn_reloads_failed);
}

/* Print the responses family: one sample per status code that occurred. */
static void
statsprom_responses(FILE *fp, const struct shm_counters *t)
{
	int code;

	statsprom_family(fp, "pfhttpd_responses_total", "counter",
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
statsprom_totals(FILE *fp, const struct shm_counters *t)
{
	statsprom_value(fp, "pfhttpd_connections_accepted_total",
	    "Connections accepted.", "counter", t->sc_conn_accepted);
	statsprom_value(fp, "pfhttpd_connections_active",
	    "Connections open now.", "gauge", t->sc_conn_active);
	statsprom_value(fp, "pfhttpd_requests_total", "Requests answered.",
	    "counter", t->sc_requests);
	statsprom_responses(fp, t);
	statsprom_value(fp, "pfhttpd_bytes_in_total", "Request bytes read.",
	    "counter", t->sc_bytes_in);
	statsprom_value(fp, "pfhttpd_bytes_out_total", "Response bytes sent.",
	    "counter", t->sc_bytes_out);
}

/* Print the access log counters: queued, written, dropped, the backlog. */
static void
statsprom_log(FILE *fp, const struct statsnap *sn)
{
	statsprom_value(fp, "pfhttpd_log_records_queued_total",
	    "Access log records the workers put in the log rings.", "counter",
	    sn->sn_total.sc_log_queued);
	statsprom_value(fp, "pfhttpd_log_lines_written_total",
	    "Access log lines the logger wrote to the access log.", "counter",
	    sn->sn_log_written);
	statsprom_value(fp, "pfhttpd_log_records_dropped_total",
	    "Access log records dropped because a log ring was full.",
	    "counter", sn->sn_total.sc_log_dropped);
	statsprom_value(fp, "pfhttpd_log_records_discarded_total",
	    "Access log records the logger took but could not write (no "
	    "access log, or the write failed).",
	    "counter", sn->sn_log_discarded);
	statsprom_value(fp, "pfhttpd_log_records_pending",
	    "Access log records queued and not yet written or discarded: the "
	    "logger's backlog.",
	    "gauge", statsnap_log_pending(sn));
}

/* Print the TLS handshakes, done by kind and failed by class. */
static void
statsprom_tls(FILE *fp, const struct shm_counters *t)
{
	uint32_t i;

	statsprom_family(fp, "pfhttpd_tls_handshakes_total", "counter",
	    "TLS handshakes done, in full or resuming a session.");
	fprintf(fp,
	    "pfhttpd_tls_handshakes_total{kind=\"full\"} %" PRIu64 "\n"
	    "pfhttpd_tls_handshakes_total{kind=\"resumed\"} %" PRIu64 "\n",
	    t->sc_tls_full, t->sc_tls_resumed);
	statsprom_family(fp, "pfhttpd_tls_handshake_failures_total", "counter",
	    "TLS handshakes that failed, by class.");
	for (i = 0; i < SHM_TLS_FAIL_CLASSES; i++)
		fprintf(fp,
		    "pfhttpd_tls_handshake_failures_total{class=\"%s\"} "
		    "%" PRIu64 "\n",
		    statsnap_tls_fail_class[i], t->sc_tls_failed[i]);
	statsprom_family(fp, "pfhttpd_tls_errors_total", "counter",
	    "Connections a TLS error ended after the handshake.");
	fprintf(fp, "pfhttpd_tls_errors_total %" PRIu64 "\n", t->sc_tls_errors);
	statsprom_family(fp, "pfhttpd_tls_renegotiations_refused_total",
	    "counter", "TLS renegotiations refused.");
	fprintf(fp, "pfhttpd_tls_renegotiations_refused_total %" PRIu64 "\n",
	    t->sc_tls_renegotiations);
}

/* Print the per-client-address limit counters. */
static void
statsprom_limits(FILE *fp, const struct shm_counters *t)
{
	statsprom_family(fp, "pfhttpd_limit_refused_total", "counter",
	    "Answered 429: over a per-client-address limit, by limit.");
	fprintf(fp,
	    "pfhttpd_limit_refused_total{limit=\"connections\"} %" PRIu64
	    "\npfhttpd_limit_refused_total{limit=\"rate\"} %" PRIu64 "\n",
	    t->sc_limit_conn_refused, t->sc_limit_rate_refused);
	statsprom_family(fp, "pfhttpd_limit_untracked_total", "counter",
	    "Connections or requests not limited: the address table was "
	    "full.");
	fprintf(fp, "pfhttpd_limit_untracked_total %" PRIu64 "\n",
	    t->sc_limit_untracked);
}

/* Print the Basic authentication counters. */
static void
statsprom_auth(FILE *fp, const struct shm_counters *t)
{
	statsprom_family(fp, "pfhttpd_auth_hashed_total", "counter",
	    "Passwords hashed with crypt_r to verify Basic credentials.");
	fprintf(
	    fp, "pfhttpd_auth_hashed_total %" PRIu64 "\n", t->sc_auth_hashed);
	statsprom_family(fp, "pfhttpd_auth_cached_total", "counter",
	    "Basic credentials a worker's cache judged without a hash.");
	fprintf(
	    fp, "pfhttpd_auth_cached_total %" PRIu64 "\n", t->sc_auth_cached);
	statsprom_family(fp, "pfhttpd_auth_refused_total", "counter",
	    "Answered 401: no, malformed or wrong Basic credentials.");
	fprintf(
	    fp, "pfhttpd_auth_refused_total %" PRIu64 "\n", t->sc_auth_refused);
}

/* Print the WebSocket counters, closes by close code class included. */
static void
statsprom_websocket(FILE *fp, const struct shm_counters *t)
{
	uint32_t i;

	statsprom_value(fp, "pfhttpd_websocket_upgrades_total",
	    "WebSocket handshakes completed.", "counter", t->sc_ws_upgrades);
	statsprom_value(fp, "pfhttpd_websocket_open",
	    "WebSocket connections open now.", "gauge", t->sc_ws_open);
	statsprom_value(fp, "pfhttpd_websocket_messages_in_total",
	    "WebSocket messages received.", "counter", t->sc_ws_messages_in);
	statsprom_value(fp, "pfhttpd_websocket_messages_out_total",
	    "WebSocket messages sent.", "counter", t->sc_ws_messages_out);
	statsprom_value(fp, "pfhttpd_websocket_bytes_in_total",
	    "WebSocket message payload bytes received.", "counter",
	    t->sc_ws_bytes_in);
	statsprom_value(fp, "pfhttpd_websocket_bytes_out_total",
	    "WebSocket message payload bytes sent.", "counter",
	    t->sc_ws_bytes_out);
	statsprom_family(fp, "pfhttpd_websocket_closes_total", "counter",
	    "WebSocket closes by close code class.");
	for (i = 0; i < SHM_WS_CLOSE_CLASSES; i++)
		fprintf(fp,
		    "pfhttpd_websocket_closes_total{class=\"%s\"} %" PRIu64
		    "\n",
		    statsnap_close_class[i], t->sc_ws_closes[i]);
}

/* Print the chat hub's metrics: whether it runs, rooms, events, requests. */
static void
statsprom_chat_hub(FILE *fp, const struct statsnap *sn)
{
	const struct statsnap_chat *ct = &sn->sn_chat;

	statsprom_value(fp, "pfhttpd_chat_hub_up",
	    "1 if a chat hub runs (and the master does).", "gauge",
	    ct->ct_hub_pid != 0 && sn->sn_stale == STATSNAP_LIVE);
	statsprom_value(fp, "pfhttpd_chat_hub_restarts_total",
	    "Chat hubs started after the first (the master restarts a hub "
	    "that dies).",
	    "counter", statsnap_chat_restarts(ct));
	statsprom_value(fp, "pfhttpd_chat_rooms",
	    "Chat rooms with at least one member.", "gauge", ct->ct_rooms);
	statsprom_value(fp, "pfhttpd_chat_members",
	    "Members of all chat rooms.", "gauge", ct->ct_members);
	statsprom_value(fp, "pfhttpd_chat_events_total",
	    "Chat events sequenced by the hub.", "counter", ct->ct_events);
	statsprom_value(fp, "pfhttpd_chat_hub_requests_total",
	    "Chat requests the hub took from the workers.", "counter",
	    ct->ct_requests);
	statsprom_value(fp, "pfhttpd_chat_hub_refused_total",
	    "Chat requests the hub answered with an error.", "counter",
	    ct->ct_refused);
	statsprom_family(fp, "pfhttpd_chat_last_event_time_seconds", "gauge",
	    "Unix time of the last chat event; no sample if none.");
	if (ct->ct_last_event != 0)
		fprintf(fp,
		    "pfhttpd_chat_last_event_time_seconds %" PRIu64
		    ".%03" PRIu64 "\n",
		    ct->ct_last_event / 1000, ct->ct_last_event % 1000);
}

/* Print an age family: seconds from when (unix ms) to the read, if any. */
static void
statsprom_age(FILE *fp, const struct statsnap *sn, const char *name,
    const char *help, uint64_t when)
{
	uint64_t ms;

	statsprom_family(fp, name, "gauge", help);
	if (statsnap_age_ms(sn, when, &ms) == 0)
		fprintf(fp, "%s %" PRIu64 ".%03" PRIu64 "\n", name, ms / 1000,
		    ms % 1000);
}

/* Print the state of the hub's link to Redis: 1 for it, 0 for the others. */
static void
statsprom_redis_state(FILE *fp, const struct statsnap *sn)
{
	const struct statsnap_redis *rs = &sn->sn_chat.ct_redis;
	uint64_t s;

	statsprom_family(fp, "pfhttpd_chat_redis_state", "gauge",
	    "State of the chat hub's link to Redis: 1 for the one it is in.");
	for (s = SHM_REDIS_OFF; s <= SHM_REDIS_DOWN; s++)
		fprintf(fp, "pfhttpd_chat_redis_state{state=\"%s\"} %d\n",
		    statsnap_redis_state_name(s), rs->rs_state == s);
	statsprom_age(fp, sn, "pfhttpd_chat_redis_state_age_seconds",
	    "Seconds since the link to Redis took its state; no sample if it "
	    "never did.",
	    rs->rs_since);
}

/*
 * Print the metrics of the hub's link to Redis ([chat] redis), always:
 * the state "off" and zeros on one machine.
 */
static void
statsprom_redis(FILE *fp, const struct statsnap *sn)
{
	const struct statsnap_redis *rs = &sn->sn_chat.ct_redis;

	statsprom_redis_state(fp, sn);
	statsprom_value(fp, "pfhttpd_chat_redis_connects_total",
	    "Connections made to Redis.", "counter", rs->rs_connects);
	statsprom_value(fp, "pfhttpd_chat_redis_failures_total",
	    "Links to Redis lost, and connects that failed.", "counter",
	    rs->rs_failures);
	statsprom_value(fp, "pfhttpd_chat_redis_published_total",
	    "Chat events Redis took from this hub.", "counter",
	    rs->rs_published);
	statsprom_value(fp, "pfhttpd_chat_redis_applied_total",
	    "Chat events read back from Redis and sequenced.", "counter",
	    rs->rs_applied);
	statsprom_value(fp, "pfhttpd_chat_redis_unavailable_total",
	    "Chat requests refused because Redis was unreachable.", "counter",
	    rs->rs_unavailable);
	statsprom_value(fp, "pfhttpd_chat_redis_inflight",
	    "Events published to Redis and awaiting its reply.", "gauge",
	    rs->rs_inflight);
	statsprom_age(fp, sn, "pfhttpd_chat_redis_last_event_age_seconds",
	    "Seconds since the hub last read an event from Redis; no sample "
	    "if none.",
	    rs->rs_last_event);
	statsprom_value(fp, "pfhttpd_chat_redis_skipped_total",
	    "Sequence numbers a Redis stream no longer had.", "counter",
	    rs->rs_skipped);
	statsprom_value(fp, "pfhttpd_chat_redis_reseeds_total",
	    "Rooms written back into a Redis that came back empty.", "counter",
	    rs->rs_reseeds);
}

/* Print the workers' chat metrics: clients, deliveries, refusals, losses. */
static void
statsprom_chat_workers(FILE *fp, const struct shm_counters *t)
{
	statsprom_family(fp, "pfhttpd_chat_clients", "gauge",
	    "Chat clients the workers hold, by transport.");
	fprintf(fp,
	    "pfhttpd_chat_clients{transport=\"websocket\"} %" PRIu64 "\n"
	    "pfhttpd_chat_clients{transport=\"telnet\"} %" PRIu64 "\n",
	    t->sc_chat_members_ws, t->sc_chat_members_telnet);
	statsprom_value(fp, "pfhttpd_chat_requests_total",
	    "Chat requests the workers handed to the hub.", "counter",
	    t->sc_chat_in);
	statsprom_value(fp, "pfhttpd_chat_unavailable_total",
	    "Chat requests refused because the ring to the hub was full.",
	    "counter", t->sc_chat_unavailable);
	statsprom_value(fp, "pfhttpd_chat_deliveries_total",
	    "Chat events queued to a client.", "counter",
	    t->sc_chat_deliveries);
	statsprom_value(fp, "pfhttpd_chat_rate_limited_total",
	    "Chat messages refused for the rate limit.", "counter",
	    t->sc_chat_rate_limited);
	statsprom_value(fp, "pfhttpd_chat_oversize_total",
	    "Chat messages refused for their length.", "counter",
	    t->sc_chat_oversize);
	statsprom_value(fp, "pfhttpd_chat_refused_total",
	    "Chat messages refused: bad UTF-8, nick or command.", "counter",
	    t->sc_chat_refused);
	statsprom_value(fp, "pfhttpd_chat_slow_closed_total",
	    "Chat clients closed for output they did not read.", "counter",
	    t->sc_chat_slow_closed);
	statsprom_value(fp, "pfhttpd_chat_gaps_total",
	    "Times the broadcast ring lapped a worker.", "counter",
	    t->sc_chat_gaps);
	statsprom_value(fp, "pfhttpd_chat_missed_total",
	    "Chat events lost to laps, counted per room.", "counter",
	    t->sc_chat_missed);
}

/*
 * Print the request duration histogram. Bucket i holds [2^i, 2^(i+1)) us:
 * le of bucket i is 2^(i+1) us. The last bucket also holds longer
 * durations, so only +Inf bounds it.
 */
static void
statsprom_latency(FILE *fp, const struct shm_counters *t)
{
	uint64_t cum = 0;
	char le[32];
	uint32_t i;

	statsprom_family(fp, "pfhttpd_request_duration_seconds", "histogram",
	    "Request durations from log2 buckets; _sum is estimated from "
	    "the bucket midpoints.");
	for (i = 0; i < SHM_LATENCY_BUCKETS - 1; i++) {
		cum += t->sc_latency[i];
		statsprom_fmt_le((uint64_t)1 << (i + 1), le, sizeof(le));
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
	    statsnap_hist_sum(t->sc_latency));
	fprintf(
	    fp, "pfhttpd_request_duration_seconds_count %" PRIu64 "\n", cum);
}

/* Print each running worker's chat lag, when it is known. */
static void
statsprom_chat_lag(FILE *fp, const struct statsnap *sn)
{
	const struct statsnap_worker *sw;
	uint64_t lag;
	uint32_t i;

	statsprom_family(fp, "pfhttpd_chat_worker_lag_events", "gauge",
	    "Chat events a running worker has still to read from the "
	    "broadcast ring; no sample while it starts.");
	for (i = 0; i < sn->sn_nworkers; i++) {
		sw = &sn->sn_workers[i];
		if (statsnap_chat_lag(sn, sw, &lag) == -1)
			continue;
		fprintf(fp,
		    "pfhttpd_chat_worker_lag_events{slot=\"%" PRIu32
		    "\",pid=\"%" PRIu64 "\"} %" PRIu64 "\n",
		    sw->sw_slot, sw->sw_pid, lag);
	}
}

/* Print the per-worker families; exited slots are only in the totals. */
static void
statsprom_workers(FILE *fp, const struct statsnap *sn)
{
	statsprom_worker_family(fp, sn, "pfhttpd_worker_requests_total",
	    "counter", "Requests answered by a running worker.",
	    offsetof(struct statsnap_worker, sw_requests));
	statsprom_worker_family(fp, sn, "pfhttpd_worker_bytes_out_total",
	    "counter", "Response bytes sent by a running worker.",
	    offsetof(struct statsnap_worker, sw_bytes_out));
	statsprom_worker_family(fp, sn, "pfhttpd_worker_connections_active",
	    "gauge", "Connections open now in a running worker.",
	    offsetof(struct statsnap_worker, sw_conn_active));
	statsprom_worker_family(fp, sn, "pfhttpd_worker_tls_handshakes_total",
	    "counter",
	    "TLS handshakes done (in full or resumed) by a running worker.",
	    offsetof(struct statsnap_worker, sw_tls_done));
}

/* Print the report in the Prometheus text exposition format 0.0.4. */
void
statsprom_print(FILE *fp, const struct statsnap *sn)
{
	statsprom_master(fp, sn);
	statsprom_totals(fp, &sn->sn_total);
	statsprom_log(fp, sn);
	statsprom_tls(fp, &sn->sn_total);
	statsprom_limits(fp, &sn->sn_total);
	statsprom_auth(fp, &sn->sn_total);
	statsprom_websocket(fp, &sn->sn_total);
	statsprom_chat_hub(fp, sn);
	statsprom_chat_workers(fp, &sn->sn_total);
	statsprom_redis(fp, sn);
	statsprom_latency(fp, &sn->sn_total);
	statsprom_workers(fp, sn);
	statsprom_chat_lag(fp, sn);
}
