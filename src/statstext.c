/*
 * The text report of a snapshot (statsdump's default): a few lines of
 * totals, one line per worker slot, and the rooms when they were read.
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

#define STATSTEXT_RESP_LINE 6 /* status codes per line */

/* Return the text that says a segment is stale, and why. */
static const char *
statstext_stale_text(enum statsnap_stale stale)
{
	if (stale == STATSNAP_REUSED)
		return "STALE: master PID is gone, these numbers are the "
		       "last it wrote (another program has that pid now)";
	return "STALE: master PID is gone, these numbers are the last it "
	       "wrote";
}

/* Format a duration in microseconds with a unit that suits it. */
static void
statstext_fmt_usec(uint64_t usec, char *buf, size_t len)
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
statstext_fmt_uptime(uint64_t secs, char *buf, size_t len)
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
statstext_fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)t);
}

/* Print the text report's line on the logger: its pid, its last write. */
static void
statstext_logger(FILE *fp, const struct statsnap *sn)
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
statstext_header(FILE *fp, const char *path, const struct statsnap *sn)
{
	char when[64], up[64];

	statstext_fmt_time(sn->sn_now, when, sizeof(when));
	fprintf(fp, "pfhttpd %s at %s: master %" PRIu64 ", ", path, when,
	    sn->sn_master_pid);
	if (sn->sn_stale == STATSNAP_LIVE) {
		statstext_fmt_uptime(statsnap_uptime(sn), up, sizeof(up));
		fprintf(fp, "running, up %s", up);
	} else {
		statstext_fmt_time((time_t)sn->sn_start_time, up, sizeof(up));
		fprintf(fp, "%s; started %s",
		    statstext_stale_text(sn->sn_stale), up);
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
statstext_totals(
    FILE *fp, const struct shm_counters *t, const struct statsnap_rate *rt)
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
statstext_log(FILE *fp, const struct statsnap *sn)
{
	fprintf(fp,
	    "log records  queued %" PRIu64 "  written %" PRIu64
	    "  dropped %" PRIu64 "  discarded %" PRIu64 "  pending %" PRIu64
	    "\n",
	    sn->sn_total.sc_log_queued, sn->sn_log_written,
	    sn->sn_total.sc_log_dropped, sn->sn_log_discarded,
	    statsnap_log_pending(sn));
}

/*
 * Print the text report's TLS lines: handshakes done in full or resumed
 * (with the share resumed, once there is one), then failed, by class.
 */
static void
statstext_tls(FILE *fp, const struct shm_counters *t)
{
	double ratio;
	uint32_t i;

	fprintf(fp,
	    "tls          handshakes full %" PRIu64 "  resumed %" PRIu64,
	    t->sc_tls_full, t->sc_tls_resumed);
	if (statsnap_tls_resumed_ratio(t, &ratio) == 0)
		fprintf(fp, " (%.1f%%)", ratio * 100);
	fprintf(fp, "  failed %" PRIu64 "\ntls failed  ",
	    statsnap_tls_failed(t->sc_tls_failed));
	for (i = 0; i < SHM_TLS_FAIL_CLASSES; i++)
		fprintf(fp, "%s%s %" PRIu64, i == 0 ? " " : "  ",
		    statsnap_tls_fail_class[i], t->sc_tls_failed[i]);
	fprintf(fp,
	    "\ntls after    errors %" PRIu64 "  renegotiations refused %" PRIu64
	    "\n",
	    t->sc_tls_errors, t->sc_tls_renegotiations);
}

/* Print the text report's line of per-client-address refusals. */
static void
statstext_limits(FILE *fp, const struct shm_counters *t)
{
	fprintf(fp,
	    "limits       connections refused %" PRIu64
	    "  requests refused %" PRIu64 "  untracked %" PRIu64 "\n",
	    t->sc_limit_conn_refused, t->sc_limit_rate_refused,
	    t->sc_limit_untracked);
}

/* Print the text report's line of Basic authentication. */
static void
statstext_auth(FILE *fp, const struct shm_counters *t)
{
	fprintf(fp,
	    "auth         hashed %" PRIu64 "  cached %" PRIu64
	    "  refused %" PRIu64 "\n",
	    t->sc_auth_hashed, t->sc_auth_cached, t->sc_auth_refused);
}

/* Print the text report's WebSocket line. */
static void
statstext_websocket(FILE *fp, const struct shm_counters *t)
{
	fprintf(fp,
	    "websocket    upgrades %" PRIu64 "  open %" PRIu64
	    "  messages in %" PRIu64 "  out %" PRIu64 "\n",
	    t->sc_ws_upgrades, t->sc_ws_open, t->sc_ws_messages_in,
	    t->sc_ws_messages_out);
}

/* Print the text report's line on the chat hub: pid, restarts, last event. */
static void
statstext_chat_hub(FILE *fp, const struct statsnap *sn)
{
	const struct statsnap_chat *ct = &sn->sn_chat;
	uint64_t ago = 0, last = ct->ct_last_event / 1000;

	if (ct->ct_hub_pid != 0)
		fprintf(fp, "chat hub     pid %" PRIu64, ct->ct_hub_pid);
	else
		fprintf(fp, "chat hub     not running");
	fprintf(fp, ", restarts %" PRIu64 ", last event ",
	    statsnap_chat_restarts(ct));
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
statstext_chat_events(
    FILE *fp, const struct statsnap *sn, const struct statsnap_rate *rt)
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
statstext_chat(
    FILE *fp, const struct statsnap *sn, const struct statsnap_rate *rt)
{
	const struct statsnap_chat *ct = &sn->sn_chat;
	const struct shm_counters *t = &sn->sn_total;

	statstext_chat_hub(fp, sn);
	fprintf(fp,
	    "chat         rooms %" PRIu64 "  members %" PRIu64
	    " (websocket %" PRIu64 "  telnet %" PRIu64 ")\n",
	    ct->ct_rooms, ct->ct_members, t->sc_chat_members_ws,
	    t->sc_chat_members_telnet);
	statstext_chat_events(fp, sn, rt);
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

/*
 * Print the text report's two lines on the hub's link to Redis: its
 * state, for how long, the connections and the last event read; then
 * the events through it. Always, "off" without [chat] redis.
 */
static void
statstext_redis(FILE *fp, const struct statsnap *sn)
{
	const struct statsnap_redis *rs = &sn->sn_chat.ct_redis;
	uint64_t ms;

	fprintf(fp, "redis        %s", statsnap_redis_state_name(rs->rs_state));
	if (statsnap_age_ms(sn, rs->rs_since, &ms) == 0)
		fprintf(fp, " for %" PRIu64 " s", ms / 1000);
	fprintf(fp, ", connects %" PRIu64 ", failures %" PRIu64 ", last event ",
	    rs->rs_connects, rs->rs_failures);
	if (statsnap_age_ms(sn, rs->rs_last_event, &ms) == 0)
		fprintf(fp, "%" PRIu64 " s ago\n", ms / 1000);
	else
		fprintf(fp, "never\n");
	fprintf(fp,
	    "redis events published %" PRIu64 "  applied %" PRIu64
	    "  inflight %" PRIu64 "  unavailable %" PRIu64 "  skipped %" PRIu64
	    "  reseeds %" PRIu64 "\n",
	    rs->rs_published, rs->rs_applied, rs->rs_inflight,
	    rs->rs_unavailable, rs->rs_skipped, rs->rs_reseeds);
}

/* Print the text report's responses by status code, a few per line. */
static void
statstext_responses(FILE *fp, const struct shm_counters *t)
{
	int code, n;

	fprintf(fp, "responses   ");
	for (code = 0, n = 0; code < SHM_STATUS_MAX; code++) {
		if (t->sc_responses[code] == 0)
			continue;
		if (n > 0 && n % STATSTEXT_RESP_LINE == 0)
			fprintf(fp, "\n            ");
		fprintf(fp, "%s%d: %" PRIu64,
		    n % STATSTEXT_RESP_LINE == 0 ? " " : "  ", code,
		    t->sc_responses[code]);
		n++;
	}
	fprintf(fp, "%s\n", n == 0 ? " none" : "");
}

/* Print the text report's latency percentiles. */
static void
statstext_latency(FILE *fp, const struct shm_counters *t)
{
	static const unsigned pct[3] = {500, 900, 990};
	char lat[32];
	uint64_t usec;
	uint32_t i;

	fprintf(fp, "latency     ");
	if (statsnap_hist_count(t->sc_latency) == 0)
		fprintf(fp, " no requests timed");
	for (i = 0; i < 3; i++) {
		if (statsnap_percentile(t->sc_latency, pct[i], &usec) == -1)
			break;
		statstext_fmt_usec(usec, lat, sizeof(lat));
		fprintf(
		    fp, "%sp%u <= %s", i == 0 ? " " : "  ", pct[i] / 10, lat);
	}
	fputc('\n', fp);
}

/* Print the text report's worker table, one row per slot in use. */
static void
statstext_workers(FILE *fp, const struct statsnap *sn)
{
	const struct statsnap_worker *sw;
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
		    statsnap_state_name(sw->sw_state), sw->sw_conn_active,
		    sw->sw_requests, sw->sw_bytes_out);
		if (statsnap_chat_lag(sn, sw, &lag) == 0)
			fprintf(fp, " %8" PRIu64 "\n", lag);
		else
			fprintf(fp, " %8s\n", "-");
	}
}

/* Print the text report's chat rooms with members (--rooms), by name. */
static void
statstext_rooms(FILE *fp, const struct statsnap *sn)
{
	const struct statsnap_room *ro;
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
void
statstext_print(FILE *fp, const char *path, const struct statsnap *sn,
    const struct statsnap_rate *rt)
{
	statstext_header(fp, path, sn);
	statstext_totals(fp, &sn->sn_total, rt);
	statstext_log(fp, sn);
	statstext_logger(fp, sn);
	statstext_tls(fp, &sn->sn_total);
	statstext_limits(fp, &sn->sn_total);
	statstext_auth(fp, &sn->sn_total);
	statstext_websocket(fp, &sn->sn_total);
	statstext_chat(fp, sn, rt);
	statstext_redis(fp, sn);
	statstext_responses(fp, &sn->sn_total);
	statstext_latency(fp, &sn->sn_total);
	fputc('\n', fp);
	statstext_workers(fp, sn);
	if (sn->sn_rooms != NULL) {
		fputc('\n', fp);
		statstext_rooms(fp, sn);
	}
}
