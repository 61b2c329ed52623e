/*
 * The shared-memory segment: a contract between the master, the workers,
 * the logger and statsdump. One file, mapped MAP_SHARED by every process.
 *
 *   +------------------+ offset 0
 *   | struct shm_header|  written by the master (retired totals included),
 *   |                  |  but for the sh_logger_* fields (see there)
 *   +------------------+ sh_slots_offset
 *   | shm_slot[0]      |  one per worker slot, each written by one worker
 *   | ...              |  (identity fields by the master, see below)
 *   +------------------+ sh_rings_offset
 *   | ring 0           |  struct shm_ring + sh_ring_size bytes of records,
 *   | ...              |  producer: the slot's worker; consumer: the logger
 *   +------------------+ sh_chat_offset
 *   | chat region      |  struct shm_chat and what follows it (below):
 *   |                  |  written by the chat hub, but for the chat-in
 *   |                  |  rings' producer side and the slots' wake flags
 *   +------------------+ sh_ip_offset
 *   | shm_ipgroup[]    |  the per-client-address table (iplimit.c):
 *   |                  |  sh_ip_groups groups, written by the workers
 *   +------------------+ sh_size
 *
 * Every field is naturally aligned and at most 64 bits wide, so a reader
 * sees each one whole (no torn values), though not a consistent snapshot
 * of several: counters are monotonic and readers tolerate that skew. The
 * layout never changes without bumping SHM_VERSION.
 */

#ifndef PFHTTPD_SHM_H
#define PFHTTPD_SHM_H

#include <stdint.h>

#define SHM_MAGIC     0x3144485454484650ULL /* "PFHTTHD1" little-endian */
#define SHM_VERSION   8
#define SHM_CACHELINE 64

#define SHM_STATUS_MAX	     600 /* responses[] is indexed by status 0..599 */
#define SHM_LATENCY_BUCKETS  32	 /* bucket i: [2^i, 2^(i+1)) microseconds */
#define SHM_WS_CLOSE_CLASSES 5	 /* 1000, 1001, 1002-1011, 3000-4999, other */

/* Why a TLS handshake failed (sc_tls_failed[]). */
enum shm_tls_fail {
	SHM_TLS_FAIL_PROTOCOL = 0,   /* not TLS, or no common protocol,
					cipher or group; a bad record */
	SHM_TLS_FAIL_CERT = 1,	     /* the client's certificate: missing
					under verify_client = require, or
					not verified */
	SHM_TLS_FAIL_PLAIN_HTTP = 2, /* plain HTTP (or text) on a TLS port */
	SHM_TLS_FAIL_TIMEOUT = 3,    /* not done within header_timeout */
	SHM_TLS_FAIL_CLOSED = 4,     /* the client closed or reset first */
	SHM_TLS_FAIL_CLASSES = 5
};

/* Worker slot states (ss_state). */
enum shm_state {
	SHM_SLOT_FREE = 0,     /* unused; may be handed to a new worker */
	SHM_SLOT_STARTING = 1, /* forked, not yet accepting */
	SHM_SLOT_SERVING = 2,  /* accepting and serving */
	SHM_SLOT_DRAINING = 3, /* graceful stop: no new connections */
	SHM_SLOT_EXITED = 4,   /* reaped and folded; ring not yet drained */
};

/* What the master asks of the logger it sends SIGTERM (sh_logger_stop). */
enum shm_logger_stop {
	SHM_LOGGER_RUN = 0,	 /* keep going (a stray SIGTERM) */
	SHM_LOGGER_STOP = 1,	 /* the workers are gone: drain all, exit */
	SHM_LOGGER_HANDOVER = 2, /* reload: write what was read, exit; a
				    successor takes the rings over */
};

/*
 * Counters of one worker. All monotonic except the gauges marked so. A
 * worker's counters are written by that worker alone (plain 64-bit stores
 * with relaxed atomics); the master folds them into sh_retired once the
 * worker is reaped, then the slot is never counted live again.
 *
 * Access-log records: each request, with an access log configured, is
 * either queued (sc_log_queued) or dropped (sc_log_dropped); the logger
 * counts each queued one it took as written or discarded, in the rings
 * (rg_written, rg_discarded, struct shm_ring). The backlog is queued -
 * written - discarded (summed over all workers and rings), and once it is
 * 0, requests == written + dropped + discarded.
 */
