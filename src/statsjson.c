/*
 * The JSON report of a snapshot (statsdump --json): one object on one
 * line.
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

/* Print s as a JSON string (bytes above 0x7f pass through as they are). */
static void
statsjson_string(FILE *fp, const char *s)
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
statsjson_percentile(
    FILE *fp, const char *name, const uint64_t *b, unsigned permille)
{
	uint64_t usec;

	if (statsnap_percentile(b, permille, &usec) == -1)
		fprintf(fp, "\"%s\":null", name);
	else
		fprintf(fp, "\"%s\":%" PRIu64, name, usec);
}

/*
 * Format unix milliseconds as RFC 3339 in UTC, "2026-12-05T21:07:04.123Z",
 * NUL-terminated, in buf of at least HTTPDATE_RFC3339_LEN(3) + 1 bytes.
 * Return -1 if the time is not in the years 0000-9999.
 */
static int
statsjson_fmt_rfc3339(uint64_t ms, char *buf)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year > 9999 - 1900)
		return -1;
	buf[httpdate_rfc3339(&tm, (unsigned long)(ms % 1000), 3, buf)] = '\0';
	return 0;
}

/* Print the JSON report's opening and its fields on the master. */
static void
statsjson_header(FILE *fp, const char *path, const struct statsnap *sn)
{
	fprintf(fp, "{\"shm_path\":");
	statsjson_string(fp, path);
	fprintf(fp,
	    ",\"time\":%lld,\"master_pid\":%" PRIu64 ",\"stale\":%s,"
	    "\"start_time\":%" PRIu64 ",\"uptime_seconds\":%" PRIu64
	    ",\"generation\":%" PRIu64 ",\"reloads_failed\":%" PRIu64
	    ",\"totals_torn\":%s",
	    (long long)sn->sn_now, sn->sn_master_pid,
	    sn->sn_stale != STATSNAP_LIVE ? "true" : "false", sn->sn_start_time,
	    statsnap_uptime(sn), sn->sn_generation, sn->sn_reloads_failed,
	    sn->sn_torn ? "true" : "false");
}

/* Print the JSON report's connection, request and byte totals and rates. */
static void
statsjson_totals(
    FILE *fp, const struct shm_counters *t, const struct statsnap_rate *rt)
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
statsjson_responses(FILE *fp, const struct shm_counters *t)
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
statsjson_log(FILE *fp, const struct statsnap *sn)
{
	fprintf(fp,
	    ",\"log\":{\"queued\":%" PRIu64 ",\"written\":%" PRIu64
	    ",\"dropped\":%" PRIu64 ",\"discarded\":%" PRIu64
	    ",\"pending\":%" PRIu64 ",\"logger_pid\":%" PRIu64
	    ",\"last_write\":",
	    sn->sn_total.sc_log_queued, sn->sn_log_written,
	    sn->sn_total.sc_log_dropped, sn->sn_log_discarded,
	    statsnap_log_pending(sn), sn->sn_logger_pid);
	if (sn->sn_logger_wrote == 0)
		fprintf(fp, "null}");
	else
		fprintf(fp, "%" PRIu64 "}", sn->sn_logger_wrote);
}

/* Print the JSON report's tls object: handshakes, failures by class. */
static void
statsjson_tls(FILE *fp, const struct shm_counters *t)
{
	double ratio;
	uint32_t i;

	fprintf(fp, ",\"tls\":{\"full\":%" PRIu64 ",\"resumed\":%" PRIu64,
	    t->sc_tls_full, t->sc_tls_resumed);
	if (statsnap_tls_resumed_ratio(t, &ratio) == 0)
		fprintf(fp, ",\"resumed_ratio\":%.3f", ratio);
	else
		fprintf(fp, ",\"resumed_ratio\":null");
	fprintf(fp, ",\"failed\":{");
	for (i = 0; i < SHM_TLS_FAIL_CLASSES; i++)
		fprintf(fp, "%s\"%s\":%" PRIu64, i == 0 ? "" : ",",
		    statsnap_tls_fail_class[i], t->sc_tls_failed[i]);
	fprintf(fp,
	    "},\"errors\":%" PRIu64 ",\"renegotiations_refused\":%" PRIu64 "}",
	    t->sc_tls_errors, t->sc_tls_renegotiations);
}

