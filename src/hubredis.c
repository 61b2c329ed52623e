/*
 * The chat hub's link to Redis ([chat] redis): rooms shared by several
 * pfhttpd instances. Only the hub talks to Redis (hiredis, its libevent
 * adapter, on the hub's event base); workers are fed through the
 * broadcast ring as on one machine.
 *
 * Keys (P is [chat] redis_prefix; the braces keep a room's keys in one
 * cluster slot):
 *	P:{ROOM}	a stream: one entry per event, ID "<seq>-0",
 *			fields as chatredis.c writes them
 *	P:{ROOM}:m	a hash: s, the room's last sequence number
 *	P:epoch		a random value naming the data set: a Redis that
 *			comes back without it came back empty
 *
 * Publishing: the hub sends each event to the publish script (below),
 * which gives it the room's next sequence number and appends it to the
 * stream, atomically; nothing is delivered here yet. Reading: a second
 * connection waits in XREAD BLOCK on the streams of the rooms with
 * members here, from the last sequence number applied to each; the hub
 * sequences what comes (hub_apply()) whichever instance sent it. So
 * every instance delivers a room's events in one order with the same
 * numbers, a number at or below the last applied is skipped (never
 * delivered twice), and after any outage reading resumes where it
 * stopped: nothing that reached Redis is missed while the stream still
 * holds it ([chat] redis_stream_length).
 *
 * A room that gets its first member here is followed: loaded with its
 * newest [chat] history entries (XREVRANGE) if the hub holds none of it,
 * then read. A room whose members all left is no longer read.
 *
 * Publishes are pipelined on one connection (Redis runs them in order)
 * and are answered in order, so the ones awaiting a reply are a FIFO
 * queue: each remembers its event, to tell its client when it failed
 * (hub_unpublished(): `unavailable`, or a welcome without an event for a
 * join). At most HR_INFLIGHT_MAX await a reply; the hub stops taking
 * requests at that bound (hubredis_busy()) and its rings buffer.
 *
 * hiredis 0.14 has no timeouts and no reconnection: a connect must
 * succeed within HR_CONNECT_MS and a reply come within HR_REPLY_MS (an
 * XREAD: its block time more), checked on the hub's timer; a link that
 * fails is dropped and made again after a back-off from HR_BACKOFF_MIN
 * doubling to HR_BACKOFF_MAX. While either link is down, requests that
 * would publish are refused at once. A publish whose fate is unknown (its
 * link broke before the reply) is told to its client as not sent,
 * though Redis may have taken it: if so, it is delivered all the same.
 *
 * A Redis that came back empty (no persistence, or FLUSHALL) is found at
 * connect by its epoch: the hub writes each room's history back (the
 * re-seed script, a no-op where Redis holds as much) before publishing
 * again, so no room's numbers go back; the epoch is the hub's once every
 * re-seed is in. The publish script also refuses an event for a room
 * whose number in Redis is below the hub's (its floor: the room was lost
 * alone, or the epoch key was kept): that room is re-seeded at once, and
 * the refused event told as not sent. The scripts take a room's number
 * from its stream's last ID when the hash is missing or wrong, and
 * Redis's IDs above CHATREDIS_SEQ_MAX are refused, so nothing written
 * into Redis by hand can take a number back or make one wrap.
 *
 * Leaves that cannot be published wait (hubredis_defer()) and go out
 * once the link is back.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "pfhttpd.h"
#include "shm.h"

#define HR_CONNECT_MS	1000   /* a connect takes at most */
#define HR_REPLY_MS	2000   /* a reply takes at most (but XREAD's) */
#define HR_BLOCK_MS	5000   /* XREAD BLOCK */
#define HR_BACKOFF_MIN	100    /* ms before the first retry */
#define HR_BACKOFF_MAX	5000   /* ms between retries, at most */
#define HR_INFLIGHT_MAX 4096   /* publishes awaiting a reply */
#define HR_READ_COUNT	"1024" /* entries per stream per XREAD */
#define HR_KEY_MAX	(CHAT_NAME_MAX + CHAT_NAME_MAX + 8)
#define HR_EVENT_ARGS	(2 + CHATREDIS_ARGS) /* a re-seeded event's */
#define HR_DEFER_MAX	1024		     /* leaves waiting for the link */

_Static_assert(sizeof(uintptr_t) >= 8, "a room and its epoch in a pointer");

/*
 * The start of both scripts: s, the room's last number, from its meta
 * hash (KEYS[2]) unless that is missing, not an integer, out of range or
 * below the stream's (KEYS[1]) last ID, which then stands: a hash lost,
 * evicted or written by hand cannot take a number back.
 */
#define HR_LUA_LAST                                                            \
	"local s = tonumber(redis.call('HGET', KEYS[2], 's')) or 0\n"          \
	"local t = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)\n"   \
	"t = #t > 0 and tonumber(string.match(t[1][1], '^(%d+)')) or 0\n"      \
	"if s ~= s or s % 1 ~= 0 or s > 9007199254740991 or s < t then\n"      \
	"  s = t\n"                                                            \
	"end\n"

/*
 * publish: KEYS stream, meta; ARGV maxlen, floor (the hub's last applied
 * number), then the entry's fields. Returns the event's number; -1 if
 * Redis holds less of the room than the hub has seen (re-seed it first);
 * -2 if the room's numbers are exhausted (CHATREDIS_SEQ_MAX). The entry
 * goes in before the hash, so a failing XADD changes nothing.
 */
static const char hr_publish_lua[] =
    HR_LUA_LAST "if s < tonumber(ARGV[2]) then return -1 end\n"
		"if s >= 9007199254740991 then return -2 end\n"
		"s = s + 1\n"
		"redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1],"
		" string.format('%d-0', s), unpack(ARGV, 3))\n"
		"redis.call('HSET', KEYS[2], 's', s)\n"
		"return s\n";

/*
 * re-seed: KEYS stream, meta; ARGV maxlen, the hub's last number, then
 * per event (ascending): its number, its count of field strings, the
 * fields. Adds the events above what Redis holds (another instance may
 * have published first); returns 1 if it wrote, 0 if Redis held as much
 * already (a bad hash is set right then).
 */
static const char hr_reseed_lua[] =
    HR_LUA_LAST "local last = tonumber(ARGV[2])\n"
		"if s >= last then\n"
		"  if tonumber(redis.call('HGET', KEYS[2], 's')) ~= s then\n"
		"    redis.call('HSET', KEYS[2], 's', s)\n"
		"  end\n"
		"  return 0\n"
		"end\n"
		"local i = 3\n"
		"while i <= #ARGV do\n"
		"  local seq, n = tonumber(ARGV[i]), tonumber(ARGV[i + 1])\n"
		"  if seq > s then\n"
		"    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1],"
		" string.format('%d-0', seq), unpack(ARGV, i + 2, i + 1 + n))\n"
		"  end\n"
		"  i = i + 2 + n\n"
		"end\n"
		"redis.call('HSET', KEYS[2], 's', last)\n"
		"return 1\n";