struct shm_counters {
	uint64_t sc_conn_accepted;   /* connections accepted */
	uint64_t sc_conn_active;     /* gauge: open connections */
	uint64_t sc_requests;	     /* requests answered */
	uint64_t sc_bytes_in;	     /* request bytes read */
	uint64_t sc_bytes_out;	     /* response bytes sent */
	uint64_t sc_log_queued;	     /* access records put in the ring */
	uint64_t sc_log_dropped;     /* access records a full ring refused */
	uint64_t sc_ws_upgrades;     /* WebSocket handshakes done */
	uint64_t sc_ws_open;	     /* gauge: open WebSockets */
	uint64_t sc_ws_messages_in;  /* messages received */
	uint64_t sc_ws_messages_out; /* messages sent */
	uint64_t sc_ws_bytes_in;     /* message payload received */
	uint64_t sc_ws_bytes_out;    /* message payload sent */
	/* WebSocket closes by the class of the code the server sent; "other"
	 * also counts connections that ended without a close frame (1006). */
	uint64_t sc_ws_closes[SHM_WS_CLOSE_CLASSES];
	/* Chat (chat.c, wschat.c, telnetchat.c). The members and the lag
	 * are gauges; the master zeroes them when it folds the slot. */
	uint64_t sc_chat_members_ws;	 /* gauge: WebSocket chat clients */
	uint64_t sc_chat_members_telnet; /* gauge: telnet chat clients */
	uint64_t sc_chat_read;	      /* gauge: the last broadcast event it read
					 (statsdump shows the lag behind the head) */
	uint64_t sc_chat_in;	      /* requests handed to the hub */
	uint64_t sc_chat_unavailable; /* ... refused: the ring was full */
	uint64_t sc_chat_deliveries;  /* events queued to a client */
	uint64_t sc_chat_rate_limited; /* messages refused: rate */
	uint64_t sc_chat_oversize;     /* messages refused: too long */
	uint64_t sc_chat_refused;      /* bad UTF-8, nick or command */
	uint64_t sc_chat_slow_closed;  /* clients closed: output bound */
	uint64_t sc_chat_gaps;	       /* times the broadcast ring lapped */
	uint64_t sc_chat_missed;       /* events lost to laps, per room */
	/* TLS (tls.c): each handshake counts once, done in full, resumed
	 * (a session ticket), or failed by class (enum shm_tls_fail). */
	uint64_t sc_tls_full;			      /* full handshakes */
	uint64_t sc_tls_resumed;		      /* resumed sessions */
	uint64_t sc_tls_failed[SHM_TLS_FAIL_CLASSES]; /* failed handshakes */
	uint64_t sc_tls_errors; /* connections a TLS error ended after the
				   handshake: a bad record, a fatal alert */
	uint64_t sc_tls_renegotiations; /* renegotiations refused */
	/* Per-client-address limits (iplimit.c): each refusal is a 429. */
	uint64_t sc_limit_conn_refused; /* over max_connections_per_ip */
	uint64_t sc_limit_rate_refused; /* over limit_rate_per_ip */
	uint64_t sc_limit_untracked;	/* connections or requests whose
					   address found no entry in a full
					   group: not limited */
	/* Basic authentication (authcheck.c). */
	uint64_t sc_auth_hashed;  /* passwords hashed with crypt_r */
	uint64_t sc_auth_cached;  /* credentials a worker's cache answered,
				     good or bad, without a hash */
	uint64_t sc_auth_refused; /* 401s: no, malformed or wrong credentials */
	uint64_t sc_latency[SHM_LATENCY_BUCKETS]; /* request durations */
	uint64_t sc_responses[SHM_STATUS_MAX];	  /* by status code */
};

