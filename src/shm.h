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
#define SHM_VERSION   2
#define SHM_CACHELINE 64

#define SHM_STATUS_MAX	     600 /* responses[] is indexed by status 0..599 */
#define SHM_LATENCY_BUCKETS  32	 /* bucket i: [2^i, 2^(i+1)) microseconds */
#define SHM_WS_CLOSE_CLASSES 5	 /* 1000, 1001, 1002-1011, 3000-4999, other */

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
	uint8_t sh_pad[SHM_CACHELINE - 8]; /* sh_retired on its own lines */
	struct shm_counters sh_retired;	   /* sum of reaped workers' counters */
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