/* A room as the link sees it (hr_room[]): valid for one rm_epoch. */
enum hr_room_state {
	HR_ROOM_IDLE = 0, /* not read: no members here */
	HR_ROOM_LOADING,  /* its newest entries asked for */
	HR_ROOM_FOLLOWED, /* read by XREAD */
	HR_ROOM_BROKEN,	  /* its stream cannot be read (hr_room_broken()) */
};

struct hr_room {
	uint32_t ro_epoch;    /* the rm_epoch ro_state is for */
	uint8_t ro_state;     /* enum hr_room_state */
	uint8_t ro_reseeding; /* a re-seed of it awaits its reply */
};

/* One connection to Redis. */
struct hr_link {
	const char *hl_name;	  /* "publish" or "read", for the log */
	redisAsyncContext *hl_ac; /* NULL: none */
	int hl_connected;	  /* its connect callback said OK */
	struct event *hl_retry;	  /* the back-off timer */
	struct event *hl_kill;	  /* drop it, outside hiredis's calls */
	unsigned hl_backoff;	  /* ms until the next try */
	uint64_t hl_pending;	  /* commands awaiting a reply */
	uint64_t hl_progress;	  /* monotonic ms: the last reply or send */
	char hl_why[160];	  /* why it was last lost */
};

/* The link's state. */
static struct {
	const struct config *hr_cf;
	struct shm_header *hr_sh;
	struct shm_chat_redis *hr_rd;
	struct event_base *hr_base;
	struct redis_addr hr_addr;
	char hr_name[160];	/* the address, for the log */
	struct hr_link hr_pub;	/* publishes, loads, re-seeds */
	struct hr_link hr_read; /* XREAD alone */
	int hr_ready;		/* hr_pub: scripts loaded, epoch known */
	uint64_t hr_epoch_new;	/* the epoch read, stored once re-seeded */
	int hr_warned;		/* a publish error was logged */
	unsigned hr_seeding;	/* the epoch's re-seeds awaiting replies */
	int hr_seed_failed;	/* ... and one of them failed */
	int hr_starting;	/* neither up nor down yet since the start:
				   the hub holds its requests meanwhile */
	int hr_stopping;	/* hubredis_stop() */
	int hr_stopped;		/* ... and both links are gone */
	long long hr_reader_id; /* CLIENT ID of hr_read, -1: not known */
	int hr_reading;		/* an XREAD is out */
	int hr_unblocking;	/* a CLIENT UNBLOCK of it is out */
	int hr_reread;		/* the rooms read changed since it left */
	char hr_sha_publish[41];
	char hr_sha_reseed[41];
	struct hr_room *hr_room; /* per room table entry */
	uint32_t hr_nrooms;
	struct chat_out *hr_queue; /* publishes awaiting a reply, a ring */
	size_t hr_qhead, hr_qlen;
	struct chat_out *hr_defer; /* leaves refused, to publish later */
	size_t hr_dhead, hr_dlen;
	int hr_logged_state; /* the state last logged */
} hr;

static void hr_connect(struct hr_link *hl);
static void hr_read_issue(void);
static void hr_defer_flush(void);
static void hr_reread(void);

/* Return the monotonic clock, ms. */
static uint64_t
hr_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Add n to a counter of the link's shared state. */
static void
hr_count(uint64_t *counter, int64_t n)
{
	__atomic_store_n(counter,
	    __atomic_load_n(counter, __ATOMIC_RELAXED) + (uint64_t)n,
	    __ATOMIC_RELAXED);
}

/* Return 64 random bits, never 0. */
static uint64_t
hr_random64(void)
{
	uint64_t v = 0;

	while (v == 0)
		if (getrandom(&v, sizeof(v), 0) != sizeof(v))
			fatal("getrandom");
	return v;
}

/* Work out the state from both links; publish and log a change. */
static void
hr_state_update(void)
{
	struct shm_chat_redis *rd = hr.hr_rd;
	uint64_t state;

	if (hr.hr_ready && hr.hr_reader_id >= 0)
		state = SHM_REDIS_UP;
	else if (evtimer_pending(hr.hr_pub.hl_retry, NULL) ||
	    evtimer_pending(hr.hr_read.hl_retry, NULL))
		state = SHM_REDIS_DOWN;
	else
		state = SHM_REDIS_CONNECTING;
	if (state != SHM_REDIS_CONNECTING && hr.hr_starting) {
		hr.hr_starting = 0;
		hub_redis_resume();
	}
	if (__atomic_load_n(&rd->rd_state, __ATOMIC_RELAXED) == state)
		return;
	__atomic_store_n(&rd->rd_since, hub_now_ms(), __ATOMIC_RELAXED);
	__atomic_store_n(&rd->rd_state, state, __ATOMIC_RELAXED);
	if (state == SHM_REDIS_UP)
		log_info("redis %s: up; rooms are shared", hr.hr_name);
	else if (state == SHM_REDIS_DOWN &&
	    hr.hr_logged_state != SHM_REDIS_DOWN)
		log_warnx("redis %s: down (%s link: %s); chat messages are "
			  "refused until it is back",
		    hr.hr_name,
		    evtimer_pending(hr.hr_pub.hl_retry, NULL)
			? hr.hr_pub.hl_name
			: hr.hr_read.hl_name,
		    evtimer_pending(hr.hr_pub.hl_retry, NULL)
			? hr.hr_pub.hl_why
			: hr.hr_read.hl_why);
	if (state != SHM_REDIS_CONNECTING)
		hr.hr_logged_state = (int)state;
}

/* Return room r's link state, reset if the entry became another room. */
static struct hr_room *
hr_room_at(uint32_t r)
{
	struct hr_room *ro = &hr.hr_room[r];
	uint32_t epoch = shm_chat_room(hr.hr_sh, r)->rm_epoch;

	if (ro->ro_epoch != epoch) {
		ro->ro_epoch = epoch;
		ro->ro_state = HR_ROOM_IDLE;
	}
	return ro;
}

/* Room r as it is now (its entry and epoch), as a callback's argument. */
static void *
hr_room_tag(uint32_t r)
{
	uint64_t epoch = shm_chat_room(hr.hr_sh, r)->rm_epoch;

	return (void *)(uintptr_t)(epoch << 32 | r);
}

/*
 * The room a callback's argument names, if its entry is still that room
 * (not made another since), or SHM_CHAT_NONE.
 */
static uint32_t
hr_room_untag(void *tag)
{
	uint64_t v = (uint64_t)(uintptr_t)tag;
	uint32_t r = (uint32_t)v;

	if (r >= hr.hr_nrooms ||
	    shm_chat_room(hr.hr_sh, r)->rm_epoch != (uint32_t)(v >> 32))
		return SHM_CHAT_NONE;
	return r;
}