/* One worker slot. Cache-line aligned so workers never share a line. */
struct shm_slot {
	uint64_t ss_pid;	  /* master: worker pid, 0 when free */
	uint64_t ss_worker_id;	  /* master: worker number, 1..N */
	uint64_t ss_generation;	  /* master: generation it was started in */
	uint64_t ss_started;	  /* master: start time, unix seconds */
	uint64_t ss_state;	  /* enum shm_state: master and its worker */
	uint64_t ss_pad[3];	  /* keep the counters on their own lines */
	struct shm_counters ss_c; /* written by the worker only */
} __attribute__((aligned(SHM_CACHELINE)));

/*
 * A single-producer / single-consumer ring of log records (logring.c).
 * rg_head is written only by the producer, the fields of the second cache
 * line only by the consumer, the logger. rg_head and rg_tail count bytes
 * since the ring was created and never wrap; the position in rg_data is
 * the count modulo the ring size (a power of two).
 *
 * rg_written counts the access-log lines the logger wrote from this ring:
 * records whose batch write(2) accepted, counted as the logger releases
 * them (moves rg_tail past them). rg_discarded counts the access records
 * it took but could not write: the batch's write(2) failed (the error log
 * says why), or it has no access log (a reload turned it off while older
 * workers still had records queued). The contract:
 *  - One writer. Only the logger writes them, and the master forks a
 *    logger only once it has reaped the last one (after a crash, a
 *    reload's SHM_LOGGER_HANDOVER or during a stop: one child entry,
 *    forked again only when it has no pid), so two loggers never write
 *    them at once. A new logger goes on from the values the last one left.
 *  - Monotonic. Rings are never reset while the segment lives: not when a
 *    logger restarts, on a reload, nor when a new worker reuses the slot.
 *  - Each record counts once. A logger killed after writing a batch but
 *    before releasing it leaves the records in the ring; its successor
 *    writes them again (the file then holds them twice) and counts them
 *    then, once. Counting and releasing are one step that a kill cannot
 *    split: the logger writes the journal, rg_jwritten and rg_jdiscarded
 *    (the new counts), then rg_jtail (the new tail; the commit point),
 *    then rg_written and rg_discarded, then rg_tail, each store a
 *    release. A logger that finds rg_jtail in (rg_tail, rg_head] when it
 *    starts finishes that step for its predecessor.
 *  - Readers sum the counts over all rings. Records lost to a corrupt ring
 *    are never counted (their type is unknown): the backlog then stays
 *    above zero by that many, and the error log says so.
 */
struct shm_ring {
	uint64_t rg_head; /* producer: bytes ever written */
	uint8_t rg_pad0[SHM_CACHELINE - 8];
	uint64_t rg_tail;	/* consumer: bytes ever consumed */
	uint64_t rg_written;	/* consumer: access-log lines written */
	uint64_t rg_discarded;	/* consumer: access records not written */
	uint64_t rg_jwritten;	/* consumer: journal, the next rg_written */
	uint64_t rg_jdiscarded; /* consumer: journal, the next rg_discarded */
	uint64_t rg_jtail;	/* consumer: journal, the next rg_tail */
	uint8_t rg_pad1[SHM_CACHELINE - 48];
	/* followed by the ring's data: sh_ring_size bytes */
} __attribute__((aligned(SHM_CACHELINE)));

/*
 * The segment header, at offset 0. Written by the master, but for the
 * sh_logger_* fields, each marked with its writers.
 */
