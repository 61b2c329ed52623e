/*
 * The master process: forks the logger, the chat hub, the metrics process
 * (with [stats] listen) and the workers, respawns the ones that die (with
 * back-off when they die at once), runs reloads, and turns signals into
 * actions. Signals arrive as libevent signal events; no work is done in a raw
 * handler.
 *
 *   SIGTERM, SIGINT  fast stop: workers exit now
 *   SIGQUIT          graceful stop: workers finish what is in flight,
 *                    bounded by shutdown_timeout
 *   SIGUSR1          reopen the error log (forwarded to the children)
 *   SIGHUP           reload: a new generation of workers
 *   SIGCHLD          reap and respawn
 *
 * A reload (reload.c prepares the configuration and listeners) bumps the
 * generation and forks a full set of workers with the new configuration.
 * They accept on the same listening sockets as the old ones, so the
 * switch loses no connection. Once they serve (or MASTER_HANDOVER_MS
 * passed and at least one does), the older generations are sent SIGQUIT:
 * they stop accepting and drain like a graceful stop. Old workers are not
 * respawned; their slots are folded as they exit. The master stays root,
 * as nginx's does, to bind new addresses and create log files on reload.
 */

#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "pfhttpd.h"
#include "shm.h"
#include "stats.h"

#define MASTER_QUICK_DEATH_MS	     1000 /* a worker dying sooner died "at once" */
#define MASTER_BACKOFF_MIN_MS	     250   /* first delay after a quick death */
#define MASTER_BACKOFF_MAX_MS	     30000 /* longest delay between respawns */
#define MASTER_KILL_FAST_MS	     5000  /* fast stop: SIGKILL after this */
#define MASTER_KILL_GRACE_MS	     2000 /* graceful stop: beyond the timeout */
#define MASTER_LOGGER_BACKOFF_MAX_MS 1000 /* the rings fill meanwhile */
#define MASTER_STOP_LOGGER_TRIES     3	  /* loggers started to drain a stop */
#define MASTER_HUB_BACKOFF_MAX_MS    500  /* chat requests wait meanwhile */
#define MASTER_HANDOVER_MS	     5000 /* longest wait for a whole new gen */
#define MASTER_HANDOVER_POLL_MS	     10	  /* how often to look meanwhile */
#define MASTER_HANDOVER_SLOW_MS	     250  /* how often once that passed */
#define MASTER_DRAIN_CHECK_MS	     1000 /* how often old workers are timed */

/* The signals the master handles, one m_signals[] event each. */
static const int master_signals[] = {
    SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGCHLD};
#define MASTER_NSIGNALS (sizeof(master_signals) / sizeof(master_signals[0]))

enum master_stop {
	MASTER_RUNNING = 0,
	MASTER_STOP_GRACEFUL,
	MASTER_STOP_FAST,
};

/*
 * The kinds of child. A special child (any kind but a worker) has one
 * entry of the child table, at the index its kind names; the workers'
 * entries follow, from MASTER_NSPECIAL on. A special child has no
 * generation and no shm slot, and its respawn timer runs during a stop.
 */
enum child_kind {
	CHILD_LOGGER,  /* drains the workers' log rings */
	CHILD_HUB,     /* orders the chat rooms' events */
	CHILD_METRICS, /* serves /metrics on [stats] listen, if set */
	CHILD_WORKER,  /* accepts and serves connections */
};
#define MASTER_NSPECIAL ((int)CHILD_WORKER) /* the special children */

/* A kind's name in messages. */
static const char *const master_kind_names[] = {
    [CHILD_LOGGER] = "logger",
    [CHILD_HUB] = "chat hub",
    [CHILD_METRICS] = "metrics",
    [CHILD_WORKER] = "worker",
};

/*
 * The state of a child table entry. A process runs in RUNNING, DRAINING,
 * CLOSING, KILLED and HANDING_OVER (ch_pid is its pid), in no other; the
 * respawn timer is pending in BACKOFF and SLOT_WAIT, in no other. A stop
 * signals the workers without changing their state (m_stop says it).
 *
 * master_spawn() forks a child: its entry becomes RUNNING, or BACKOFF if
 * fork fails, or (a worker) SLOT_WAIT while no shm slot is free; below,
 * "forked" means that. The events (W: for a worker only, L: the logger):
 *
 *   EMPTY -> forked               the master starts or reloads, or (L)
 *                                 a stop needs the logger for records left
 *   BACKOFF, SLOT_WAIT -> forked  the respawn timer fired, or (L) as above
 *   BACKOFF, SLOT_WAIT -> EMPTY   W a reload made it old, or a stop began
 *   RUNNING -> forked             died a while after its start (W: of
 *                                 the current generation), and no stop
 *   RUNNING -> BACKOFF            died soon after its start, no stop:
 *                                 forked after a delay, longer each time
 *   RUNNING -> DRAINING           W sent SIGQUIT: its generation is
 *                                 superseded (a newer one took over, or
 *                                 a newer one starts and it never did)
 *   DRAINING -> CLOSING           W sent SIGTERM: a worker of the current
 *                                 generation needs its slot
 *   DRAINING, CLOSING -> KILLED   W sent SIGKILL: it outstayed its
 *                                 shutdown_timeout
 *   RUNNING .. KILLED -> EMPTY    W died, old or during a stop
 *   RUNNING -> HANDING_OVER       L sent SIGTERM: the access log changed
 *                                 (H: the chat transcript changed; M: a
 *                                 reload moved or removed [stats] listen)
 *   HANDING_OVER -> forked        L, H, M died: its successor starts at
 *                                 once (M: if [stats] listen is set)
 *   EMPTY -> forked               M a reload set [stats] listen
 *   RUNNING, BACKOFF -> EMPTY     M a stop began (sent SIGTERM)
 *   RUNNING -> EMPTY              H died during a stop
 *   RUNNING -> forked             L died during a stop with records left
 *                                 (MASTER_STOP_LOGGER_TRIES times at most)
 *   RUNNING -> EMPTY              L died during a stop otherwise
 *
 * DRAINING, CLOSING and KILLED are in the order a worker goes through them.
 */