/* Write room r's stream key (or, with meta, its hash key) into buf. */
static void
hr_key(uint32_t r, int meta, char *buf, size_t len)
{
	snprintf(buf, len, "%s:{%s}%s", hr.hr_cf->cf_chat_redis_prefix,
	    shm_chat_room(hr.hr_sh, r)->rm_name, meta ? ":m" : "");
}

/*
 * Return the room a stream key names, if it is a room here, or
 * SHM_CHAT_NONE.
 */
static uint32_t
hr_key_room(const char *key, size_t len)
{
	const char *prefix = hr.hr_cf->cf_chat_redis_prefix;
	size_t plen = strlen(prefix), n;
	const struct shm_chat_room *rm;
	uint32_t r;

	if (len < plen + 4 || memcmp(key, prefix, plen) != 0 ||
	    memcmp(key + plen, ":{", 2) != 0 || key[len - 1] != '}')
		return SHM_CHAT_NONE;
	key += plen + 2;
	n = len - plen - 3;
	for (r = 0; r < hr.hr_nrooms; r++) {
		rm = shm_chat_room(hr.hr_sh, r);
		if (rm->rm_used && strlen(rm->rm_name) == n &&
		    memcmp(rm->rm_name, key, n) == 0)
			return r;
	}
	return SHM_CHAT_NONE;
}

/* ------------------------------------------------------------------ */
/* Links: connect, send, time out, drop, retry */

/* Count a reply in on hl. */
static void
hr_reply_in(struct hr_link *hl)
{
	if (hl->hl_pending > 0)
		hl->hl_pending--;
	hl->hl_progress = hr_mono_ms();
}

/* Send a command on hl; 0, or -1 if hiredis refused it. */
static int
hr_send(struct hr_link *hl, redisCallbackFn *fn, void *priv, int argc,
    const char **argv, const size_t *lens)
{
	if (hl->hl_ac == NULL ||
	    redisAsyncCommandArgv(hl->hl_ac, fn, priv, argc, argv, lens) !=
		REDIS_OK)
		return -1;
	if (hl->hl_pending++ == 0)
		hl->hl_progress = hr_mono_ms();
	return 0;
}

/* Send a command of NUL-terminated strings on hl; 0 or -1. */
static int
hr_sendv(struct hr_link *hl, redisCallbackFn *fn, void *priv, int argc,
    const char **argv)
{
	size_t lens[8];
	int i;

	for (i = 0; i < argc && i < 8; i++)
		lens[i] = strlen(argv[i]);
	return hr_send(hl, fn, priv, argc, argv, lens);
}

/* Once stopping and both links are gone, tell the hub, once. */
static void
hr_stopped_maybe(void)
{
	if (hr.hr_stopped || hr.hr_pub.hl_ac != NULL ||
	    hr.hr_read.hl_ac != NULL)
		return;
	hr.hr_stopped = 1;
	hub_redis_stopped();
}

/*
 * hl is gone (hiredis freed its context, or it never was): what was
 * waiting on it failed already (callbacks with no reply). Try again
 * after the back-off, unless stopping.
 */
static void
hr_lost(struct hr_link *hl)
{
	struct timeval tv;

	hl->hl_ac = NULL;
	hl->hl_connected = 0;
	hl->hl_pending = 0;
	if (hl == &hr.hr_pub) {
		hr.hr_ready = 0;
		hr.hr_unblocking = 0;
		hr.hr_seeding = 0; /* not all in: the next connect re-seeds */
	} else {
		hr.hr_reader_id = -1;
		hr.hr_reading = 0;
	}
	if (hr.hr_stopping) {
		hr_stopped_maybe();
		return;
	}
	hr_count(&hr.hr_rd->rd_failures, 1);
	tv.tv_sec = hl->hl_backoff / 1000;
	tv.tv_usec = (hl->hl_backoff % 1000) * 1000;
	evtimer_add(hl->hl_retry, &tv);
	hl->hl_backoff = hl->hl_backoff * 2 > HR_BACKOFF_MAX
	    ? HR_BACKOFF_MAX
	    : hl->hl_backoff * 2;
	hr_state_update();
}

/* Drop hl now (not from inside a hiredis callback), saying why. */
static void
hr_drop(struct hr_link *hl, const char *why)
{
	redisAsyncContext *ac = hl->hl_ac;
	int connected = hl->hl_connected;

	if (ac == NULL)
		return;
	snprintf(hl->hl_why, sizeof(hl->hl_why), "%s", why);
	redisAsyncFree(ac); /* its callbacks run, with no reply */
	if (!connected || hl->hl_ac == ac)
		hr_lost(hl); /* no disconnect callback came */
}

/* Drop hl once the current hiredis callback is over. */
static void
hr_drop_later(struct hr_link *hl, const char *why)
{
	snprintf(hl->hl_why, sizeof(hl->hl_why), "%s", why);
	event_active(hl->hl_kill, EV_TIMEOUT, 0);
}

/* The kill event: drop the link a callback asked to drop. */
static void
hr_kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hr_link *hl = arg;
	char why[sizeof(hl->hl_why)];

	(void)fd;
	(void)what;
	memcpy(why, hl->hl_why, sizeof(why));
	hr_drop(hl, why);
}

/* The back-off timer: connect again. */
static void
hr_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	hr_connect(arg);
}

/* hiredis: hl's connect finished, or failed. */
static void
hr_connect_cb(const redisAsyncContext *ac, int status)
{
	struct hr_link *hl = ac->data;

	if (status != REDIS_OK) {
		snprintf(hl->hl_why, sizeof(hl->hl_why), "connect: %s",
		    ac->c.errstr[0] != '\0' ? ac->c.errstr : ac->errstr);
		hr_lost(hl); /* hiredis frees ac */
		return;
	}
	hl->hl_connected = 1;
	hl->hl_progress = hr_mono_ms();
	hr_count(&hr.hr_rd->rd_connects, 1);
}

/* hiredis: hl's connection closed (lost, or dropped by the hub). */
static void
hr_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct hr_link *hl = ac->data;

	if (status != REDIS_OK && ac->errstr[0] != '\0')
		snprintf(hl->hl_why, sizeof(hl->hl_why), "%s", ac->errstr);
	hr_lost(hl);
}

/* hl's first commands: the publish link's, or the read link's. */
static void hr_greet(struct hr_link *hl);