struct shm_header {
	uint64_t sh_magic;	    /* SHM_MAGIC */
	uint32_t sh_version;	    /* SHM_VERSION */
	uint32_t sh_header_size;    /* sizeof(struct shm_header) */
	uint64_t sh_size;	    /* bytes in the whole segment */
	uint64_t sh_master_pid;	    /* pid of the master that owns it */
	uint64_t sh_start_time;	    /* master start, unix seconds */
	uint64_t sh_generation;	    /* bumped on each reload */
	uint32_t sh_nslots;	    /* worker slots */
	uint32_t sh_slot_size;	    /* sizeof(struct shm_slot) */
	uint64_t sh_slots_offset;   /* first slot */
	uint64_t sh_rings_offset;   /* first ring */
	uint64_t sh_ring_size;	    /* data bytes per ring, a power of two */
	uint64_t sh_ring_stride;    /* bytes from one ring to the next */
	uint64_t sh_logger_pid;	    /* logger, master: running logger or 0 */
	uint32_t sh_logger_wake;    /* workers: futex word, bumped to wake
				       the logger */
	uint32_t sh_logger_asleep;  /* logger: it sleeps on sh_logger_wake */
	uint64_t sh_fold_seq;	    /* odd while the master folds a slot */
	uint64_t sh_reloads_failed; /* reloads refused for a bad config */
	uint32_t sh_logger_stop;    /* master: enum shm_logger_stop */
	uint32_t sh_pad32;
	uint64_t sh_logger_wrote; /* logger: unix seconds of the last write
				     to the access log, 0 if none yet */
	uint64_t sh_chat_offset;  /* the chat region (struct shm_chat) */
	uint64_t sh_ip_offset;	  /* the address table (shm_ipgroup[]) */
	uint64_t sh_ip_groups;	  /* its groups, a power of two */
	uint64_t sh_ip_seed;	  /* the key of its hash (iplimit.c) */
	uint8_t sh_pad[SHM_CACHELINE - 40]; /* sh_retired on its own lines */
	struct shm_counters sh_retired; /* sum of reaped workers' counters */
} __attribute__((aligned(SHM_CACHELINE)));

/*
 * The chat region: the state of every chat room, and the channels between
 * the workers and the chat hub (hub.c). Its layout, from sh_chat_offset:
 *
 *   struct shm_chat           geometry (master), hub state and counters
 *   shm_chat_slot[nslots]     one per worker slot: its wake flag
 *   chat-in ring[nslots]      struct shm_ring + ch_ring_size bytes each
 *                             (logring.c; only rg_head and rg_tail are
 *                             used): producer the slot's worker, consumer
 *                             the hub; a record is a request (chatmsg.c)
 *   broadcast ring            struct bcast_ring + ch_bcast_size bytes
 *                             (bcast.c): writer the hub, every worker a
 *                             reader; a record is an out-record (chatmsg.c)
 *   shm_chat_room[max_rooms]  the rooms (hub)
 *   shm_chat_member[members]  who is in which room (hub)
 *   history                   per room, SHM_CHAT_ENTRIES(ch_history)
 *                             entries of ch_entry_size bytes (struct
 *                             shm_chat_entry and an out-record): the event
 *                             of sequence number s is in entry s % that
 *
 * One writer for each field, as marked; the hub is restarted by the
 * master if it dies, and its successor goes on from what is here (the
 * journal, ch_journal, finishes an action a kill cut short), so rooms,
 * sequence numbers, history and members survive a hub restart and a
 * reload. Workers never write the hub's part; they read rooms and history
 * (the entries are seqlocked, so a torn entry is never used).
 *
 * Wake-ups go through eventfds the master creates before it forks
 * (shm_chat_wake_init()): one for the hub, one per slot. A worker wakes
 * the hub after publishing a request only if ch_hub_asleep is set (seq_cst
 * on both sides, as for the logger); the hub wakes a worker after
 * publishing only if that slot's cs_waiting is set, clearing it with an
 * atomic exchange (the one field with two writers: the worker sets it once
 * it has read all, the hub clears it when it wakes the worker).
 */

#define SHM_CHAT_NONE UINT32_MAX /* no member / room index */

/*
 * History entries per room: twice the history shown to a newcomer, so
 * that the events after its join (its own join first) do not overwrite
 * what its worker is about to read for it. Only the last ch_history are
 * ever shown; the rest is slack.
 */
#define SHM_CHAT_ENTRIES(history) (2 * (history))

/* Where an action of the hub stands, to finish it after a kill. */
struct shm_chat_journal {
	uint64_t cj_active;  /* 1 while an action is applied */
	uint64_t cj_slot;    /* the ring of its request, or SHM_CHAT_NONE
				(the hub's own: a leave for a dead worker) */
	uint64_t cj_end;     /* the ring's cursor past the request */
	uint64_t cj_member;  /* the member it concerns, or SHM_CHAT_NONE */
	uint64_t cj_n;	     /* sequenced events it makes, 0..2 */
	uint64_t cj_room[2]; /* the room of each */
	uint64_t cj_seq[2];  /* and the sequence number it takes */
};