enum child_state {
	CHILD_EMPTY = 0,    /* no process, and none scheduled */
	CHILD_RUNNING,	    /* a process that was not told to end */
	CHILD_DRAINING,	    /* told SIGQUIT: drains its connections */
	CHILD_CLOSING,	    /* told SIGTERM: closes its connections now */
	CHILD_KILLED,	    /* sent SIGKILL */
	CHILD_HANDING_OVER, /* the logger, told to exit for a successor */
	CHILD_BACKOFF,	    /* died or failed to fork: forked again later */
	CHILD_SLOT_WAIT,    /* a worker waiting for a free shm slot */
};

/* The signal that moves a worker to DRAINING, CLOSING or KILLED. */
static const int master_end_signals[] = {
    [CHILD_DRAINING] = SIGQUIT,
    [CHILD_CLOSING] = SIGTERM,
    [CHILD_KILLED] = SIGKILL,
};

/*
 * An entry of the master's child table: a special child, or a worker of
 * some generation. A worker entry goes from its first fork until its
 * worker exits for good; a respawn reuses it.
 */
struct child {
	enum child_kind ch_kind;     /* fixed by its index in the table */
	enum child_state ch_state;   /* see the diagram above */
	pid_t ch_pid;		     /* 0 while no process runs */
	int ch_id;		     /* a worker's number 1..N, else 0 */
	uint64_t ch_generation;	     /* a worker's generation */
	struct timespec ch_ended_at; /* when it was first told to end */
	long long ch_shutdown_ms;    /* its configuration's shutdown_timeout */
	int ch_slot;		     /* a worker's shm slot, -1 if none */
	struct timespec ch_start;    /* when it was forked */
	int ch_quick_deaths;	     /* consecutive deaths soon after start */
	struct event *ch_respawn;    /* the timer of BACKOFF and SLOT_WAIT */
};

/* The master's state; master_free() releases it. */
static struct {
	struct event_base *m_base;		  /* the master's loop */
	struct config *m_cf;			  /* running configuration */
	struct child *m_children;		  /* logger, then workers */
	int m_nchildren;			  /* entries in m_children */
	struct event *m_signals[MASTER_NSIGNALS]; /* one per signal */
	int m_nsignals;				  /* events in m_signals */
	struct event *m_kill_timer;  /* SIGKILLs children that outstay */
	struct event *m_handover;    /* waits for a new generation */
	struct event *m_drain_timer; /* bounds the old workers' drain */
	struct timespec m_reloaded;  /* when the last reload began */
	int m_handover_late;	     /* said that no new worker serves */
	enum master_stop m_stop;     /* running, or how it stops */
	struct shm_header *m_sh;     /* the shared segment */
	uint64_t m_generation;	     /* current generation, as sh_generation */
	uint64_t m_served;	     /* the last generation that took over */
	int m_logger_stopped;	     /* the logger was told to stop */
} master;

static void master_spawn(struct child *ch);
static void master_reclaim_slot(void);
static void master_stop_progress(void);

/* Milliseconds elapsed since ts, on the monotonic clock. */
static long long
master_ms_since(const struct timespec *ts)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - ts->tv_sec) * 1000 +
	    (now.tv_nsec - ts->tv_nsec) / 1000000;
}

/* Fill a timeval with a duration in milliseconds. */
static struct timeval
master_tv(long long ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return tv;
}

/* Name a child for messages: "logger" or "worker N". */
static const char *
master_who(const struct child *ch)
{
	static char buf[32];

	if (ch->ch_kind != CHILD_WORKER)
		return master_kind_names[ch->ch_kind];
	snprintf(buf, sizeof(buf), "worker %d", ch->ch_id);
	return buf;
}

/* Tell whether worker ch was told to end: DRAINING, CLOSING or KILLED. */
static int
master_ending(const struct child *ch)
{
	return ch->ch_state >= CHILD_DRAINING && ch->ch_state <= CHILD_KILLED;
}

/* Tell whether ch waits for its respawn timer: BACKOFF or SLOT_WAIT. */
static int
master_waiting(const struct child *ch)
{
	return ch->ch_state == CHILD_BACKOFF || ch->ch_state == CHILD_SLOT_WAIT;
}

/* Tell whether entry ch is a worker of a generation before the current. */
static int
master_is_old(const struct child *ch)
{
	return ch->ch_kind == CHILD_WORKER && ch->ch_state != CHILD_EMPTY &&
	    ch->ch_generation < master.m_generation;
}

/* Tell whether a reload is under way: old generations have workers. */
static int
master_reloading(void)
{
	int i;

	for (i = MASTER_NSPECIAL; i < master.m_nchildren; i++)
		if (master_is_old(&master.m_children[i]))
			return 1;
	return 0;
}

/* Count the running children: all of them, or the workers only. */
static int
master_running(int workers_only)
{
	int i, n = 0;

	for (i = 0; i < master.m_nchildren; i++)
		if (master.m_children[i].ch_pid != 0 &&
		    (!workers_only ||
			master.m_children[i].ch_kind == CHILD_WORKER))
			n++;
	return n;
}

/* Send a signal to every running worker. */
static void
master_signal_workers(int sig)
{
	int i;

	for (i = MASTER_NSPECIAL; i < master.m_nchildren; i++)
		if (master.m_children[i].ch_pid != 0)
			kill(master.m_children[i].ch_pid, sig);
}

/* Send a signal to every running child. */
static void
master_signal_children(int sig)
{
	int i;

	for (i = 0; i < master.m_nchildren; i++)
		if (master.m_children[i].ch_pid != 0)
			kill(master.m_children[i].ch_pid, sig);
}

/*
 * Find a slot for a new worker: a free one, or one whose worker exited and
 * whose ring the logger has drained (so no record is lost). -1 if none.
 */
static int
master_slot_alloc(void)
{
	struct shm_slot *slot;
	uint64_t state;
	uint32_t i;

	for (i = 0; i < shm_nslots(); i++) {
		slot = shm_slot_at(master.m_sh, i);
		state = __atomic_load_n(&slot->ss_state, __ATOMIC_ACQUIRE);
		if (state == SHM_SLOT_FREE ||
		    (state == SHM_SLOT_EXITED &&
			logring_pending(shm_ring_at(master.m_sh, i)) == 0))
			return (int)i;
	}
	return -1;
}