/* Connect hl, and queue its first commands. */
static void
hr_connect(struct hr_link *hl)
{
	redisAsyncContext *ac;

	if (hr.hr_stopping)
		return;
	ac = hr.hr_addr.ra_path[0] != '\0'
	    ? redisAsyncConnectUnix(hr.hr_addr.ra_path)
	    : redisAsyncConnect(hr.hr_addr.ra_host, hr.hr_addr.ra_port);
	if (ac == NULL || ac->err) {
		snprintf(hl->hl_why, sizeof(hl->hl_why), "connect: %s",
		    ac != NULL ? ac->errstr : strerror(ENOMEM));
		if (ac != NULL)
			redisAsyncFree(ac);
		hr_lost(hl);
		return;
	}
	ac->data = hl;
	if (redisLibeventAttach(ac, hr.hr_base) != REDIS_OK) {
		redisAsyncFree(ac);
		snprintf(hl->hl_why, sizeof(hl->hl_why), "cannot attach");
		hr_lost(hl);
		return;
	}
	redisAsyncSetConnectCallback(ac, hr_connect_cb);
	redisAsyncSetDisconnectCallback(ac, hr_disconnect_cb);
	hl->hl_ac = ac;
	hl->hl_connected = 0;
	hl->hl_pending = 0;
	hl->hl_progress = hr_mono_ms();
	hr_greet(hl);
	hr_state_update();
}

/* Drop a link that has waited too long for its connect or a reply. */
static void
hr_watch(struct hr_link *hl, uint64_t now)
{
	uint64_t limit = HR_REPLY_MS;

	if (hl->hl_ac == NULL)
		return;
	if (!hl->hl_connected) {
		if (now - hl->hl_progress > HR_CONNECT_MS)
			hr_drop(hl, "connect timed out");
		return;
	}
	if (hl == &hr.hr_read && hr.hr_reading)
		limit += HR_BLOCK_MS;
	if (hl->hl_pending > 0 && now - hl->hl_progress > limit)
		hr_drop(hl, "no reply in time");
}

/* ------------------------------------------------------------------ */
/* Applying what Redis holds */

/*
 * Apply entry (ID, fields) of room r's stream: skipped if at or below
 * what the room has. With counted, numbers it jumps over are counted as
 * skipped (the stream was trimmed past them while followed). 0, or -1 if
 * its ID is no sequence number (not of pfhttpd's, or past
 * CHATREDIS_SEQ_MAX): nothing after it can be read.
 */
static int
hr_apply_entry(uint32_t r, const redisReply *en, int counted)
{
	const struct shm_chat_room *rm = shm_chat_room(hr.hr_sh, r);
	const char *argv[CHATREDIS_ARGS + 8];
	size_t lens[CHATREDIS_ARGS + 8], i, n;
	struct chatredis_entry ce;
	struct chat_out out;
	const redisReply *f;
	uint64_t seq;

	if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
	    en->element[0]->type != REDIS_REPLY_STRING ||
	    en->element[1]->type != REDIS_REPLY_ARRAY ||
	    chatredis_id_seq(en->element[0]->str, en->element[0]->len, &seq) ==
		-1)
		return -1;
	if (seq <= rm->rm_seq)
		return 0;
	if (counted && rm->rm_seq > 0 && seq > rm->rm_seq + 1)
		hr_count(
		    &hr.hr_rd->rd_skipped, (int64_t)(seq - rm->rm_seq - 1));
	f = en->element[1];
	for (i = n = 0; i < f->elements && n < sizeof(lens) / sizeof(lens[0]);
	     i++) {
		if (f->element[i]->type != REDIS_REPLY_STRING)
			break;
		argv[n] = f->element[i]->str;
		lens[n++] = f->element[i]->len;
	}
	ce.re_room = rm->rm_name;
	ce.re_seq = seq;
	ce.re_instance = hr.hr_rd->rd_instance;
	ce.re_max_text = (size_t)hr.hr_cf->cf_chat_max_message;
	if (i != f->elements ||
	    chatredis_decode(argv, lens, n, &ce, &out) == -1) {
		log_warnx("redis: room %s, entry %" PRIu64
			  " is not a chat event; skipped",
		    rm->rm_name, seq);
		hr_count(&hr.hr_rd->rd_skipped, 1);
		hub_apply_none(r, seq);
		return 0;
	}
	hub_apply(r, &out);
	hr_count(&hr.hr_rd->rd_applied, 1);
	__atomic_store_n(
	    &hr.hr_rd->rd_last_event, hub_now_ms(), __ATOMIC_RELAXED);
	return 0;
}

/*
 * Room r's stream holds an entry that is no event of a number (written by
 * hand): reading it again would loop; the room is not read any more here
 * until its entry becomes another room (its messages are refused: the
 * publish script cannot number them either).
 */
static void
hr_room_broken(uint32_t r)
{
	struct hr_room *ro = hr_room_at(r);

	if (ro->ro_state == HR_ROOM_BROKEN)
		return;
	ro->ro_state = HR_ROOM_BROKEN;
	log_warnx("redis: room %s: its stream has an ID that is no sequence "
		  "number (above %llu?); the room is not read",
	    shm_chat_room(hr.hr_sh, r)->rm_name,
	    (unsigned long long)CHATREDIS_SEQ_MAX);
}

/* The read link's XREAD came back: apply it all, then read again. */
static void
hr_read_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	const redisReply *rp = reply, *st;
	size_t i, j;
	uint32_t r;

	(void)ac;
	(void)priv;
	hr_reply_in(&hr.hr_read);
	hr.hr_reading = 0;
	if (rp == NULL)
		return; /* the link is going */
	if (rp->type == REDIS_REPLY_ERROR &&
	    strncmp(rp->str, "UNBLOCKED", 9) != 0) {
		log_warnx("redis: XREAD: %s", rp->str);
		hr_drop_later(&hr.hr_read, "XREAD failed");
		return;
	}
	for (i = 0; rp->type == REDIS_REPLY_ARRAY && i < rp->elements; i++) {
		st = rp->element[i];
		if (st->type != REDIS_REPLY_ARRAY || st->elements != 2 ||
		    st->element[0]->type != REDIS_REPLY_STRING ||
		    st->element[1]->type != REDIS_REPLY_ARRAY ||
		    (r = hr_key_room(st->element[0]->str,
			 st->element[0]->len)) == SHM_CHAT_NONE)
			continue;
		for (j = 0; j < st->element[1]->elements; j++)
			if (hr_apply_entry(r, st->element[1]->element[j], 1) ==
			    -1) {
				hr_room_broken(r);
				break;
			}
	}
	hub_redis_applied();
	hr_read_issue();
}

/* Tell whether room r is read (followed, with members here). */
static int
hr_room_read(uint32_t r)
{
	const struct shm_chat_room *rm = shm_chat_room(hr.hr_sh, r);

	return rm->rm_used && rm->rm_members > 0 &&
	    hr_room_at(r)->ro_state == HR_ROOM_FOLLOWED;
}

