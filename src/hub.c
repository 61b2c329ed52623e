/*
 * The chat hub ("pfhttpd: chat"): the one writer of chat state. Workers
 * hand it their clients' requests through their slots' chat-in rings; it
 * orders them, one room at a time, and publishes the results in the
 * broadcast ring that every worker reads (layout and contract: the chat
 * region in shm.h; records: chatmsg.c).
 *
 * For each request it takes, the hub:
 *  - finds or makes the room (a join), and the member (the request names
 *    the member the hub gave the client when it joined);
 *  - gives each event the room's next sequence number, writes it to the
 *    room's history (a seqlocked entry), publishes it in the broadcast
 *    ring, then stores the room's new sequence number: the commit point;
 *  - appends the event to the transcript, if there is one;
 *  - or answers the client alone (who, nick_taken, too_many_rooms).
 *
 * Every step on the shared state is in the journal (ch_journal) first, so
 * that a hub killed in the middle of a request is finished by the next
 * one: it takes the same request again and skips the events it finds
 * committed. Members of a worker that died leave: the hub sees the slot's
 * pid change, takes what the dead worker's ring still holds, then makes
 * each of its members leave.
 *
 * The hub sleeps on its eventfd; a worker writes it after a request only
 * when ch_hub_asleep says the hub sleeps. After each batch the hub wakes
 * the workers that said they wait (shm_chat_wake_slot()).
 *
 *   SIGTERM  take what the rings hold, then exit (the master sends it
 *            once the workers are gone, or to restart the hub on reload)
 *   SIGUSR1  reopen the transcript and the error log
 */

#include <sys/prctl.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "pfhttpd.h"
#include "shm.h"

#define HUB_BATCH	 4096 /* requests per turn before a look around */
#define HUB_CHECK_MS	 200  /* how often dead workers are looked for */
#define HUB_GUEST_PREFIX "guest-"
#define HUB_NSIGNALS	 4

/* The hub's process state. */
static struct {
	struct event_base *h_base;
	const struct config *h_cf;
	struct shm_header *h_sh;
	struct shm_chat *h_ch;
	struct shm_chat_geom h_geom;
	uint32_t h_nslots;
	uint64_t *h_slot_pid;  /* the pid each slot had at the last look */
	uint32_t *h_free;      /* free member entries, a stack */
	uint32_t h_nfree;      /* entries on it */
	struct event *h_wake;  /* the eventfd is readable */
	struct event *h_timer; /* HUB_CHECK_MS */
	struct event *h_more;  /* a batch left requests: go on */
	struct event *h_signals[HUB_NSIGNALS];
	int h_transcript;		/* fd, or -1 */
	int h_published;		/* something went into the ring */
	int h_stopping;			/* SIGTERM: empty the rings, exit */
	int h_stopped;			/* emptied: exiting (Redis: once its
					   replies are in) */
	struct shm_chat_journal h_redo; /* a predecessor's unfinished action */
	int h_redoing;			/* h_redo applies to this action */
	unsigned char h_req[CHATMSG_REQ_MAX];
	unsigned char h_out[CHATMSG_OUT_MAX];
} hub;