/* Tell whether any log ring still holds records. */
static int
master_rings_pending(void)
{
	uint32_t i;

	for (i = 0; i < shm_nslots(); i++)
		if (logring_pending(shm_ring_at(master.m_sh, i)) != 0)
			return 1;
	return 0;
}

/* Make slot i ready for worker ch: zero counters, identity, STARTING. */
static void
master_slot_prepare(struct child *ch, int i)
{
	struct shm_slot *slot = shm_slot_at(master.m_sh, (uint32_t)i);

	memset(&slot->ss_c, 0, sizeof(slot->ss_c));
	slot->ss_pid = 0;
	slot->ss_worker_id = (uint64_t)ch->ch_id;
	slot->ss_generation = ch->ch_generation;
	slot->ss_started = (uint64_t)time(NULL);
	__atomic_store_n(&slot->ss_state, SHM_SLOT_STARTING, __ATOMIC_RELEASE);
	ch->ch_slot = i;
}

/* Tell whether worker ch has reached its loop and accepts connections. */
static int
master_slot_serving(const struct child *ch)
{
	return ch->ch_pid != 0 && ch->ch_slot >= 0 &&
	    __atomic_load_n(
		&shm_slot_at(master.m_sh, (uint32_t)ch->ch_slot)->ss_state,
		__ATOMIC_ACQUIRE) == SHM_SLOT_SERVING;
}

/*
 * Fold the counters of a reaped worker into the retired totals and retire
 * its slot. sh_fold_seq is odd meanwhile (a seqlock), so shm_totals()
 * never sees the worker counted twice or not at all. Gauges are zeroed:
 * a dead worker holds no connections.
 */