/* Send XREAD for every room read here, each from its last number. */
static void
hr_read_issue(void)
{
	static const char *const head[] = {
	    "XREAD", "COUNT", HR_READ_COUNT, "BLOCK", NULL, "STREAMS"};
	char block[16], (*keys)[HR_KEY_MAX], (*ids)[24];
	const char **argv;
	size_t *lens, n = 0, i, argc;
	uint32_t r;

	if (hr.hr_reading || hr.hr_reader_id < 0 || hr.hr_stopping)
		return;
	for (r = 0; r < hr.hr_nrooms; r++)
		n += (size_t)hr_room_read(r);
	if (n == 0)
		return;
	argc = 6 + 2 * n;
	keys = calloc(n, sizeof(*keys));
	ids = calloc(n, sizeof(*ids));
	argv = calloc(argc, sizeof(*argv));
	lens = calloc(argc, sizeof(*lens));
	if (keys == NULL || ids == NULL || argv == NULL || lens == NULL)
		fatal("calloc");
	snprintf(block, sizeof(block), "%d", HR_BLOCK_MS);
	for (i = 0; i < 6; i++)
		argv[i] = head[i] != NULL ? head[i] : block;
	for (r = 0, i = 0; r < hr.hr_nrooms && i < n; r++) {
		if (!hr_room_read(r))
			continue;
		hr_key(r, 0, keys[i], sizeof(keys[i]));
		snprintf(ids[i], sizeof(ids[i]), "%" PRIu64 "-0",
		    shm_chat_room(hr.hr_sh, r)->rm_seq);
		argv[6 + i] = keys[i];
		argv[6 + n + i] = ids[i];
		i++;
	}
	for (i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	if (hr_send(&hr.hr_read, hr_read_cb, NULL, (int)argc, argv, lens) ==
	    0) {
		hr.hr_reading = 1;
		hr.hr_reread = 0;
	}
	free(keys);
	free(ids);
	free(argv);
	free(lens);
}

/* The CLIENT UNBLOCK of the read link came back. */
static void
hr_unblock_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	(void)ac;
	(void)reply;
	(void)priv;
	hr_reply_in(&hr.hr_pub);
	hr.hr_unblocking = 0;
	if (hr.hr_reread && hr.hr_reading)
		hr_reread(); /* rooms followed since it was sent */
}

/*
 * The rooms read changed: read them now, or wake the XREAD that waits
 * (it comes back empty and is sent again with them).
 */
static void
hr_reread(void)
{
	char id[24];
	const char *argv[3] = {"CLIENT", "UNBLOCK", id};

	if (!hr.hr_reading) {
		hr_read_issue();
		return;
	}
	hr.hr_reread = 1;
	if (hr.hr_unblocking || !hr.hr_ready || hr.hr_reader_id < 0)
		return;
	snprintf(id, sizeof(id), "%lld", hr.hr_reader_id);
	if (hr_sendv(&hr.hr_pub, hr_unblock_cb, NULL, 3, argv) == 0)
		hr.hr_unblocking = 1;
}

/* The newest entries of a room came back (XREVRANGE): apply them. */
static void
hr_load_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	const redisReply *rp = reply;
	uint32_t r = hr_room_untag(priv);
	struct hr_room *ro;
	size_t i;

	(void)ac;
	hr_reply_in(&hr.hr_pub);
	if (r == SHM_CHAT_NONE)
		return; /* its entry is another room now */
	ro = hr_room_at(r);
	if (ro->ro_state != HR_ROOM_LOADING)
		return;
	if (rp == NULL) {
		ro->ro_state = HR_ROOM_IDLE; /* loaded again once back */
		return;
	}
	if (rp->type != REDIS_REPLY_ARRAY) {
		log_warnx("redis: loading room %s: %s",
		    shm_chat_room(hr.hr_sh, r)->rm_name,
		    rp->type == REDIS_REPLY_ERROR ? rp->str : "bad reply");
		ro->ro_state = HR_ROOM_IDLE;
		return;
	}
	ro->ro_state = HR_ROOM_FOLLOWED;
	for (i = rp->elements; i-- > 0;)
		if (hr_apply_entry(r, rp->element[i], 0) == -1)
			hr_room_broken(r);
	hub_redis_applied();
	hr_reread();
}

/*
 * Follow room r: read it from its last number, or load its newest
 * entries first if the hub holds none of it.
 */
static void
hr_follow(uint32_t r)
{
	struct hr_room *ro = hr_room_at(r);
	char key[HR_KEY_MAX], count[24];
	const char *argv[6] = {"XREVRANGE", key, "+", "-", "COUNT", count};

	if (ro->ro_state != HR_ROOM_IDLE || !hr.hr_ready)
		return;
	if (shm_chat_room(hr.hr_sh, r)->rm_seq > 0) {
		ro->ro_state = HR_ROOM_FOLLOWED;
		hr_reread();
		return;
	}
	hr_key(r, 0, key, sizeof(key));
	snprintf(count, sizeof(count), "%lld", hr.hr_cf->cf_chat_history);
	if (hr_sendv(&hr.hr_pub, hr_load_cb, hr_room_tag(r), 6, argv) == 0)
		ro->ro_state = HR_ROOM_LOADING;
}

/* Follow every room with members here (the link just became ready). */
static void
hr_follow_all(void)
{
	uint32_t r;

	for (r = 0; r < hr.hr_nrooms; r++)
		if (shm_chat_room(hr.hr_sh, r)->rm_used &&
		    shm_chat_room(hr.hr_sh, r)->rm_members > 0)
			hr_follow(r);
	hr_reread();
}

/* ------------------------------------------------------------------ */
/* Re-seeding an empty Redis */

/*
 * The re-seed script came back for a room: count it if it wrote. The
 * first replies are those of the re-seeds of a new data set: once all
 * are in without an error, its epoch is the hub's (so a link lost before
 * then re-seeds again).
 */
static void
hr_reseed_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	const redisReply *rp = reply;
	uint32_t r = hr_room_untag(priv);
	int ok;

	(void)ac;
	hr_reply_in(&hr.hr_pub);
	if (rp == NULL)
		return;
	if (r != SHM_CHAT_NONE)
		hr_room_at(r)->ro_reseeding = 0;
	ok = rp->type == REDIS_REPLY_INTEGER;
	if (ok && rp->integer == 1)
		hr_count(&hr.hr_rd->rd_reseeds, 1);
	else if (!ok)
		log_warnx("redis: re-seeding a room: %s",
		    rp->type == REDIS_REPLY_ERROR ? rp->str : "bad reply");
	if (hr.hr_seeding == 0)
		return;
	hr.hr_seed_failed |= !ok;
	if (--hr.hr_seeding == 0 && !hr.hr_seed_failed)
		__atomic_store_n(
		    &hr.hr_rd->rd_epoch, hr.hr_epoch_new, __ATOMIC_RELAXED);
}

/* A history entry of room r re-seeded: its number, field count, fields. */
struct hr_seed {
	char hs_seq[24];
	char hs_n[8];
	struct chat_out hs_out; /* the event: hs_f points into it */
	struct chatredis_fields hs_f;
};