/* Return the real time now, unix milliseconds. */
uint64_t
hub_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Copy the name src (a NUL-terminated name array) into dst. */
static void
hub_name_copy(char dst[CHAT_NAME_MAX + 1], const char *src)
{
	size_t n = strnlen(src, CHAT_NAME_MAX);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Add n to a counter of the chat region (the hub is its one writer). */
static void
hub_count(uint64_t *counter, int64_t n)
{
	__atomic_store_n(counter,
	    __atomic_load_n(counter, __ATOMIC_RELAXED) + (uint64_t)n,
	    __ATOMIC_RELAXED);
}

/* Return room i. */
static struct shm_chat_room *
hub_room(uint32_t i)
{
	return shm_chat_room(hub.h_sh, i);
}

/* Return member i. */
static struct shm_chat_member *
hub_member(uint32_t i)
{
	return shm_chat_member(hub.h_sh, i);
}

/* Return the index of the room named name, or SHM_CHAT_NONE. */
static uint32_t
hub_room_find(const char *name)
{
	uint32_t i;

	for (i = 0; i < hub.h_geom.cg_max_rooms; i++)
		if (hub_room(i)->rm_used &&
		    strcmp(hub_room(i)->rm_name, name) == 0)
			return i;
	return SHM_CHAT_NONE;
}

/*
 * Make a room named name: a free entry, or the empty room that was quiet
 * longest (forgotten: its history goes, and its numbers start again at 1
 * if it comes back). SHM_CHAT_NONE if every entry has members.
 */
static uint32_t
hub_room_make(const char *name)
{
	struct shm_chat_room *rm, *best = NULL;
	uint32_t i, besti = SHM_CHAT_NONE;

	for (i = 0; i < hub.h_geom.cg_max_rooms; i++) {
		rm = hub_room(i);
		if (rm->rm_used && rm->rm_members > 0)
			continue;
		if (!rm->rm_used) {
			besti = i;
			break;
		}
		if (best == NULL || rm->rm_active < best->rm_active) {
			best = rm;
			besti = i;
		}
	}
	if (besti == SHM_CHAT_NONE)
		return SHM_CHAT_NONE;
	rm = hub_room(besti);
	if (rm->rm_used)
		log_info(
		    "room %s forgotten to make room %s", rm->rm_name, name);
	/* Not used while rewritten: workers key their state on the epoch. */
	__atomic_store_n(&rm->rm_used, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&rm->rm_seq, 0, __ATOMIC_RELEASE);
	rm->rm_members = 0;
	rm->rm_first = SHM_CHAT_NONE;
	rm->rm_active = hub_now_ms();
	hub_name_copy(rm->rm_name, name);
	__atomic_store_n(&rm->rm_epoch, rm->rm_epoch + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&rm->rm_used, 1, __ATOMIC_RELEASE);
	return besti;
}

/* Tell whether a member of room r other than self is called nick. */
static int
hub_nick_taken(uint32_t r, const char *nick, uint32_t self)
{
	uint32_t i;

	for (i = hub_room(r)->rm_first; i != SHM_CHAT_NONE;
	     i = hub_member(i)->mb_next)
		if (i != self && strcasecmp(hub_member(i)->mb_nick, nick) == 0)
			return 1;
	return 0;
}

/* Give member self a guest name free in room r. */
static void
hub_guest_name(uint32_t r, uint32_t self, char *nick, size_t len)
{
	do {
		snprintf(nick, len, HUB_GUEST_PREFIX "%llu",
		    (unsigned long long)hub.h_ch->ch_guest_next);
		hub_count(&hub.h_ch->ch_guest_next, 1);
	} while (hub_nick_taken(r, nick, self));
}

/* Put member m at the head of room r's list. */
static void
hub_link(uint32_t m, uint32_t r)
{
	struct shm_chat_member *mb = hub_member(m);
	struct shm_chat_room *rm = hub_room(r);

	mb->mb_room = r;
	mb->mb_prev = SHM_CHAT_NONE;
	mb->mb_next = rm->rm_first;
	if (rm->rm_first != SHM_CHAT_NONE)
		hub_member(rm->rm_first)->mb_prev = m;
	rm->rm_first = m;
	if (rm->rm_members++ == 0) {
		hub_count(&hub.h_ch->ch_rooms_live, 1);
		hubredis_follow(r);
	}
}

/* Take member m off its room's list. */
static void
hub_unlink(uint32_t m)
{
	struct shm_chat_member *mb = hub_member(m);
	struct shm_chat_room *rm = hub_room(mb->mb_room);

	if (mb->mb_prev != SHM_CHAT_NONE)
		hub_member(mb->mb_prev)->mb_next = mb->mb_next;
	else
		rm->rm_first = mb->mb_next;
	if (mb->mb_next != SHM_CHAT_NONE)
		hub_member(mb->mb_next)->mb_prev = mb->mb_prev;
	mb->mb_next = mb->mb_prev = SHM_CHAT_NONE;
	if (--rm->rm_members == 0) {
		hub_count(&hub.h_ch->ch_rooms_live, -1);
		hubredis_unfollow(mb->mb_room);
	}
}

/* Free member m (it left): off its room, back on the free stack. */
static void
hub_member_free(uint32_t m)
{
	if (hub_member(m)->mb_room != SHM_CHAT_NONE)
		hub_unlink(m);
	__atomic_store_n(&hub_member(m)->mb_conn, 0, __ATOMIC_RELEASE);
	hub.h_free[hub.h_nfree++] = m;
	hub_count(&hub.h_ch->ch_members, -1);
}

/* Begin an action: the journal says what it is until hub_end(). */
static void
hub_begin(uint32_t slot, uint64_t end, uint32_t member)
{
	struct shm_chat_journal *j = &hub.h_ch->ch_journal;

	j->cj_slot = slot;
	j->cj_end = end;
	j->cj_member = member;
	j->cj_n = 0;
	__atomic_store_n(&j->cj_active, 1, __ATOMIC_RELEASE);
}

/* End an action: release its request, then clear the journal. */
static void
hub_end(void)
{
	struct shm_chat_journal *j = &hub.h_ch->ch_journal;

	if (j->cj_slot != SHM_CHAT_NONE)
		logring_release(
		    shm_chat_ring(hub.h_sh, (uint32_t)j->cj_slot), j->cj_end);
	__atomic_store_n(&j->cj_active, 0, __ATOMIC_RELEASE);
	hub.h_redoing = 0;
}

/*
 * The sequence number the next event of room r takes, and whether a
 * killed predecessor committed it already (*done): when this action is
 * the one it left unfinished, the journal has the number.
 */
static uint64_t
hub_next_seq(uint32_t r, int *done)
{
	struct shm_chat_room *rm = hub_room(r);
	uint64_t i, seq;

	*done = 0;
	for (i = 0; hub.h_redoing && i < hub.h_redo.cj_n && i < 2; i++)
		if (hub.h_redo.cj_room[i] == r) {
			seq = hub.h_redo.cj_seq[i];
			*done = rm->rm_seq >= seq;
			return seq;
		}
	return rm->rm_seq + 1;
}

/* Write out-record rec (len bytes) into room r's history as event seq. */
static void
hub_history_put(uint32_t r, uint64_t seq, const void *rec, size_t len)
{
	struct shm_chat_entry *he = shm_chat_entry(hub.h_sh, r, seq);
	uint64_t lock = __atomic_load_n(&he->he_lock, __ATOMIC_RELAXED);

	/* A killed writer may have left it odd: make it odd either way. */
	lock |= 1;
	__atomic_store_n(&he->he_lock, lock, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	he->he_seq = seq;
	he->he_len = len;
	memcpy(he + 1, rec, len);
	__atomic_store_n(&he->he_lock, lock + 1, __ATOMIC_RELEASE);
}

/* Append the event to the transcript; say so once if writing fails. */
static void
hub_transcript(const struct chat_event *ev)
{
	static int warned;

	if (hub.h_transcript == -1)
		return;
	if (transcript_append(hub.h_transcript, ev) == -1) {
		if (!warned)
			log_warn(
			    "chat transcript %s (said once until it works)",
			    hub.h_cf->cf_chat_transcript);
		warned = 1;
		return;
	}
	warned = 0;
}

/*
 * Sequence out, an event of room r numbered seq: history, broadcast,
 * commit (rm_seq), transcript. co_room, co_epoch and ce_room are set
 * here.
 */
static void
hub_sequence(uint32_t r, struct chat_out *out, uint64_t seq)
{
	struct shm_chat_room *rm = hub_room(r);
	uint64_t now = hub_now_ms();
	size_t len;

	out->co_kind = CHATOUT_EVENT;
	out->co_room = r;
	out->co_epoch = rm->rm_epoch;
	out->co_ev.ce_seq = seq;
	hub_name_copy(out->co_ev.ce_room, rm->rm_name);
	if ((len = chatmsg_out_encode(
		 out, NULL, 0, hub.h_out, sizeof(hub.h_out))) == 0 ||
	    len > shm_chat_entry_room()) {
		log_warnx("an event of room %s does not encode", rm->rm_name);
		hub_apply_none(r, seq);
		return;
	}
	hub_history_put(r, seq, hub.h_out, len);
	bcast_publish(
	    shm_chat_bcast(hub.h_sh), hub.h_geom.cg_bcast_size, hub.h_out, len);
	rm->rm_active = now;
	__atomic_store_n(&rm->rm_seq, seq, __ATOMIC_RELEASE);
	hub_count(&hub.h_ch->ch_events, 1);
	__atomic_store_n(&hub.h_ch->ch_last_event, now, __ATOMIC_RELAXED);
	hub.h_published = 1;
	hub_transcript(&out->co_ev);
}

/*
 * Give out (an event of room r, co_ev filled but for seq and time) its
 * number. On one machine: journal, then hub_sequence(); skipped if a
 * killed predecessor committed it. With Redis: publish it; it is
 * sequenced when read back (hub_apply()), or told to its client as not
 * sent (hub_unpublished()).
 */
static void
hub_emit(uint32_t r, struct chat_out *out)
{
	struct shm_chat_journal *j = &hub.h_ch->ch_journal;
	uint64_t seq;
	int done;

	out->co_ev.ce_time_ms = hub_now_ms();
	if (hubredis_enabled()) {
		out->co_kind = CHATOUT_EVENT;
		out->co_room = r;
		out->co_epoch = hub_room(r)->rm_epoch;
		hub_name_copy(out->co_ev.ce_room, hub_room(r)->rm_name);
		if (hubredis_publish(r, out) == -1)
			hub_unpublished(out);
		return;
	}
	seq = hub_next_seq(r, &done);
	if (j->cj_n < 2) {
		j->cj_room[j->cj_n] = r;
		j->cj_seq[j->cj_n] = seq;
		__atomic_store_n(&j->cj_n, j->cj_n + 1, __ATOMIC_RELEASE);
	}
	if (!done)
		hub_sequence(r, out, seq);
}

/* Sequence out, an event of room r read from Redis, with its number. */
void
hub_apply(uint32_t r, struct chat_out *out)
{
	hub_sequence(r, out, out->co_ev.ce_seq);
}

/*
 * Room r's number seq is taken by nothing this hub can show (an entry it
 * cannot read): commit the number alone, so that reading goes on past it.
 */
void
hub_apply_none(uint32_t r, uint64_t seq)
{
	if (seq > hub_room(r)->rm_seq)
		__atomic_store_n(&hub_room(r)->rm_seq, seq, __ATOMIC_RELEASE);
}

/* Publish a reply (not sequenced) to the client out is addressed to. */
static void
hub_reply_to(const struct chat_out *out, const char *const nicks[], size_t n)
{
	size_t len;

	if ((len = chatmsg_out_encode(
		 out, nicks, n, hub.h_out, sizeof(hub.h_out))) == 0)
		return;
	bcast_publish(
	    shm_chat_bcast(hub.h_sh), hub.h_geom.cg_bcast_size, hub.h_out, len);
	hub.h_published = 1;
	if (out->co_kind == CHATOUT_ERROR)
		hub_count(&hub.h_ch->ch_refused, 1);
}

/* Publish a reply (not sequenced) to the client of request req. */
static void
hub_reply(uint32_t slot, const struct chat_req *req, struct chat_out *out,
    const char *const nicks[], size_t n)
{
	out->co_slot = slot;
	out->co_pid = req->cr_pid;
	out->co_conn = req->cr_conn;
	out->co_member = req->cr_member;
	hub_reply_to(out, nicks, n);
}

/* Answer req with error code. */
static void
hub_error(uint32_t slot, const struct chat_req *req, enum chatout_error code)
{
	struct chat_out out;

	memset(&out, 0, sizeof(out));
	out.co_kind = CHATOUT_ERROR;
	out.co_error = code;
	out.co_room = SHM_CHAT_NONE;
	hub_reply(slot, req, &out, NULL, 0);
}

/*
 * Tell whether member m is still the one event out came from, in room r
 * (and not an entry freed and taken again since).
 */
static int
hub_member_is(const struct chat_out *out, uint32_t m)
{
	struct shm_chat_member *mb;

	if (m >= hub.h_geom.cg_max_members)
		return 0;
	mb = hub_member(m);
	return mb->mb_conn == out->co_conn && mb->mb_slot == out->co_slot &&
	    mb->mb_room == out->co_room &&
	    hub_room(out->co_room)->rm_epoch == out->co_epoch;
}

/*
 * Event out could not be published (Redis unreachable; hubredis.c): a
 * join is welcomed all the same, without an event (the others are not
 * told); a message is refused with `unavailable`; a nick change too, and
 * the old nick is back; a leave waits to be published once the link is
 * back (hubredis_defer()).
 */
void
hub_unpublished(const struct chat_out *out)
{
	struct chat_out reply = *out;
	uint32_t m = out->co_member;

	if (out->co_ev.ce_type == CHAT_LEAVE) {
		hubredis_defer(out); /* told once the link is back */
		return;
	}
	if (out->co_conn == 0)
		return;
	hub_count(&hub.h_ch->ch_redis.rd_unavailable, 1);
	if (out->co_ev.ce_type == CHAT_JOIN) {
		if (!hub_member_is(out, m))
			return; /* gone meanwhile */
		reply.co_kind = CHATOUT_WELCOME;
		reply.co_ev.ce_seq = hub_room(out->co_room)->rm_seq + 1;
		hub_name_copy(reply.co_ev.ce_nick, hub_member(m)->mb_nick);
		hub_reply_to(&reply, NULL, 0);
		return;
	}
	if (out->co_ev.ce_type == CHAT_NICK && hub_member_is(out, m) &&
	    strcmp(hub_member(m)->mb_nick, out->co_ev.ce_nick) == 0)
		hub_name_copy(hub_member(m)->mb_nick, out->co_ev.ce_old);
	memset(&reply, 0, sizeof(reply));
	reply.co_kind = CHATOUT_ERROR;
	reply.co_error = CHATERR_UNAVAILABLE;
	reply.co_room = SHM_CHAT_NONE;
	reply.co_slot = out->co_slot;
	reply.co_pid = out->co_pid;
	reply.co_conn = out->co_conn;
	reply.co_member = out->co_member;
	hub_reply_to(&reply, NULL, 0);
}

/* Fill an event out from member m (origin, nick) of type type. */
static void
hub_event_of(struct chat_out *out, uint32_t m, enum chat_type type)
{
	struct shm_chat_member *mb = hub_member(m);

	memset(out, 0, sizeof(*out));
	out->co_slot = mb->mb_slot;
	out->co_pid = (uint32_t)mb->mb_pid;
	out->co_conn = mb->mb_conn;
	out->co_member = m;
	out->co_ev.ce_type = type;
	hub_name_copy(out->co_ev.ce_nick, mb->mb_nick);
}

/* Member m leaves its room: the event, then the entry is free. */
static void
hub_leave(uint32_t m)
{
	struct chat_out out;

	hub_event_of(&out, m, CHAT_LEAVE);
	hub_emit(hub_member(m)->mb_room, &out);
	hub_member_free(m);
}

/* Return the member m a request names, if it is the client's. */
static uint32_t
hub_member_of(uint32_t slot, const struct chat_req *req, uint32_t m)
{
	struct shm_chat_member *mb;

	if (m >= hub.h_geom.cg_max_members)
		return SHM_CHAT_NONE;
	mb = hub_member(m);
	if (mb->mb_conn != req->cr_conn || mb->mb_slot != slot)
		return SHM_CHAT_NONE;
	return m;
}

/* Take a free member entry for the client of req, in no room yet. */
static uint32_t
hub_member_new(uint32_t slot, const struct chat_req *req)
{
	struct shm_chat_member *mb;
	uint32_t m;

	if (hub.h_nfree == 0)
		return SHM_CHAT_NONE;
	m = hub.h_free[--hub.h_nfree];
	mb = hub_member(m);
	mb->mb_pid = req->cr_pid;
	mb->mb_slot = slot;
	mb->mb_flags = req->cr_flags;
	mb->mb_nick[0] = '\0';
	mb->mb_room = SHM_CHAT_NONE;
	mb->mb_next = mb->mb_prev = SHM_CHAT_NONE;
	__atomic_store_n(&mb->mb_conn, req->cr_conn, __ATOMIC_RELEASE);
	hub_count(&hub.h_ch->ch_members, 1);
	return m;
}

/*
 * A join: into room cr_room as cr_nick (a guest name if none or taken).
 * A member already in another room (a telnet /join) leaves it first.
 */
static void
hub_join(uint32_t slot, const struct chat_req *req, uint32_t m)
{
	struct chat_out out;
	uint32_t r;
	int taken;

	if ((r = hub_room_find(req->cr_room)) == SHM_CHAT_NONE &&
	    (r = hub_room_make(req->cr_room)) == SHM_CHAT_NONE) {
		hub_error(slot, req, CHATERR_TOO_MANY_ROOMS);
		return;
	}
	if (m == SHM_CHAT_NONE &&
	    (m = hub_member_new(slot, req)) == SHM_CHAT_NONE) {
		log_warnx("max_members (%llu) reached",
		    (unsigned long long)hub.h_geom.cg_max_members);
		hub_error(slot, req, CHATERR_FULL);
		return;
	}
	if (hub_member(m)->mb_room == r && hub_member(m)->mb_nick[0] != '\0') {
		if (!hub.h_redoing)
			return; /* in it already */
		goto announce;	/* a predecessor linked it: redo the event */
	}
	if (hub_member(m)->mb_room != SHM_CHAT_NONE) {
		hub_event_of(&out, m, CHAT_LEAVE);
		hub_emit(hub_member(m)->mb_room, &out);
		hub_unlink(m);
	}
	taken = req->cr_nick[0] != '\0' && hub_nick_taken(r, req->cr_nick, m);
	if (req->cr_nick[0] == '\0' || taken)
		hub_guest_name(r, m, hub_member(m)->mb_nick,
		    sizeof(hub_member(m)->mb_nick));
	else
		snprintf(hub_member(m)->mb_nick, sizeof(hub_member(m)->mb_nick),
		    "%s", req->cr_nick);
	hub_link(m, r);
announce:
	hub_event_of(&out, m, CHAT_JOIN);
	if (req->cr_nick[0] != '\0' &&
	    strcmp(req->cr_nick, hub_member(m)->mb_nick) != 0)
		out.co_flags = CHATOUT_NICK_TAKEN;
	hub_emit(r, &out);
}

/* A nick change: the event first, then the name (see hub_next_seq()). */
static void
hub_nick(uint32_t slot, const struct chat_req *req, uint32_t m)
{
	struct shm_chat_member *mb = hub_member(m);
	struct chat_out out;

	if (strcmp(mb->mb_nick, req->cr_nick) == 0)
		return;
	if (hubredis_enabled() && !hubredis_ready()) {
		hub_count(&hub.h_ch->ch_redis.rd_unavailable, 1);
		hub_error(slot, req, CHATERR_UNAVAILABLE);
		return;
	}
	if (hub_nick_taken(mb->mb_room, req->cr_nick, m)) {
		hub_error(slot, req, CHATERR_NICK_TAKEN);
		return;
	}
	hub_event_of(&out, m, CHAT_NICK);
	hub_name_copy(out.co_ev.ce_old, mb->mb_nick);
	hub_name_copy(out.co_ev.ce_nick, req->cr_nick);
	hub_emit(mb->mb_room, &out);
	hub_name_copy(mb->mb_nick, req->cr_nick);
}

/* A who: the nicks of the member's room, to it alone. */
static void
hub_who(uint32_t slot, const struct chat_req *req, uint32_t m)
{
	static const char *nicks[CHATMSG_WHO_MAX];
	struct shm_chat_room *rm = hub_room(hub_member(m)->mb_room);
	struct chat_out out;
	size_t n = 0;
	uint32_t i;

	for (i = rm->rm_first; i != SHM_CHAT_NONE && n < CHATMSG_WHO_MAX;
	     i = hub_member(i)->mb_next)
		nicks[n++] = hub_member(i)->mb_nick;
	memset(&out, 0, sizeof(out));
	out.co_kind = CHATOUT_WHO;
	out.co_room = hub_member(m)->mb_room;
	out.co_epoch = rm->rm_epoch;
	hub_name_copy(out.co_ev.ce_room, rm->rm_name);
	hub_reply(slot, req, &out, nicks, n);
}

/* Carry out one decoded request of slot's ring; its member is m. */
static void
hub_request(uint32_t slot, const struct chat_req *req, uint32_t m)
{
	struct chat_out out;

	if (req->cr_op == CHATREQ_JOIN) {
		hub_join(slot, req, m);
		return;
	}
	if (m == SHM_CHAT_NONE || hub_member(m)->mb_room == SHM_CHAT_NONE)
		return; /* gone already (its worker died, say) */
	switch (req->cr_op) {
	case CHATREQ_LEAVE:
		hub_leave(m);
		break;
	case CHATREQ_SAY:
	case CHATREQ_ME:
		hub_event_of(&out, m,
		    req->cr_op == CHATREQ_SAY ? CHAT_MESSAGE : CHAT_ME);
		out.co_ev.ce_text = req->cr_text;
		out.co_ev.ce_text_len = req->cr_text_len;
		hub_emit(hub_member(m)->mb_room, &out);
		break;
	case CHATREQ_NICK:
		hub_nick(slot, req, m);
		break;
	case CHATREQ_WHO:
		hub_who(slot, req, m);
		break;
	default:
		break;
	}
}

/*
 * Take the next request of slot's ring and carry it out; 1 if there was
 * one, 0 if the ring is empty.
 */
static int
hub_take(uint32_t slot)
{
	struct shm_ring *rg = shm_chat_ring(hub.h_sh, slot);
	uint64_t cursor = logring_cursor(rg);
	struct chat_req req;
	uint32_t m;
	size_t len;

	len = logring_read(
	    rg, hub.h_geom.cg_ring_size, &cursor, hub.h_req, sizeof(hub.h_req));
	if (len == 0) {
		if (cursor != logring_cursor(rg))
			logring_release(rg, cursor); /* corruption skipped */
		return 0;
	}
	hub_count(&hub.h_ch->ch_requests, 1);
	if (chatmsg_req_decode(hub.h_req, len, &req) == -1) {
		log_warnx("a malformed request from slot %u", slot);
		logring_release(rg, cursor);
		return 1;
	}
	m = hub_member_of(slot, &req, req.cr_member);
	hub_begin(slot, cursor, m);
	hub_request(slot, &req, m);
	hub_end();
	return 1;
}

/* Tell whether member m's worker is gone (its slot has another pid). */
static int
hub_member_dead(uint32_t m)
{
	struct shm_chat_member *mb = hub_member(m);
	struct shm_slot *slot = shm_slot_at(hub.h_sh, mb->mb_slot);
	uint64_t state, pid;

	state = __atomic_load_n(&slot->ss_state, __ATOMIC_ACQUIRE);
	pid = __atomic_load_n(&slot->ss_pid, __ATOMIC_ACQUIRE);
	if (state == SHM_SLOT_FREE || state == SHM_SLOT_EXITED)
		return 1;
	return pid != 0 && pid != mb->mb_pid;
}

/* Make every member of a dead worker leave, each an action of its own. */
static void
hub_reap_members(void)
{
	uint32_t m;

	for (m = 0; m < hub.h_geom.cg_max_members; m++) {
		if (__atomic_load_n(
			&hub_member(m)->mb_conn, __ATOMIC_RELAXED) == 0 ||
		    !hub_member_dead(m))
			continue;
		hub_begin(SHM_CHAT_NONE, 0, m);
		if (hub_member(m)->mb_room == SHM_CHAT_NONE)
			hub_member_free(m); /* a join a kill cut short */
		else
			hub_leave(m);
		hub_end();
	}
}

/*
 * Look for workers that died or were replaced since the last look: once
 * their rings are empty (what they sent before dying is taken first),
 * their members leave.
 */
static void
hub_check_workers(void)
{
	uint64_t pid;
	uint32_t i;
	int changed = 0;

	for (i = 0; i < hub.h_nslots; i++) {
		pid = __atomic_load_n(
		    &shm_slot_at(hub.h_sh, i)->ss_pid, __ATOMIC_ACQUIRE);
		if (pid != hub.h_slot_pid[i]) {
			hub.h_slot_pid[i] = pid;
			changed = 1;
		}
	}
	if (!changed)
		return;
	for (i = 0; i < hub.h_nslots; i++)
		while (hub_take(i))
			;
	hub_reap_members();
}

/* Take up to HUB_BATCH requests, a slot at a time; return how many. */
static unsigned
hub_drain(void)
{
	unsigned n = 0, before;
	uint32_t i;

	do {
		before = n;
		for (i = 0; i < hub.h_nslots && n < HUB_BATCH; i++)
			n += (unsigned)hub_take(i);
	} while (n > before && n < HUB_BATCH);
	return n;
}

/* Wake the workers that wait, if anything was published. */
static void
hub_wake_workers(void)
{
	uint32_t i;

	if (!hub.h_published)
		return;
	hub.h_published = 0;
	for (i = 0; i < hub.h_nslots; i++)
		shm_chat_wake_slot(hub.h_sh, i);
}

/* Tell whether any chat-in ring holds a request. */
static int
hub_pending(void)
{
	uint32_t i;

	for (i = 0; i < hub.h_nslots; i++)
		if (logring_pending(shm_chat_ring(hub.h_sh, i)) != 0)
			return 1;
	return 0;
}

/*
 * Say that the hub sleeps, then look once more (the workers' side of the
 * pattern is shm_chat_wake_hub()): 1 if it may sleep, 0 if work came.
 */
static int
hub_sleep(void)
{
	__atomic_store_n(&hub.h_ch->ch_hub_asleep, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!hub_pending())
		return 1;
	__atomic_store_n(&hub.h_ch->ch_hub_asleep, 0, __ATOMIC_RELAXED);
	return 0;
}

/*
 * Stopping, with every ring empty: exit, once the Redis link has its
 * replies in (hub_redis_stopped()).
 */
static void
hub_stop(void)
{
	hub.h_stopped = 1;
	if (hubredis_enabled())
		hubredis_stop();
	else
		event_base_loopexit(hub.h_base, NULL);
}

/* Do what there is to do, then sleep, or come back for more. */
static void
hub_run(void)
{
	unsigned n;

	if (hub.h_stopped)
		return; /* what comes now is the successor's */
	__atomic_store_n(&hub.h_ch->ch_hub_asleep, 0, __ATOMIC_RELAXED);
	for (;;) {
		n = hubredis_busy() ? 0 : hub_drain();
		hub_check_workers();
		hub_wake_workers();
		if (hubredis_busy())
			return; /* hub_redis_resume() comes back */
		if (n >= HUB_BATCH) {
			event_active(hub.h_more, EV_TIMEOUT, 0);
			return; /* let signals and timers in first */
		}
		if (hub.h_stopping && !hub_pending()) {
			hub_stop();
			return;
		}
		if (hub_sleep())
			return;
	}
}

/* The Redis link applied events: wake the workers that wait. */
void
hub_redis_applied(void)
{
	hub_wake_workers();
}

/* The Redis link can take publishes again: take requests again. */
void
hub_redis_resume(void)
{
	event_active(hub.h_more, EV_TIMEOUT, 0);
}

/* The Redis link is closed, the hub stopping: exit. */
void
hub_redis_stopped(void)
{
	event_base_loopexit(hub.h_base, NULL);
}

/* The eventfd is readable: a worker has published. */
static void
hub_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	(void)arg;
	shm_chat_wake_take(fd);
	hub_run();
}

/* The check timer, or a batch that left requests. */
static void
hub_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	hubredis_tick();
	hub_run();
}