/* Print the JSON report's limits object: per-client-address refusals. */
static void
statsjson_limits(FILE *fp, const struct shm_counters *t)
{
	fprintf(fp,
	    ",\"limits\":{\"connections_refused\":%" PRIu64
	    ",\"requests_refused\":%" PRIu64 ",\"untracked\":%" PRIu64 "}",
	    t->sc_limit_conn_refused, t->sc_limit_rate_refused,
	    t->sc_limit_untracked);
}

/* Print the JSON report's auth object: Basic authentication. */
static void
statsjson_auth(FILE *fp, const struct shm_counters *t)
{
	fprintf(fp,
	    ",\"auth\":{\"hashed\":%" PRIu64 ",\"cached\":%" PRIu64
	    ",\"refused\":%" PRIu64 "}",
	    t->sc_auth_hashed, t->sc_auth_cached, t->sc_auth_refused);
}

/* Print the JSON report's websocket object, closes by class included. */
static void
statsjson_websocket(FILE *fp, const struct shm_counters *t)
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
		    statsnap_close_class[i], t->sc_ws_closes[i]);
	fprintf(fp, "}}");
}

/* Print the JSON chat object's counters. */
static void
statsjson_chat_counts(FILE *fp, const struct statsnap *sn)
{
	const struct statsnap_chat *ct = &sn->sn_chat;
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
statsjson_chat_hub(
    FILE *fp, const struct statsnap *sn, const struct statsnap_rate *rt)
{
	const struct statsnap_chat *ct = &sn->sn_chat;
	char when[HTTPDATE_RFC3339_LEN(3) + 1];

	fprintf(fp, ",\"hub_pid\":%" PRIu64 ",\"hub_restarts\":%" PRIu64,
	    ct->ct_hub_pid, statsnap_chat_restarts(ct));
	if (ct->ct_last_event == 0 ||
	    statsjson_fmt_rfc3339(ct->ct_last_event, when) == -1)
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
statsjson_rooms(FILE *fp, const struct statsnap *sn)
{
	const struct statsnap_room *ro;
	uint32_t i;

	fprintf(fp, ",\"room_list\":[");
	for (i = 0; i < sn->sn_nrooms; i++) {
		ro = &sn->sn_rooms[i];
		fprintf(fp, "%s{\"name\":", i == 0 ? "" : ",");
		statsjson_string(fp, ro->ro_name);
		fprintf(fp,
		    ",\"members\":%" PRIu64 ",\"last_seq\":%" PRIu64 "}",
		    ro->ro_members, ro->ro_seq);
	}
	fputc(']', fp);
}

/* Print "name": the seconds from when (unix ms) to the read, or null. */
static void
statsjson_age(
    FILE *fp, const char *name, const struct statsnap *sn, uint64_t when)
{
	uint64_t ms;

	if (statsnap_age_ms(sn, when, &ms) == -1)
		fprintf(fp, ",\"%s\":null", name);
	else
		fprintf(fp, ",\"%s\":%" PRIu64 ".%03" PRIu64, name, ms / 1000,
		    ms % 1000);
}

/* Print the JSON chat object's redis object: the hub's link to Redis. */
static void
statsjson_redis(FILE *fp, const struct statsnap *sn)
{
	const struct statsnap_redis *rs = &sn->sn_chat.ct_redis;

	fprintf(fp, ",\"redis\":{\"state\":\"%s\"",
	    statsnap_redis_state_name(rs->rs_state));
	statsjson_age(fp, "state_seconds", sn, rs->rs_since);
	fprintf(fp,
	    ",\"connects\":%" PRIu64 ",\"failures\":%" PRIu64
	    ",\"published\":%" PRIu64 ",\"applied\":%" PRIu64
	    ",\"unavailable\":%" PRIu64 ",\"inflight\":%" PRIu64,
	    rs->rs_connects, rs->rs_failures, rs->rs_published, rs->rs_applied,
	    rs->rs_unavailable, rs->rs_inflight);
	statsjson_age(fp, "last_event_seconds", sn, rs->rs_last_event);
	fprintf(fp, ",\"skipped\":%" PRIu64 ",\"reseeds\":%" PRIu64 "}",
	    rs->rs_skipped, rs->rs_reseeds);
}

/* Print the JSON report's chat object, with the rooms after --rooms. */
static void
statsjson_chat(
    FILE *fp, const struct statsnap *sn, const struct statsnap_rate *rt)
{
	fprintf(fp, ",\"chat\":{");
	statsjson_chat_counts(fp, sn);
	statsjson_chat_hub(fp, sn, rt);
	statsjson_redis(fp, sn);
	if (sn->sn_rooms != NULL)
		statsjson_rooms(fp, sn);
	fputc('}', fp);
}

/* Print a JSON worker's chat members and lag (null if unknown). */
static void
statsjson_worker_chat(
    FILE *fp, const struct statsnap *sn, const struct statsnap_worker *sw)
{
	uint64_t lag;

	fprintf(fp, ",\"chat_members\":%" PRIu64, sw->sw_chat_members);
	if (statsnap_chat_lag(sn, sw, &lag) == 0)
		fprintf(fp, ",\"chat_lag\":%" PRIu64, lag);
	else
		fprintf(fp, ",\"chat_lag\":null");
}

/* Print a JSON worker's TLS handshakes: full, resumed, failed. */
static void
statsjson_worker_tls(FILE *fp, const struct statsnap_worker *sw)
{
	fprintf(fp,
	    ",\"tls_full\":%" PRIu64 ",\"tls_resumed\":%" PRIu64
	    ",\"tls_failed\":%" PRIu64,
	    sw->sw_tls_full, sw->sw_tls_resumed, sw->sw_tls_failed);
}

/* Print the JSON report's latency percentiles and histogram buckets. */
static void
statsjson_latency(FILE *fp, const struct shm_counters *t)
{
	uint32_t i;

	fprintf(fp, ",\"latency_us\":{");
	statsjson_percentile(fp, "p50", t->sc_latency, 500);
	fputc(',', fp);
	statsjson_percentile(fp, "p90", t->sc_latency, 900);
	fputc(',', fp);
	statsjson_percentile(fp, "p99", t->sc_latency, 990);
	fprintf(fp, "},\"latency_histogram\":[");
	for (i = 0; i < SHM_LATENCY_BUCKETS; i++)
		fprintf(fp, "%s%" PRIu64, i == 0 ? "" : ",", t->sc_latency[i]);
	fputc(']', fp);
}

/* Print the JSON report's workers array, one object per slot in use. */
static void
statsjson_workers(FILE *fp, const struct statsnap *sn)
{
	const struct statsnap_worker *sw;
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
		    sw->sw_generation, statsnap_state_name(sw->sw_state),
		    sw->sw_started, sw->sw_conn_accepted, sw->sw_conn_active,
		    sw->sw_requests, sw->sw_bytes_in, sw->sw_bytes_out);
		statsjson_worker_chat(fp, sn, sw);
		statsjson_worker_tls(fp, sw);
		fputc('}', fp);
	}
	fputc(']', fp);
}

/* Print the report as one JSON object on one line. */
void
statsjson_print(FILE *fp, const char *path, const struct statsnap *sn,
    const struct statsnap_rate *rt)
{
	statsjson_header(fp, path, sn);
	statsjson_totals(fp, &sn->sn_total, rt);
	statsjson_responses(fp, &sn->sn_total);
	statsjson_log(fp, sn);
	statsjson_tls(fp, &sn->sn_total);
	statsjson_limits(fp, &sn->sn_total);
	statsjson_auth(fp, &sn->sn_total);
	statsjson_websocket(fp, &sn->sn_total);
	statsjson_chat(fp, sn, rt);
	statsjson_latency(fp, &sn->sn_total);
	statsjson_workers(fp, sn);
	fprintf(fp, "}\n");
}