/*
 * Add history entry seq of room r to the re-seed command being built
 * (argv/lens at *argc); 1 if added, 0 if the entry does not hold it.
 */
static int
hr_seed_entry(uint32_t r, uint64_t seq, struct hr_seed *hs, const char **argv,
    size_t *lens, size_t *argc)
{
	const struct shm_chat_entry *he = shm_chat_entry(hr.hr_sh, r, seq);
	struct chat_out *out = &hs->hs_out;
	int i, n;

	if (he->he_seq != seq ||
	    chatmsg_out_decode(he + 1, he->he_len, out) == -1 ||
	    out->co_kind != CHATOUT_EVENT)
		return 0;
	out->co_slot = out->co_pid = 0;
	out->co_conn = 0;
	out->co_member = UINT32_MAX;
	out->co_flags = 0;
	n = chatredis_encode(out, 0, &hs->hs_f);
	snprintf(hs->hs_seq, sizeof(hs->hs_seq), "%" PRIu64, seq);
	snprintf(hs->hs_n, sizeof(hs->hs_n), "%d", n);
	argv[*argc] = hs->hs_seq;
	lens[(*argc)++] = strlen(hs->hs_seq);
	argv[*argc] = hs->hs_n;
	lens[(*argc)++] = strlen(hs->hs_n);
	for (i = 0; i < n; i++) {
		argv[*argc] = hs->hs_f.cf_argv[i];
		lens[(*argc)++] = hs->hs_f.cf_len[i];
	}
	return 1;
}

/*
 * Write room r's history back into Redis (a no-op if it has as much); 0
 * if sent, -1 if not.
 */
static int
hr_reseed_room(uint32_t r)
{
	const struct shm_chat_room *rm = shm_chat_room(hr.hr_sh, r);
	uint64_t hist = (uint64_t)hr.hr_cf->cf_chat_history, last = rm->rm_seq;
	uint64_t from = last > hist ? last - hist + 1 : 1, seq;
	char key[HR_KEY_MAX], meta[HR_KEY_MAX], maxlen[24], lastbuf[24];
	size_t argc = 0, max = 7 + (size_t)hist * HR_EVENT_ARGS;
	struct hr_seed *seeds;
	const char **argv;
	size_t *lens;
	int rc;

	seeds = calloc((size_t)hist, sizeof(*seeds));
	argv = calloc(max, sizeof(*argv));
	lens = calloc(max, sizeof(*lens));
	if (seeds == NULL || argv == NULL || lens == NULL)
		fatal("calloc");
	hr_key(r, 0, key, sizeof(key));
	hr_key(r, 1, meta, sizeof(meta));
	snprintf(maxlen, sizeof(maxlen), "%lld",
	    hr.hr_cf->cf_chat_redis_stream_length);
	snprintf(lastbuf, sizeof(lastbuf), "%" PRIu64, last);
	argv[argc++] = "EVALSHA";
	argv[argc++] = hr.hr_sha_reseed;
	argv[argc++] = "2";
	argv[argc++] = key;
	argv[argc++] = meta;
	argv[argc++] = maxlen;
	argv[argc++] = lastbuf;
	for (seq = from; seq <= last; seq++)
		hr_seed_entry(r, seq, &seeds[seq - from], argv, lens, &argc);
	for (size_t i = 0; i < 7; i++)
		lens[i] = strlen(argv[i]);
	rc = hr_send(
	    &hr.hr_pub, hr_reseed_cb, hr_room_tag(r), (int)argc, argv, lens);
	if (rc == 0)
		hr_room_at(r)->ro_reseeding = 1;
	free(seeds);
	free(argv);
	free(lens);
	return rc;
}

/*
 * Re-seed every room the hub has numbers for: the re-seeds of a new data
 * set, counted in hr_seeding.
 */
static void
hr_reseed_all(void)
{
	uint32_t r;

	hr.hr_seeding = 0;
	hr.hr_seed_failed = 0;
	for (r = 0; r < hr.hr_nrooms; r++)
		if (shm_chat_room(hr.hr_sh, r)->rm_used &&
		    shm_chat_room(hr.hr_sh, r)->rm_seq > 0 &&
		    hr_reseed_room(r) == 0)
			hr.hr_seeding++;
}

/* ------------------------------------------------------------------ */
/* Bringing the links up */

/* A SCRIPT LOAD came back: keep its SHA1 (priv: where). */
static void
hr_script_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	const redisReply *rp = reply;
	char *sha = priv;

	(void)ac;
	hr_reply_in(&hr.hr_pub);
	if (rp == NULL)
		return;
	if (rp->type != REDIS_REPLY_STRING || rp->len != 40) {
		log_warnx("redis: SCRIPT LOAD: %s",
		    rp->type == REDIS_REPLY_ERROR ? rp->str : "bad reply");
		hr_drop_later(&hr.hr_pub, "SCRIPT LOAD failed");
		return;
	}
	memcpy(sha, rp->str, 40);
	sha[40] = '\0';
}

/* A reply only counted (SET NX of the epoch). */
static void
hr_count_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	(void)ac;
	(void)reply;
	hr_reply_in(priv);
}

/* Parse an epoch, 16 lowercase hex digits and not 0, into *v; 0 or -1. */
static int
hr_epoch_parse(const redisReply *rp, uint64_t *v)
{
	if (rp->type != REDIS_REPLY_STRING || rp->len != 16 ||
	    chatredis_hex16(rp->str, v) == -1)
		return -1;
	return *v == 0 ? -1 : 0;
}

/*
 * The data set's epoch came back (the last of the publish link's first
 * commands): re-seed if Redis is not the one the hub last worked with
 * (rd_epoch, stored once the re-seeds are in), then the link is ready;
 * follow the rooms. An epoch that is not one of pfhttpd's (written by
 * hand) is not taken: every connect re-seeds, which writes nothing where
 * Redis holds as much.
 */
static void
hr_epoch_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	const redisReply *rp = reply;
	uint64_t epoch = 0;
	int bad;

	(void)ac;
	(void)priv;
	hr_reply_in(&hr.hr_pub);
	if (rp == NULL || hr.hr_sha_publish[0] == '\0' ||
	    hr.hr_sha_reseed[0] == '\0')
		return;
	if ((bad = hr_epoch_parse(rp, &epoch) == -1))
		log_warnx("redis: %s:epoch is not an epoch of pfhttpd's",
		    hr.hr_cf->cf_chat_redis_prefix);
	if (bad || epoch != hr.hr_rd->rd_epoch) {
		if (hr.hr_rd->rd_epoch != 0 && !bad)
			log_info("redis %s: a data set the hub has not seen "
				 "(restarted empty?); writing the rooms' "
				 "history back",
			    hr.hr_name);
		hr.hr_epoch_new = bad ? hr.hr_rd->rd_epoch : epoch;
		hr_reseed_all();
		if (hr.hr_seeding == 0)
			__atomic_store_n(&hr.hr_rd->rd_epoch, hr.hr_epoch_new,
			    __ATOMIC_RELAXED);
	}
	hr.hr_pub.hl_backoff = HR_BACKOFF_MIN; /* up: a new outage starts low */
	hr.hr_ready = 1;
	hr_state_update();
	hr_follow_all();
	hr_defer_flush();
	hub_redis_resume();
}