/* Open the transcript, if one is configured; say why not otherwise. */
static void
hub_transcript_open(void)
{
	int fd;

	if (hub.h_cf->cf_chat_transcript == NULL)
		return;
	if ((fd = transcript_open(hub.h_cf->cf_chat_transcript)) == -1) {
		log_warn("chat transcript %s", hub.h_cf->cf_chat_transcript);
		return;
	}
	if (hub.h_transcript != -1)
		close(hub.h_transcript);
	hub.h_transcript = fd;
}

/* Signal event: stop, or reopen the files. */
static void
hub_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		hub.h_stopping = 1;
		hub_run();
		break;
	case SIGUSR1:
		hub_transcript_open();
		if (log_reopen() == -1)
			log_warn("reopen error log");
		break;
	default:
		break;
	}
}

/*
 * Finish the action a killed predecessor left in the journal: take its
 * request again (or make its member leave again), skipping the events it
 * committed (hub_next_seq()).
 */
static void
hub_recover(void)
{
	struct shm_chat_journal *j = &hub.h_ch->ch_journal;
	uint32_t m;

	if (!__atomic_load_n(&j->cj_active, __ATOMIC_ACQUIRE))
		return;
	hub.h_redo = *j;
	hub.h_redoing = 1;
	log_info("finishing the action of the last hub");
	if (j->cj_slot < hub.h_nslots) {
		if (logring_cursor(shm_chat_ring(
			hub.h_sh, (uint32_t)j->cj_slot)) != j->cj_end)
			hub_take((uint32_t)j->cj_slot);
	} else if ((m = (uint32_t)j->cj_member) < hub.h_geom.cg_max_members &&
	    hub_member(m)->mb_conn != 0) {
		hub_begin(SHM_CHAT_NONE, 0, m);
		if (hub_member(m)->mb_room == SHM_CHAT_NONE)
			hub_member_free(m);
		else
			hub_leave(m);
	}
	hub_end();
}