static void
master_slot_fold(struct child *ch)
{
	struct shm_header *sh = master.m_sh;
	struct shm_slot *slot;
	struct shm_counters c;
	uint64_t seq;

	if (ch->ch_slot < 0)
		return;
	slot = shm_slot_at(sh, (uint32_t)ch->ch_slot);
	c = slot->ss_c;
	c.sc_conn_active = 0;
	c.sc_ws_open = 0;
	c.sc_chat_members_ws = 0;
	c.sc_chat_members_telnet = 0;
	c.sc_chat_read = 0;
	seq = sh->sh_fold_seq;
	__atomic_store_n(&sh->sh_fold_seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	shm_counters_add(&sh->sh_retired, &c);
	__atomic_store_n(&slot->ss_pid, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->ss_state, SHM_SLOT_EXITED, __ATOMIC_RELAXED);
	__atomic_store_n(&sh->sh_fold_seq, seq + 2, __ATOMIC_RELEASE);
	ch->ch_slot = -1;
}

/*
 * Free the master's loop, events and child table: in a new child (which
 * keeps m_cf and m_sh, and has reinitialised the loop first, so that this
 * does not touch the parent's epoll set), and when the master ends.
 */
static void
master_free(void)
{
	int i;

	for (i = 0; i < master.m_nsignals; i++)
		event_free(master.m_signals[i]);
	master.m_nsignals = 0;
	for (i = 0; i < master.m_nchildren; i++)
		event_free(master.m_children[i].ch_respawn);
	event_free(master.m_kill_timer);
	event_free(master.m_handover);
	event_free(master.m_drain_timer);
	free(master.m_children);
	master.m_children = NULL;
	master.m_nchildren = 0;
	event_base_free(master.m_base);
	master.m_base = NULL;
}

/*
 * In a new child: leave the master's state behind and become a child of
 * that kind (a worker: number id, in shm slot slot). A respawn forks from
 * inside the master's loop, which libevent will not run again (reentrant
 * dispatch): a worker gets a base of its own.
 */
static NORETURN void
master_child(enum child_kind kind, int id, int slot, pid_t parent)
{
	struct event_base *base;
	int i;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	if (event_reinit(master.m_base) == -1)
		fatalx("event_reinit failed");
	master_free();
	daemon_forget();
	/* Only the metrics process holds the metrics socket. */
	if (kind != CHILD_METRICS)
		listen_close(&master.m_cf->cf_stats_listen);
	if (kind != CHILD_WORKER) {
		/* They take no connections of the workers. */
		for (i = 0; i < master.m_cf->cf_nlisten; i++)
			listen_close(&master.m_cf->cf_listen[i]);
		if (kind == CHILD_HUB)
			hub_main(master.m_cf, master.m_sh);
		if (kind == CHILD_METRICS)
			metrics_main(master.m_cf, master.m_sh);
		logger_main(master.m_cf, master.m_sh);
	}
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	worker_main(base, master.m_cf, id, master.m_sh, (uint32_t)slot);
}

/*
 * Take a shm slot for worker ch and return it. With none free, ch waits
 * in SLOT_WAIT (said once) and, if current, makes room; return -1.
 */
static int
master_spawn_slot(struct child *ch)
{
	struct timeval tv = master_tv(MASTER_BACKOFF_MIN_MS);
	int slot;

	if ((slot = master_slot_alloc()) != -1) {
		master_slot_prepare(ch, slot);
		return slot;
	}
	if (ch->ch_state != CHILD_SLOT_WAIT)
		log_warnx("no free worker slot (old workers still drain, or "
			  "the logger has not emptied their rings); worker %d "
			  "waits",
		    ch->ch_id);
	ch->ch_state = CHILD_SLOT_WAIT;
	if (!master_is_old(ch))
		master_reclaim_slot();
	evtimer_add(ch->ch_respawn, &tv);
	return -1;
}

/*
 * Fork the child of entry ch, which has no process: ch becomes RUNNING,
 * or BACKOFF if fork fails, or SLOT_WAIT (see master_spawn_slot()).
 */
static void
master_spawn(struct child *ch)
{
	struct timeval tv;
	sigset_t all, old;
	pid_t pid, parent = getpid();
	int slot = -1;

	if (ch->ch_kind == CHILD_WORKER && (slot = master_spawn_slot(ch)) == -1)
		return;
	/* Signals wait until the child has its own signal events. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == -1) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		log_warn("fork");
		master_slot_fold(ch);
		ch->ch_state = CHILD_BACKOFF;
		tv = master_tv(MASTER_BACKOFF_MAX_MS);
		evtimer_add(ch->ch_respawn, &tv);
		return;
	}
	if (pid == 0)
		master_child(ch->ch_kind, ch->ch_id, slot, parent);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (slot >= 0)
		__atomic_store_n(
		    &shm_slot_at(master.m_sh, (uint32_t)slot)->ss_pid,
		    (uint64_t)pid, __ATOMIC_RELEASE);
	ch->ch_pid = pid;
	ch->ch_state = CHILD_RUNNING;
	clock_gettime(CLOCK_MONOTONIC, &ch->ch_start);
	log_debug("%s started, pid %d, generation %llu", master_who(ch),
	    (int)pid, (unsigned long long)ch->ch_generation);
}

/* Tell whether the metrics process is wanted: [stats] listen is set. */
static int
master_metrics_wanted(void)
{
	return master.m_stop == MASTER_RUNNING &&
	    master.m_cf->cf_stats_listen.la_fd != -1;
}

/* Respawn timer: fork the child again, if it still belongs (the logger
 * and the hub always: during a stop the logger still has records to
 * write). */
static void
master_respawn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *ch = arg;

	(void)fd;
	(void)what;
	if (!master_waiting(ch))
		return;
	if (ch->ch_kind == CHILD_METRICS && !master_metrics_wanted())
		ch->ch_state = CHILD_EMPTY;
	else if (ch->ch_kind != CHILD_WORKER ||
	    (master.m_stop == MASTER_RUNNING && !master_is_old(ch)))
		master_spawn(ch);
}

/* Fork a child that died again: at once, or in BACKOFF after a delay. */
static void
master_schedule_respawn(struct child *ch)
{
	struct timeval tv;
	long long delay;
	int shift;

	if (master_ms_since(&ch->ch_start) < MASTER_QUICK_DEATH_MS)
		ch->ch_quick_deaths++;
	else
		ch->ch_quick_deaths = 0;
	if (ch->ch_quick_deaths == 0) {
		master_spawn(ch);
		return;
	}
	shift = ch->ch_quick_deaths - 1;
	delay = shift > 16 ? MASTER_BACKOFF_MAX_MS
			   : (long long)MASTER_BACKOFF_MIN_MS << shift;
	if (delay > MASTER_BACKOFF_MAX_MS)
		delay = MASTER_BACKOFF_MAX_MS;
	if (ch->ch_kind == CHILD_LOGGER && delay > MASTER_LOGGER_BACKOFF_MAX_MS)
		delay = MASTER_LOGGER_BACKOFF_MAX_MS;
	if (ch->ch_kind == CHILD_HUB && delay > MASTER_HUB_BACKOFF_MAX_MS)
		delay = MASTER_HUB_BACKOFF_MAX_MS;
	log_warnx("%s died soon after start; starting it again in %lld ms",
	    master_who(ch), delay);
	ch->ch_state = CHILD_BACKOFF;
	tv = master_tv(delay);
	evtimer_add(ch->ch_respawn, &tv);
}

/* Log how a child ended, unless it ended as asked. */
static void
master_log_exit(struct child *ch, pid_t pid, int status)
{
	int asked = master.m_stop != MASTER_RUNNING || master_ending(ch) ||
	    ch->ch_state == CHILD_HANDING_OVER;

	if (WIFSIGNALED(status)) {
		if (!asked || WTERMSIG(status) == SIGKILL)
			log_warnx("%s (pid %d) killed by signal %d",
			    master_who(ch), (int)pid, WTERMSIG(status));
	} else if (WIFEXITED(status) && (WEXITSTATUS(status) != 0 || !asked))
		log_warnx("%s (pid %d) exited with status %d", master_who(ch),
		    (int)pid, WEXITSTATUS(status));
}

/* Give up a worker entry whose worker is not to come back: EMPTY. */
static void
master_release(struct child *ch)
{
	evtimer_del(ch->ch_respawn);
	master_slot_fold(ch);
	ch->ch_state = CHILD_EMPTY;
	ch->ch_quick_deaths = 0;
}

/* Once no old worker is left, the reload is done. */
static void
master_reload_progress(void)
{
	if (master_reloading())
		return;
	evtimer_del(master.m_drain_timer);
	if (master.m_stop == MASTER_RUNNING)
		log_info("reload done: generation %llu serves alone",
		    (unsigned long long)master.m_generation);
}

/* Fork the logger at once; once it was told to stop, bound its drain. */
static void
master_logger_restart(struct child *ch)
{
	struct timeval tv = master_tv(MASTER_KILL_FAST_MS);

	master_spawn(ch);
	if (master.m_logger_stopped)
		evtimer_add(master.m_kill_timer, &tv);
}

/* Handle the death of the logger: a handover, a respawn, or a stop. */
static void
master_logger_died(struct child *ch)
{
	__atomic_store_n(&master.m_sh->sh_logger_pid, 0, __ATOMIC_RELEASE);
	if (ch->ch_state == CHILD_HANDING_OVER) {
		/* It wrote what it read: its successor starts at once. */
		__atomic_store_n(&master.m_sh->sh_logger_stop,
		    master.m_logger_stopped ? SHM_LOGGER_STOP : SHM_LOGGER_RUN,
		    __ATOMIC_RELEASE);
		master_logger_restart(ch);
	} else if (master.m_stop == MASTER_RUNNING)
		master_schedule_respawn(ch);
	else if ((master_running(1) > 0 || master_rings_pending()) &&
	    ch->ch_quick_deaths++ < MASTER_STOP_LOGGER_TRIES)
		master_logger_restart(ch); /* the records must be written */
	else
		ch->ch_state = CHILD_EMPTY;
}

/*
 * Handle the death of the chat hub: its successor takes over the shared
 * state where it stands (at once, or after a back-off if it died at
 * start); during a stop, it is not replaced.
 */
static void
master_hub_died(struct child *ch)
{
	__atomic_store_n(
	    &shm_chat(master.m_sh)->ch_hub_pid, 0, __ATOMIC_RELEASE);
	if (ch->ch_state == CHILD_HANDING_OVER &&
	    master.m_stop == MASTER_RUNNING)
		master_spawn(ch);
	else if (master.m_stop == MASTER_RUNNING)
		master_schedule_respawn(ch);
	else
		ch->ch_state = CHILD_EMPTY;
}

/*
 * Handle the death of the metrics process: its successor starts at once
 * after a handover, or after a back-off if it died at start; not during a
 * stop, nor once [stats] listen is gone.
 */
static void
master_metrics_died(struct child *ch)
{
	if (!master_metrics_wanted())
		ch->ch_state = CHILD_EMPTY;
	else if (ch->ch_state == CHILD_HANDING_OVER)
		master_spawn(ch);
	else
		master_schedule_respawn(ch);
}

/* Handle the death of a worker: a respawn, or the end of its entry. */
static void
master_worker_died(struct child *ch)
{
	if (master.m_stop != MASTER_RUNNING || master_is_old(ch))
		master_release(ch);
	else {
		master_slot_fold(ch);
		master_schedule_respawn(ch);
	}
}

/* The entry of the child with process id pid, or NULL. */
static struct child *
master_child_of(pid_t pid)
{
	int i;

	for (i = 0; i < master.m_nchildren; i++)
		if (master.m_children[i].ch_pid == pid)
			return &master.m_children[i];
	return NULL;
}

/* SIGCHLD: reap children; respawn them, or finish a reload or a stop. */
static void
master_reap(void)
{
	struct child *ch;
	pid_t pid;
	int status, old_died = 0;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((ch = master_child_of(pid)) == NULL)
			continue;
		ch->ch_pid = 0;
		master_log_exit(ch, pid, status);
		if (ch->ch_kind == CHILD_LOGGER)
			master_logger_died(ch);
		else if (ch->ch_kind == CHILD_HUB)
			master_hub_died(ch);
		else if (ch->ch_kind == CHILD_METRICS)
			master_metrics_died(ch);
		else {
			old_died |= master_is_old(ch);
			master_worker_died(ch);
			/* Its chat members leave: the hub looks now. */
			shm_chat_wake_hub(master.m_sh);
		}
	}
	if (old_died)
		master_reload_progress();
	if (master.m_stop != MASTER_RUNNING)
		master_stop_progress();
}