/* The read link's CLIENT ID came back: it may read now. */
static void
hr_client_id_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	const redisReply *rp = reply;

	(void)ac;
	(void)priv;
	hr_reply_in(&hr.hr_read);
	if (rp == NULL)
		return;
	if (rp->type != REDIS_REPLY_INTEGER) {
		hr_drop_later(&hr.hr_read, "CLIENT ID failed");
		return;
	}
	hr.hr_reader_id = rp->integer;
	hr.hr_read.hl_backoff = HR_BACKOFF_MIN;
	hr_state_update();
	hr_read_issue();
	hub_redis_resume();
}

/* Queue hl's first commands, sent once it connects. */
static void
hr_greet(struct hr_link *hl)
{
	char epoch[24], key[HR_KEY_MAX];
	const char *load_p[3] = {"SCRIPT", "LOAD", hr_publish_lua};
	const char *load_r[3] = {"SCRIPT", "LOAD", hr_reseed_lua};
	const char *set[4] = {"SET", key, epoch, "NX"};
	const char *get[2] = {"GET", key};
	const char *id[2] = {"CLIENT", "ID"};

	if (hl == &hr.hr_read) {
		hr_sendv(hl, hr_client_id_cb, NULL, 2, id);
		return;
	}
	hr.hr_sha_publish[0] = hr.hr_sha_reseed[0] = '\0';
	snprintf(epoch, sizeof(epoch), "%016" PRIx64, hr_random64());
	snprintf(key, sizeof(key), "%s:epoch", hr.hr_cf->cf_chat_redis_prefix);
	hr_sendv(hl, hr_script_cb, hr.hr_sha_publish, 3, load_p);
	hr_sendv(hl, hr_script_cb, hr.hr_sha_reseed, 3, load_r);
	hr_sendv(hl, hr_count_cb, hl, 4, set);
	hr_sendv(hl, hr_epoch_cb, NULL, 2, get);
}

/* ------------------------------------------------------------------ */
/* Publishing */

/*
 * Redis refused publish out (rp, not a number): -1, it holds less of the
 * room than the hub: re-seed the room now, on this connection, ahead of
 * what comes next (what was sent meanwhile is refused alike); a script
 * missing (Redis restarted under the link): make the link again; any
 * other error: this event alone fails (said once until one succeeds).
 */
static void
hr_publish_refused(const struct chat_out *out, const redisReply *rp)
{
	uint32_t r = out->co_room;

	if (rp->type == REDIS_REPLY_INTEGER && rp->integer == -1) {
		if (r < hr.hr_nrooms &&
		    shm_chat_room(hr.hr_sh, r)->rm_epoch == out->co_epoch &&
		    !hr_room_at(r)->ro_reseeding)
			hr_reseed_room(r);
		return;
	}
	if (rp->type == REDIS_REPLY_ERROR &&
	    strncmp(rp->str, "NOSCRIPT", 8) == 0) {
		hr_drop_later(&hr.hr_pub, "scripts gone");
		return;
	}
	if (!hr.hr_warned)
		log_warnx("redis: publish: %s (said once until one succeeds)",
		    rp->type == REDIS_REPLY_ERROR ? rp->str : "bad reply");
	hr.hr_warned = 1;
}

/* A publish came back: tell its client if it did not make it. */
static void
hr_publish_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	const redisReply *rp = reply;
	struct chat_out *out;
	int ok;

	(void)ac;
	(void)priv;
	hr_reply_in(&hr.hr_pub);
	if (hr.hr_qlen == 0)
		return;
	out = &hr.hr_queue[hr.hr_qhead];
	hr.hr_qhead = (hr.hr_qhead + 1) % HR_INFLIGHT_MAX;
	hr.hr_qlen--;
	hr_count(&hr.hr_rd->rd_inflight, -1);
	ok = rp != NULL && rp->type == REDIS_REPLY_INTEGER && rp->integer > 0;
	if (ok) {
		hr_count(&hr.hr_rd->rd_published, 1);
		hr.hr_warned = 0;
	} else {
		if (rp != NULL)
			hr_publish_refused(out, rp);
		hub_unpublished(out);
	}
	if (hr.hr_qlen == HR_INFLIGHT_MAX - 1)
		hub_redis_resume();
}

/*
 * Publish event out of room r (numbered by Redis, delivered when read
 * back). 0, or -1 if Redis cannot be reached now: out is not sent.
 */
int
hubredis_publish(uint32_t r, const struct chat_out *out)
{
	char key[HR_KEY_MAX], meta[HR_KEY_MAX], maxlen[24], floor[24];
	const char *argv[7 + CHATREDIS_ARGS];
	size_t lens[7 + CHATREDIS_ARGS];
	struct chatredis_fields f;
	struct chat_out *q;
	int i, n;

	if (!hubredis_ready() || hr.hr_qlen == HR_INFLIGHT_MAX)
		return -1;
	hr_key(r, 0, key, sizeof(key));
	hr_key(r, 1, meta, sizeof(meta));
	snprintf(maxlen, sizeof(maxlen), "%lld",
	    hr.hr_cf->cf_chat_redis_stream_length);
	snprintf(floor, sizeof(floor), "%" PRIu64,
	    shm_chat_room(hr.hr_sh, r)->rm_seq);
	argv[0] = "EVALSHA";
	argv[1] = hr.hr_sha_publish;
	argv[2] = "2";
	argv[3] = key;
	argv[4] = meta;
	argv[5] = maxlen;
	argv[6] = floor;
	for (i = 0; i < 7; i++)
		lens[i] = strlen(argv[i]);
	n = chatredis_encode(out, hr.hr_rd->rd_instance, &f);
	for (i = 0; i < n; i++) {
		argv[7 + i] = f.cf_argv[i];
		lens[7 + i] = f.cf_len[i];
	}
	if (hr_send(&hr.hr_pub, hr_publish_cb, NULL, 7 + n, argv, lens) == -1)
		return -1;
	q = &hr.hr_queue[(hr.hr_qhead + hr.hr_qlen++) % HR_INFLIGHT_MAX];
	*q = *out;
	q->co_ev.ce_text = NULL; /* not kept: a failure needs no text */
	q->co_ev.ce_text_len = 0;
	hr_count(&hr.hr_rd->rd_inflight, 1);
	return 0;
}

/*
 * Publish the leaves that wait, while the link takes them; one whose
 * room entry is another room now is dropped.
 */