/* Stack every free member entry; repair a room's count after a kill. */
static void
hub_members_load(void)
{
	uint32_t m, r, n;

	hub.h_free = calloc(hub.h_geom.cg_max_members, sizeof(*hub.h_free));
	if (hub.h_free == NULL)
		fatal("calloc");
	for (m = (uint32_t)hub.h_geom.cg_max_members; m-- > 0;)
		if (hub_member(m)->mb_conn == 0)
			hub.h_free[hub.h_nfree++] = m;
	hub.h_ch->ch_members = hub.h_geom.cg_max_members - hub.h_nfree;
	hub.h_ch->ch_rooms_live = 0;
	for (r = 0; r < hub.h_geom.cg_max_rooms; r++) {
		n = 0;
		for (m = hub_room(r)->rm_first;
		     m != SHM_CHAT_NONE && n <= hub.h_geom.cg_max_members;
		     m = hub_member(m)->mb_next)
			n++;
		hub_room(r)->rm_members = n;
		hub.h_ch->ch_rooms_live += n > 0;
	}
}

/* transcript_restore() callback: put a past event back in its room. */
static void
hub_restore_event(void *arg, const struct chat_event *ev)
{
	struct chat_out out;
	uint32_t r;
	size_t len;

	(void)arg;
	if ((r = hub_room_find(ev->ce_room)) == SHM_CHAT_NONE &&
	    (r = hub_room_make(ev->ce_room)) == SHM_CHAT_NONE)
		return;
	if (ev->ce_seq <= hub_room(r)->rm_seq ||
	    ev->ce_text_len > hub.h_geom.cg_max_message)
		return;
	memset(&out, 0, sizeof(out));
	out.co_kind = CHATOUT_EVENT;
	out.co_member = SHM_CHAT_NONE;
	out.co_room = r;
	out.co_epoch = hub_room(r)->rm_epoch;
	out.co_ev = *ev;
	if ((len = chatmsg_out_encode(
		 &out, NULL, 0, hub.h_out, sizeof(hub.h_out))) == 0)
		return;
	hub_history_put(r, ev->ce_seq, hub.h_out, len);
	hub_room(r)->rm_active = ev->ce_time_ms;
	__atomic_store_n(&hub_room(r)->rm_seq, ev->ce_seq, __ATOMIC_RELEASE);
}