/* The workers are gone: the hub takes what their rings hold and exits. */
static void
master_hub_stop(void)
{
	struct child *hub = &master.m_children[CHILD_HUB];

	evtimer_del(hub->ch_respawn);
	if (hub->ch_pid != 0)
		kill(hub->ch_pid, SIGTERM);
	else
		hub->ch_state = CHILD_EMPTY;
}

/*
 * Move a stop along: once the last worker is gone, tell the logger to
 * drain the rings and exit; once it is gone too, leave the loop.
 */
static void
master_stop_progress(void)
{
	struct child *logger = &master.m_children[CHILD_LOGGER];
	struct timeval tv;

	if (master_running(1) == 0 && !master.m_logger_stopped) {
		master.m_logger_stopped = 1;
		master_hub_stop();
		__atomic_store_n(&master.m_sh->sh_logger_stop, SHM_LOGGER_STOP,
		    __ATOMIC_RELEASE);
		if (logger->ch_state == CHILD_RUNNING)
			kill(logger->ch_pid, SIGTERM);
		else if (logger->ch_pid == 0 && master_rings_pending()) {
			/* Waiting out a respawn back-off: the records cannot.
			 */
			evtimer_del(logger->ch_respawn);
			master_spawn(logger);
		}
		tv = master_tv(MASTER_KILL_FAST_MS);
		evtimer_add(master.m_kill_timer, &tv);
	}
	if (master_running(0) == 0)
		event_base_loopexit(master.m_base, NULL);
}

/* Kill timer: children outstayed the stop; SIGKILL them. */
static void
master_kill_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (master_running(1) > 0) {
		/* The logger stays: it drains what the workers wrote. */
		log_warnx("%d worker(s) still running; killing them",
		    master_running(1));
		master_signal_workers(SIGKILL);
	} else {
		log_warnx("the logger did not finish draining; killing it");
		master_signal_children(SIGKILL);
	}
}

/* The longest a worker of any running generation may take to drain. */
static long long
master_drain_bound_ms(void)
{
	long long bound = master.m_cf->cf_shutdown_timeout;
	int i;

	for (i = MASTER_NSPECIAL; i < master.m_nchildren; i++)
		if (master.m_children[i].ch_pid != 0 &&
		    master.m_children[i].ch_shutdown_ms > bound)
			bound = master.m_children[i].ch_shutdown_ms;
	return bound;
}

/* A stop ends the metrics process at once, and closes its socket. */
static void
master_metrics_stop(void)
{
	struct child *ch = &master.m_children[CHILD_METRICS];

	listen_close(&master.m_cf->cf_stats_listen);
	evtimer_del(ch->ch_respawn);
	if (ch->ch_pid != 0)
		kill(ch->ch_pid, SIGTERM);
	else
		ch->ch_state = CHILD_EMPTY;
}

/* Begin a fast or graceful stop (a fast one may cut a graceful short). */
static void
master_stop(enum master_stop how)
{
	struct timeval tv;
	int i;

	if (master.m_stop >= how)
		return;
	master.m_stop = how;
	log_info(
	    "%s stop requested", how == MASTER_STOP_FAST ? "fast" : "graceful");
	evtimer_del(master.m_handover);
	evtimer_del(master.m_drain_timer);
	/* A worker waiting for a respawn is not respawned. The logger's
	 * respawn stays: the records must still be written. */
	for (i = MASTER_NSPECIAL; i < master.m_nchildren; i++)
		if (master_waiting(&master.m_children[i]))
			master_release(&master.m_children[i]);
	for (i = 0; i < master.m_cf->cf_nlisten; i++)
		listen_close(&master.m_cf->cf_listen[i]);
	master_metrics_stop();
	master_signal_workers(how == MASTER_STOP_FAST ? SIGTERM : SIGQUIT);
	tv = master_tv(how == MASTER_STOP_FAST
		? MASTER_KILL_FAST_MS
		: master_drain_bound_ms() + MASTER_KILL_GRACE_MS);
	evtimer_add(master.m_kill_timer, &tv);
	master_stop_progress();
}