static void
hr_defer_flush(void)
{
	const struct shm_chat_room *rm;
	struct chat_out *d;

	while (hr.hr_dlen > 0 && hubredis_ready() &&
	    hr.hr_qlen < HR_INFLIGHT_MAX) {
		d = &hr.hr_defer[hr.hr_dhead];
		rm = d->co_room < hr.hr_nrooms
		    ? shm_chat_room(hr.hr_sh, d->co_room)
		    : NULL;
		if (rm != NULL && rm->rm_used && rm->rm_epoch == d->co_epoch &&
		    hubredis_publish(d->co_room, d) == -1)
			return;
		hr.hr_dhead = (hr.hr_dhead + 1) % HR_DEFER_MAX;
		hr.hr_dlen--;
	}
}

/* ------------------------------------------------------------------ */
/* The hub's calls */

/*
 * Keep leave out, which could not be published, to publish once the link
 * takes it: the others must not keep a member who has gone. At most
 * HR_DEFER_MAX wait; beyond, the oldest goes.
 */
void
hubredis_defer(const struct chat_out *out)
{
	struct chat_out *d;

	if (!hubredis_enabled() || hr.hr_stopping)
		return;
	if (hr.hr_dlen == HR_DEFER_MAX) {
		hr.hr_dhead = (hr.hr_dhead + 1) % HR_DEFER_MAX;
		hr.hr_dlen--;
	}
	d = &hr.hr_defer[(hr.hr_dhead + hr.hr_dlen++) % HR_DEFER_MAX];
	*d = *out;
	d->co_ev.ce_text = NULL;
	d->co_ev.ce_text_len = 0;
}

/* Tell whether the chat goes through Redis ([chat] redis is set). */
int
hubredis_enabled(void)
{
	return hr.hr_cf != NULL;
}

/* Tell whether an event may be published now (both links up). */
int
hubredis_ready(void)
{
	return hr.hr_ready && hr.hr_reader_id >= 0 && !hr.hr_stopping;
}

/*
 * Tell whether the hub must not take requests now: publishes at their
 * bound, or the link still coming up for the first time (a join taken
 * then would be welcomed unannounced, as in an outage).
 */
int
hubredis_busy(void)
{
	return hubredis_enabled() &&
	    (hr.hr_qlen >= HR_INFLIGHT_MAX || hr.hr_starting);
}

/* Room r has a member here again: follow it. */
void
hubredis_follow(uint32_t r)
{
	if (hubredis_enabled())
		hr_follow(r);
}

/* Room r has no member here now: stop reading it. */
void
hubredis_unfollow(uint32_t r)
{
	struct hr_room *ro;

	if (!hubredis_enabled())
		return;
	ro = hr_room_at(r);
	if (ro->ro_state != HR_ROOM_BROKEN)
		ro->ro_state = HR_ROOM_IDLE;
	hr.hr_reread = 1;
}

/* The hub's timer: time out connects and replies. */
void
hubredis_tick(void)
{
	uint64_t now = hr_mono_ms();

	if (!hubredis_enabled())
		return;
	hr_watch(&hr.hr_pub, now);
	hr_watch(&hr.hr_read, now);
	hr_defer_flush();
}

/* Make a link's timers. */
static void
hr_link_init(struct hr_link *hl, const char *name)
{
	hl->hl_name = name;
	hl->hl_backoff = HR_BACKOFF_MIN;
	hl->hl_retry = evtimer_new(hr.hr_base, hr_retry_cb, hl);
	hl->hl_kill = event_new(hr.hr_base, -1, 0, hr_kill_cb, hl);
	if (hl->hl_retry == NULL || hl->hl_kill == NULL)
		fatalx("cannot set up the Redis link's events");
}

/*
 * Start the link, if [chat] redis is set: connect both connections on
 * base. The hub goes on at once; events wait for the link.
 */
void
hubredis_start(
    const struct config *cf, struct shm_header *sh, struct event_base *base)
{
	char why[256];

	if (cf->cf_chat_redis == NULL) {
		__atomic_store_n(&shm_chat(sh)->ch_redis.rd_state,
		    SHM_REDIS_OFF, __ATOMIC_RELAXED);
		return;
	}
	if (redis_addr_parse(
		cf->cf_chat_redis, &hr.hr_addr, why, sizeof(why)) == -1)
		fatalx("[chat] redis %s: %s", cf->cf_chat_redis, why);
	hr.hr_cf = cf;
	hr.hr_sh = sh;
	hr.hr_rd = &shm_chat(sh)->ch_redis;
	hr.hr_base = base;
	hr.hr_reader_id = -1;
	hr.hr_logged_state = -1;
	hr.hr_starting = 1;
	redis_addr_format(&hr.hr_addr, hr.hr_name, sizeof(hr.hr_name));
	hr.hr_nrooms = (uint32_t)shm_chat_geometry()->cg_max_rooms;
	hr.hr_room = calloc(hr.hr_nrooms, sizeof(*hr.hr_room));
	hr.hr_queue = calloc(HR_INFLIGHT_MAX, sizeof(*hr.hr_queue));
	hr.hr_defer = calloc(HR_DEFER_MAX, sizeof(*hr.hr_defer));
	if (hr.hr_room == NULL || hr.hr_queue == NULL || hr.hr_defer == NULL)
		fatal("calloc");
	if (hr.hr_rd->rd_instance == 0)
		__atomic_store_n(
		    &hr.hr_rd->rd_instance, hr_random64(), __ATOMIC_RELAXED);
	hr_link_init(&hr.hr_pub, "publish");
	hr_link_init(&hr.hr_read, "read");
	__atomic_store_n(&hr.hr_rd->rd_inflight, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&hr.hr_rd->rd_state, SHM_REDIS_DOWN, __ATOMIC_RELAXED);
	hr_connect(&hr.hr_pub);
	hr_connect(&hr.hr_read);
	hr_state_update();
}

/*
 * Stop: no more publishes; the read link goes at once, the publish link
 * once its replies are in (hub_redis_stopped() then), or after
 * HR_REPLY_MS. Nothing is lost by the read link going: the next hub
 * reads from the rooms' last numbers.
 */
void
hubredis_stop(void)
{
	if (!hubredis_enabled() || hr.hr_stopping)
		return;
	hr.hr_stopping = 1;
	evtimer_del(hr.hr_pub.hl_retry);
	evtimer_del(hr.hr_read.hl_retry);
	hr_drop(&hr.hr_read, "stopping");
	if (hr.hr_pub.hl_ac != NULL && hr.hr_pub.hl_connected &&
	    hr.hr_pub.hl_pending > 0) {
		hr.hr_pub.hl_progress = hr_mono_ms();
		redisAsyncDisconnect(hr.hr_pub.hl_ac);
		return;
	}
	hr_drop(&hr.hr_pub, "stopping");
	hr_stopped_maybe();
}