/*
 * On a new segment, put the transcript's rooms back: each room's last
 * sequence number and history. Done once per segment (ch_restored), so a
 * restarted hub keeps what the shared memory holds.
 */
static void
hub_restore(void)
{
	unsigned long bad = 0;
	struct timespec t0, t1;
	long n;

	if (hub.h_ch->ch_restored || hub.h_cf->cf_chat_transcript == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = transcript_restore(
	    hub.h_cf->cf_chat_transcript, hub_restore_event, NULL, &bad);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (n == -1)
		log_warn("chat transcript %s", hub.h_cf->cf_chat_transcript);
	else if (n > 0 || bad > 0)
		log_info("%ld event(s) restored from %s in %lld ms%s", n,
		    hub.h_cf->cf_chat_transcript,
		    (long long)(t1.tv_sec - t0.tv_sec) * 1000 +
			(t1.tv_nsec - t0.tv_nsec) / 1000000,
		    bad > 0 ? "; lines that did not parse were skipped" : "");
	__atomic_store_n(&hub.h_ch->ch_restored, 1, __ATOMIC_RELEASE);
}

/* Set up the signal, eventfd and timer events. */
static void
hub_events(void)
{
	static const int sigs[HUB_NSIGNALS] = {
	    SIGTERM, SIGINT, SIGUSR1, SIGHUP};
	struct timeval tv = {0, HUB_CHECK_MS * 1000};
	sigset_t none;
	int i;

	if ((hub.h_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	for (i = 0; i < HUB_NSIGNALS; i++) {
		hub.h_signals[i] =
		    evsignal_new(hub.h_base, sigs[i], hub_signal_cb, NULL);
		if (hub.h_signals[i] == NULL ||
		    evsignal_add(hub.h_signals[i], NULL) == -1)
			fatalx("cannot set up signal %d", sigs[i]);
	}
	hub.h_wake = event_new(hub.h_base, shm_chat_hub_fd(),
	    EV_READ | EV_PERSIST, hub_wake_cb, NULL);
	hub.h_timer = event_new(hub.h_base, -1, EV_PERSIST, hub_timer_cb, NULL);
	hub.h_more = event_new(hub.h_base, -1, 0, hub_timer_cb, NULL);
	if (hub.h_wake == NULL || hub.h_timer == NULL || hub.h_more == NULL ||
	    event_add(hub.h_wake, NULL) == -1 ||
	    event_add(hub.h_timer, &tv) == -1)
		fatalx("cannot set up the hub's events");
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Run the chat hub until it is told to stop; never returns. */
void
hub_main(const struct config *cf, struct shm_header *sh)
{
	pid_t master_pid = getppid();

	log_setproc("chat");
	proctitle_set("%s: chat", PFHTTPD_NAME);
	hub.h_cf = cf;
	hub.h_sh = sh;
	hub.h_ch = shm_chat(sh);
	hub.h_geom = *shm_chat_geometry();
	hub.h_nslots = shm_nslots();
	hub.h_transcript = -1;
	if ((hub.h_slot_pid = calloc(hub.h_nslots, sizeof(uint64_t))) == NULL)
		fatal("calloc");
	hub_members_load();
	hub_transcript_open(); /* before priv_drop(): a root-only folder */
	priv_drop(cf);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master_pid)
		exit(0);
	hub_restore();
	hub_events();
	hubredis_start(cf, sh, hub.h_base); /* a redo must not number */
	hub_recover();
	hub_count(&hub.h_ch->ch_hub_starts, 1);
	__atomic_store_n(
	    &hub.h_ch->ch_hub_pid, (uint64_t)getpid(), __ATOMIC_RELEASE);
	hub_run();
	event_base_dispatch(hub.h_base);
	__atomic_store_n(&hub.h_ch->ch_hub_asleep, 0, __ATOMIC_RELAXED);
	exit(0);
}