/*
 * Tell an old worker to end, moving it to state to: DRAINING (SIGQUIT),
 * CLOSING (SIGTERM: it closes its connections now) or KILLED (SIGKILL,
 * when it does not). Each step is taken once and in that order, and the
 * drain timer watches the time it takes.
 */
static void
master_end(struct child *ch, enum child_state to)
{
	struct timeval tv = master_tv(MASTER_DRAIN_CHECK_MS);

	if (ch->ch_pid == 0 || (master_ending(ch) && to <= ch->ch_state))
		return;
	if (!master_ending(ch))
		clock_gettime(CLOCK_MONOTONIC, &ch->ch_ended_at);
	ch->ch_state = to;
	kill(ch->ch_pid, master_end_signals[to]);
	if (!evtimer_pending(master.m_drain_timer, NULL))
		evtimer_add(master.m_drain_timer, &tv);
}

/*
 * Drain timer: an old worker gets its own shutdown_timeout to drain, plus
 * MASTER_KILL_GRACE_MS; one that outstays it (stopped, or stuck) is
 * killed, so that it cannot hold its slot for ever.
 */
static void
master_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = master_tv(MASTER_DRAIN_CHECK_MS);
	struct child *ch;
	int i, left = 0;

	(void)fd;
	(void)what;
	(void)arg;
	for (i = MASTER_NSPECIAL; i < master.m_nchildren; i++) {
		ch = &master.m_children[i];
		if (!master_ending(ch))
			continue;
		left++;
		if (ch->ch_state != CHILD_KILLED &&
		    master_ms_since(&ch->ch_ended_at) >
			ch->ch_shutdown_ms + MASTER_KILL_GRACE_MS) {
			log_warnx("%s (pid %d) of generation %llu still runs "
				  "%lld ms after it was told to end; killing "
				  "it",
			    master_who(ch), (int)ch->ch_pid,
			    (unsigned long long)ch->ch_generation,
			    master_ms_since(&ch->ch_ended_at));
			master_end(ch, CHILD_KILLED);
		}
	}
	if (left > 0)
		evtimer_add(master.m_drain_timer, &tv);
}

/*
 * No slot is free for a worker of the current generation: make one, by
 * ending the old worker that has drained longest (its clients are cut
 * short; a reload must not wait for them). Nothing is done while a slot
 * is about to free itself: a worker CLOSING or KILLED, or an exited
 * worker's ring that the logger is emptying.
 */
static void
master_reclaim_slot(void)
{
	struct child *ch, *oldest = NULL;
	uint32_t i;
	int j;

	for (i = 0; i < shm_nslots(); i++)
		if (__atomic_load_n(&shm_slot_at(master.m_sh, i)->ss_state,
			__ATOMIC_ACQUIRE) == SHM_SLOT_EXITED)
			return;
	for (j = MASTER_NSPECIAL; j < master.m_nchildren; j++) {
		ch = &master.m_children[j];
		if (!master_ending(ch))
			continue;
		if (ch->ch_state != CHILD_DRAINING)
			return;
		if (oldest == NULL ||
		    ch->ch_ended_at.tv_sec < oldest->ch_ended_at.tv_sec ||
		    (ch->ch_ended_at.tv_sec == oldest->ch_ended_at.tv_sec &&
			ch->ch_ended_at.tv_nsec < oldest->ch_ended_at.tv_nsec))
			oldest = ch;
	}
	if (oldest == NULL)
		return;
	log_warnx("no free worker slot for generation %llu: %s (pid %d) of "
		  "generation %llu, draining for %lld ms, closes its "
		  "connections now",
	    (unsigned long long)master.m_generation, master_who(oldest),
	    (int)oldest->ch_pid, (unsigned long long)oldest->ch_generation,
	    master_ms_since(&oldest->ch_ended_at));
	master_end(oldest, CHILD_CLOSING);
}

/*
 * Hand over to the current generation if it is ready: every worker of it
 * serves (or MASTER_HANDOVER_MS passed and one does). Then the older
 * generations drain. Return 1 if it did, 0 if the current one is not
 * ready (until one of its workers serves, the old workers go on serving).
 */
static int
master_handover_try(void)
{
	struct child *ch;
	int i, serving = 0, starting = 0, late;

	late = master_ms_since(&master.m_reloaded) >= MASTER_HANDOVER_MS;
	for (i = MASTER_NSPECIAL; i < master.m_nchildren; i++) {
		ch = &master.m_children[i];
		if (ch->ch_state == CHILD_EMPTY || master_is_old(ch))
			continue;
		if (master_slot_serving(ch))
			serving++;
		else
			starting++;
	}
	if (serving == 0 || (starting > 0 && !late)) {
		if (late && !master.m_handover_late) {
			master.m_handover_late = 1;
			log_warnx("no worker of generation %llu serves after "
				  "%d ms; the older workers go on serving",
			    (unsigned long long)master.m_generation,
			    MASTER_HANDOVER_MS);
		}
		return 0;
	}
	master.m_served = master.m_generation;
	for (i = MASTER_NSPECIAL; i < master.m_nchildren; i++)
		if (master_is_old(&master.m_children[i]))
			master_end(&master.m_children[i], CHILD_DRAINING);
	log_info("generation %llu serves with %d worker(s); older workers "
		 "drain",
	    (unsigned long long)master.m_generation, serving);
	return 1;
}

/* Handover timer: try, and look again later if not yet. */
static void
master_handover_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv;

	(void)fd;
	(void)what;
	(void)arg;
	if (master_handover_try())
		return;
	tv = master_tv(master.m_handover_late ? MASTER_HANDOVER_SLOW_MS
					      : MASTER_HANDOVER_POLL_MS);
	evtimer_add(master.m_handover, &tv);
}