/* Where the hub's link to Redis stands (rd_state). */
enum shm_redis_state {
	SHM_REDIS_OFF = 0,	  /* no [chat] redis: one machine */
	SHM_REDIS_CONNECTING = 1, /* connecting, or loading the rooms */
	SHM_REDIS_UP = 2,	  /* events go through Redis */
	SHM_REDIS_DOWN = 3,	  /* lost; the next try is on a timer */
};

/*
 * The hub's link to Redis ([chat] redis), shown by statsdump and
 * /metrics. Written by the hub alone with relaxed stores; readers take
 * each field whole, not a snapshot of all. rd_epoch is also the hub's
 * memory across restarts: the epoch of the Redis data set it last
 * worked with, to tell a Redis that came back empty (hubredis.c).
 */
struct shm_chat_redis {
	uint64_t rd_state;	 /* enum shm_redis_state */
	uint64_t rd_since;	 /* unix ms it took that state */
	uint64_t rd_connects;	 /* connections made, both links */
	uint64_t rd_failures;	 /* links lost, or connects that failed */
	uint64_t rd_published;	 /* events Redis took from this hub */
	uint64_t rd_applied;	 /* events read back and sequenced */
	uint64_t rd_unavailable; /* requests refused: Redis unreachable */
	uint64_t rd_inflight;	 /* gauge: publishes awaiting a reply */
	uint64_t rd_last_event;	 /* unix ms of the last event read, 0: none */
	uint64_t rd_skipped;	 /* sequence numbers a stream no longer had */
	uint64_t rd_reseeds;	 /* rooms written back into an empty Redis */
	uint64_t rd_epoch;	 /* the data set's epoch, 0: none seen yet */
	uint64_t rd_instance;	 /* this segment's instance id (its events'
				    origin), made by the first hub */
};

/* The chat region's header. */
struct shm_chat {
	/* master, at creation: the geometry */
	uint64_t ch_ring_size;	 /* chat-in ring data bytes, power of 2 */
	uint64_t ch_bcast_size;	 /* broadcast ring data bytes, power of 2 */
	uint64_t ch_max_rooms;	 /* entries of the room table */
	uint64_t ch_max_members; /* entries of the member table */
	uint64_t ch_history;	 /* history entries per room */
	uint64_t ch_entry_size;	 /* bytes of one history entry */
	uint64_t ch_max_message; /* text bytes an entry holds at most */
	uint64_t ch_pad0;
	/* hub */
	uint64_t ch_hub_pid;	/* the running hub, 0 if none (+ master) */
	uint64_t ch_hub_starts; /* hubs started since the segment was made */
	uint64_t ch_guest_next; /* the next guest-N number */
	uint64_t ch_rooms_live; /* gauge: rooms with a member */
	uint64_t ch_members;	/* gauge: members of all rooms */
	uint64_t ch_events;	/* sequenced events */
	uint64_t ch_requests;	/* requests taken from the rings */
	uint64_t ch_refused;	/* requests answered with an error */
	uint64_t ch_last_event; /* unix ms of the last event, 0: none */
	uint32_t ch_hub_asleep; /* the hub waits on its eventfd */
	uint32_t ch_restored;	/* the transcript was read into the rooms */
	struct shm_chat_journal ch_journal;
	struct shm_chat_redis ch_redis;
} __attribute__((aligned(SHM_CACHELINE)));

/* A worker slot's chat wake flag, on a line of its own. */
struct shm_chat_slot {
	uint32_t cs_waiting; /* worker: set once it read the broadcast ring
				to its end; hub: cleared as it wakes it */
	uint8_t cs_pad[SHM_CACHELINE - 4];
} __attribute__((aligned(SHM_CACHELINE)));