/* Take an EMPTY entry for worker id of the current generation. */
static struct child *
master_entry_new(int id)
{
	struct child *ch;
	int i;

	for (i = MASTER_NSPECIAL; i < master.m_nchildren; i++) {
		ch = &master.m_children[i];
		if (ch->ch_state != CHILD_EMPTY)
			continue;
		ch->ch_id = id;
		ch->ch_generation = master.m_generation;
		ch->ch_shutdown_ms = master.m_cf->cf_shutdown_timeout;
		ch->ch_quick_deaths = 0;
		return ch;
	}
	return NULL; /* cannot happen: the table holds two slot-fulls */
}

/* Fork the workers of the current generation. */
static void
master_spawn_generation(void)
{
	struct child *ch;
	int id;

	for (id = 1; id <= (int)master.m_cf->cf_workers; id++) {
		if ((ch = master_entry_new(id)) == NULL) {
			log_warnx("no entry left for worker %d", id);
			break;
		}
		master_spawn(ch); /* leaves EMPTY: the next id takes another */
	}
}

/*
 * The generation went up: an old worker waiting to be respawned is not. A
 * generation that started but never took over is superseded: it drains
 * now, while the one that serves goes on until the new one does.
 */
static void
master_supersede(void)
{
	struct child *ch;
	int i;

	for (i = MASTER_NSPECIAL; i < master.m_nchildren; i++) {
		ch = &master.m_children[i];
		if (!master_is_old(ch))
			continue;
		if (master_waiting(ch))
			master_release(ch);
		else if (ch->ch_generation > master.m_served)
			master_end(ch, CHILD_DRAINING);
	}
}

/*
 * The logger takes the access log's new path or format by handing over
 * to a successor forked with the new configuration.
 */
static void
master_logger_handover(void)
{
	struct child *logger = &master.m_children[CHILD_LOGGER];

	if (logger->ch_state != CHILD_RUNNING)
		return;
	logger->ch_state = CHILD_HANDING_OVER;
	__atomic_store_n(&master.m_sh->sh_logger_stop, SHM_LOGGER_HANDOVER,
	    __ATOMIC_RELEASE);
	kill(logger->ch_pid, SIGTERM);
	log_info("access log %s: a new logger takes over",
	    master.m_cf->cf_access_log != NULL ? master.m_cf->cf_access_log
					       : "(none)");
}

/* Tell whether two optional paths are the same. */
static int
master_same_path(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
 * Tell whether a reload changes what the hub reads only at its start: the
 * transcript's path, and the Redis keys ([chat] redis...).
 */
static int
master_hub_keys_changed(const struct config *next, const struct config *cur)
{
	return !master_same_path(
		   next->cf_chat_transcript, cur->cf_chat_transcript) ||
	    !master_same_path(next->cf_chat_redis, cur->cf_chat_redis) ||
	    strcmp(next->cf_chat_redis_prefix, cur->cf_chat_redis_prefix) !=
	    0 ||
	    next->cf_chat_redis_stream_length !=
	    cur->cf_chat_redis_stream_length;
}

/*
 * The hub takes a new transcript path or Redis by handing over to a
 * successor.
 */
static void
master_hub_handover(void)
{
	struct child *hub = &master.m_children[CHILD_HUB];

	if (hub->ch_state != CHILD_RUNNING)
		return;
	if (priv_prepare_file(master.m_cf, master.m_cf->cf_chat_transcript) ==
	    -1)
		log_warn("chat transcript %s", master.m_cf->cf_chat_transcript);
	hub->ch_state = CHILD_HANDING_OVER;
	kill(hub->ch_pid, SIGTERM);
	log_info("chat transcript %s, redis %s: a new chat hub takes over",
	    master.m_cf->cf_chat_transcript != NULL
		? master.m_cf->cf_chat_transcript
		: "(none)",
	    master.m_cf->cf_chat_redis != NULL ? master.m_cf->cf_chat_redis
					       : "(none)");
}

/*
 * After a reload that moved, added or removed [stats] listen (fd was the
 * old socket, -1 if none): the metrics process takes the new socket by
 * handing over to a successor, or ends; or one starts.
 */
static void
master_metrics_reload(int fd)
{
	struct child *ch = &master.m_children[CHILD_METRICS];
	const struct listen_addr *la = &master.m_cf->cf_stats_listen;

	if (la->la_fd == fd)
		return;
	if (la->la_fd != -1)
		log_info("metrics on %s", la->la_name);
	if (ch->ch_state == CHILD_RUNNING) {
		ch->ch_state = CHILD_HANDING_OVER;
		kill(ch->ch_pid, SIGTERM);
	} else if (ch->ch_state == CHILD_EMPTY && la->la_fd != -1)
		master_spawn(ch);
}

/*
 * SIGHUP: reload. A bad configuration is logged and counted and changes
 * nothing; a good one starts a new generation (see the top of the file).
 */
static void
master_reload(void)
{
	struct config *next;
	char err[CONFIG_ERR_LEN];
	int logger_changed, hub_changed, stats_fd;
	struct timeval tv;

	if (master.m_stop != MASTER_RUNNING) {
		log_info("SIGHUP ignored: stopping");
		return;
	}
	log_info("reloading %s", master.m_cf->cf_file);
	stats_fd = master.m_cf->cf_stats_listen.la_fd;
	next = reload_prepare(
	    master.m_cf, shm_nslots(), &logger_changed, err, sizeof(err));
	if (next == NULL) {
		log_warnx("reload failed: %s; the running configuration stays "
			  "in force",
		    err);
		__atomic_store_n(&master.m_sh->sh_reloads_failed,
		    master.m_sh->sh_reloads_failed + 1, __ATOMIC_RELAXED);
		return;
	}
	/* A generation that is ready by now takes over before the next. */
	if (evtimer_pending(master.m_handover, NULL) && master_handover_try())
		evtimer_del(master.m_handover);
	hub_changed = master_hub_keys_changed(next, master.m_cf);
	config_free(master.m_cf);
	master.m_cf = next;

	master.m_generation++;
	__atomic_store_n(
	    &master.m_sh->sh_generation, master.m_generation, __ATOMIC_RELEASE);
	master_supersede();
	master.m_handover_late = 0;
	clock_gettime(CLOCK_MONOTONIC, &master.m_reloaded);
	master_spawn_generation();
	tv = master_tv(MASTER_HANDOVER_POLL_MS);
	evtimer_add(master.m_handover, &tv);
	if (logger_changed)
		master_logger_handover();
	if (hub_changed)
		master_hub_handover();
	master_metrics_reload(stats_fd);
	log_info("generation %llu starting: %lld worker(s), %d listener(s)",
	    (unsigned long long)master.m_generation, master.m_cf->cf_workers,
	    master.m_cf->cf_nlisten);
	master_reload_progress();
}

/* SIGUSR1: reopen the error log here, and have every child reopen its. */
static void
master_reopen_logs(void)
{
	if (log_reopen() == -1)
		log_warn("reopen error log");
	else {
		priv_chown(master.m_cf, master.m_cf->cf_error_log);
		log_info("error log reopened");
	}
	/* The logger and the hub may run as the user: give them files. */
	if (priv_prepare_file(master.m_cf, master.m_cf->cf_access_log) == -1)
		log_warn("access log %s", master.m_cf->cf_access_log);
	if (priv_prepare_file(master.m_cf, master.m_cf->cf_chat_transcript) ==
	    -1)
		log_warn("chat transcript %s", master.m_cf->cf_chat_transcript);
	master_signal_children(SIGUSR1);
}

/* Signal event: act on the signal. */
static void
master_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		master_stop(MASTER_STOP_FAST);
		break;
	case SIGQUIT:
		master_stop(MASTER_STOP_GRACEFUL);
		break;
	case SIGHUP:
		master_reload();
		break;
	case SIGUSR1:
		master_reopen_logs();
		break;
	case SIGCHLD:
		master_reap();
		break;
	}
}

/* Set up the master's signal events and timers. */
static void
master_events(void)
{
	struct event *ev;
	size_t i;

	if ((master.m_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	for (i = 0; i < MASTER_NSIGNALS; i++) {
		ev = evsignal_new(
		    master.m_base, master_signals[i], master_signal_cb, NULL);
		if (ev == NULL || evsignal_add(ev, NULL) == -1)
			fatalx("cannot set up signal %d", master_signals[i]);
		master.m_signals[master.m_nsignals++] = ev;
	}
	master.m_kill_timer = evtimer_new(master.m_base, master_kill_cb, NULL);
	master.m_handover =
	    evtimer_new(master.m_base, master_handover_cb, NULL);
	master.m_drain_timer =
	    evtimer_new(master.m_base, master_drain_cb, NULL);
	if (master.m_kill_timer == NULL || master.m_handover == NULL ||
	    master.m_drain_timer == NULL)
		fatalx("evtimer_new failed");
}

/*
 * Set up the child table: the special children's entries (the logger),
 * then room for every slot's worker twice over (the workers alive hold a
 * slot each; the ones waiting for a slot belong to the current
 * generation).
 */
static void
master_table(void)
{
	int i, n = MASTER_NSPECIAL + 2 * (int)shm_nslots();
	struct child *ch;

	if ((master.m_children = calloc((size_t)n, sizeof(struct child))) ==
	    NULL)
		fatal("calloc");
	master.m_nchildren = n;
	for (i = 0; i < n; i++) {
		ch = &master.m_children[i];
		ch->ch_kind =
		    i < MASTER_NSPECIAL ? (enum child_kind)i : CHILD_WORKER;
		ch->ch_slot = -1;
		ch->ch_respawn =
		    evtimer_new(master.m_base, master_respawn_cb, ch);
		if (ch->ch_respawn == NULL)
			fatalx("evtimer_new failed");
	}
}

/* The chat region's parameters of the configuration. */
static void
master_chat_geom(const struct config *cf, struct shm_chat_geom *cg)
{
	cg->cg_ring_size = (uint64_t)cf->cf_chat_ring_size;
	cg->cg_bcast_size = (uint64_t)cf->cf_chat_bcast_size;
	cg->cg_max_rooms = (uint64_t)cf->cf_chat_max_rooms;
	cg->cg_max_members = (uint64_t)cf->cf_chat_max_members;
	cg->cg_history = (uint64_t)cf->cf_chat_history;
	cg->cg_max_message = (uint64_t)cf->cf_chat_max_message;
}

/*
 * Start the special children and the workers and run the master's loop
 * until a stop completes. The master owns cf from here on (a reload
 * replaces it).
 */
int
master_run(struct config *cf)
{
	struct shm_chat_geom cg;
	char err[CONFIG_ERR_LEN];
	int i;

	master.m_cf = cf;
	master_events();
	/* Enough slots for two generations and their crashed predecessors. */
	master_chat_geom(cf, &cg);
	master.m_sh = shm_create(cf->cf_shm_path,
	    (uint32_t)(4 * cf->cf_workers), (uint64_t)cf->cf_ring_size, &cg,
	    (uint64_t)(cf->cf_ip_table_size / SHM_IP_WAYS), err, sizeof(err));
	if (master.m_sh == NULL)
		fatalx("shared memory: %s", err);
	if (shm_chat_wake_init(shm_nslots()) == -1)
		fatal("eventfd");
	master.m_generation = master.m_sh->sh_generation;
	master.m_served = master.m_generation;
	/* Root keeps it; the group may read it (statsdump). */
	priv_chgrp(cf, cf->cf_shm_path);
	if (priv_prepare_file(cf, cf->cf_access_log) == -1)
		fatal("access log %s", cf->cf_access_log);
	if (priv_prepare_file(cf, cf->cf_chat_transcript) == -1)
		fatal("chat transcript %s", cf->cf_chat_transcript);

	master_table();
	for (i = 0; i < MASTER_NSPECIAL; i++)
		if (i != CHILD_METRICS || master_metrics_wanted())
			master_spawn(&master.m_children[i]);
	master_spawn_generation();
	log_info("%s %s started: %lld worker(s), %d listener(s)", PFHTTPD_NAME,
	    PFHTTPD_VERSION, cf->cf_workers, cf->cf_nlisten);
	daemon_ready();

	event_base_dispatch(master.m_base);

	master_free();
	config_free(master.m_cf);
	/* The segment stays: statsdump reports it as stale from now on. */
	shm_detach(master.m_sh);
	return 0;
}