/* A room. Written by the hub; rm_seq is read by workers (acquire). */
struct shm_chat_room {
	uint64_t rm_seq;     /* the last sequence number given, 0: none */
	uint64_t rm_members; /* members now */
	uint64_t rm_active;  /* unix ms of its last event */
	uint32_t rm_used;    /* 1: the entry is a room */
	uint32_t rm_epoch;   /* bumped each time the entry becomes a room */
	uint32_t rm_first;   /* its first member, or SHM_CHAT_NONE */
	uint32_t rm_pad;
	char rm_name[40]; /* NUL-terminated, a valid chat name */
	uint8_t rm_pad2[128 - 80];
};

/* A member of a room: one chat client of a worker. Written by the hub. */
struct shm_chat_member {
	uint64_t mb_conn;  /* its worker's connection id; 0: entry free */
	uint64_t mb_pid;   /* its worker's pid */
	uint32_t mb_slot;  /* its worker's slot */
	uint32_t mb_room;  /* its room */
	uint32_t mb_next;  /* the room's next member, or SHM_CHAT_NONE */
	uint32_t mb_prev;  /* the previous one, or SHM_CHAT_NONE */
	uint32_t mb_flags; /* CHATMSG_TELNET: a telnet client */
	uint32_t mb_pad;
	char mb_nick[40]; /* NUL-terminated, a valid chat name */
	uint8_t mb_pad2[96 - 80];
};

/* A history entry, followed by the event's out-record (chatmsg.c). */
struct shm_chat_entry {
	uint64_t he_lock; /* odd while the hub writes the entry (seqlock) */
	uint64_t he_seq;  /* the sequence number of the event it holds */
	uint64_t he_len;  /* bytes of the out-record */
	uint64_t he_pad;
};

/*
 * The per-client-address table (iplimit.c): set-associative, open
 * addressing within a group. An address hashes (keyed by sh_ip_seed) to
 * one group and lives in any of its SHM_IP_WAYS entries; it never moves
 * to another group, so a group full of busy addresses turns a new one
 * away (not limited, counted in sc_limit_untracked) rather than spill.
 *
 * Every field of a group is read and written under its ig_lock alone, by
 * any worker: a spinlock whose word is the holder's pid (0: free), taken
 * with an acquire CAS and released with a release store. The critical
 * section is a few loads and stores, no system call. A worker killed
 * while it holds the lock would block the group for ever, so a waiter
 * that has spun for long checks the holder with kill(pid, 0) and, when
 * that process is gone, takes the lock over with a CAS on the dead pid
 * (the entry the dead worker was changing may then be one connection or
 * one request off, nothing worse: every field is whole).
 *
 * An entry is free when ie_used is 0, and may be taken over for another
 * address when idle: no connection counted (ie_conns 0) and its token
 * bucket full again (ie_tat <= now). Connections of a worker that dies
 * without closing them stay counted until the master restarts (a reload
 * does not clear the table).
 */
#define SHM_IP_WAYS	   8	     /* entries per group */
#define SHM_IP_GROUPS_MAX  (1 << 20) /* groups of the table at most */
#define SHM_IP_ENTRIES_MAX ((long long)SHM_IP_WAYS * SHM_IP_GROUPS_MAX)

struct shm_ipentry {
	uint8_t ie_addr[16]; /* IPv6, or IPv4 as ::ffff:a.b.c.d */
	uint32_t ie_used;    /* 1: holds ie_addr */
	uint32_t ie_conns;   /* its connections counted now */
	uint64_t ie_tat;     /* rate: theoretical arrival time (GCRA),
				monotonic microseconds; 0: none */
};

struct shm_ipgroup {
	uint64_t ig_lock; /* pid of the worker that holds it, 0: free */
	uint8_t ig_pad[SHM_CACHELINE - 8];
	struct shm_ipentry ig_e[SHM_IP_WAYS];
} __attribute__((aligned(SHM_CACHELINE)));

/*
 * Add n to a counter of the caller's own slot. There is one writer per
 * slot, so a relaxed load and store suffice; the store is whole, so a
 * reader never sees a torn value.
 */
static inline void
shm_count(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter,
	    __atomic_load_n(counter, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

#endif /* PFHTTPD_SHM_H */
