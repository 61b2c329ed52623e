/*
 * The master process: forks the logger and the workers, respawns the ones
 * that die (with back-off when they die at once), runs reloads, and turns
 * signals into actions. Signals arrive as libevent signal events; no work
 * is done in a raw handler.
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

#define MASTER_QUICK_DEATH_MS	     1000 /* a worker dying sooner died "at once" */
#define MASTER_BACKOFF_MIN_MS	     250   /* first delay after a quick death */
#define MASTER_BACKOFF_MAX_MS	     30000 /* longest delay between respawns */
#define MASTER_KILL_FAST_MS	     5000  /* fast stop: SIGKILL after this */
#define MASTER_KILL_GRACE_MS	     2000 /* graceful stop: beyond the timeout */
#define MASTER_LOGGER_BACKOFF_MAX_MS 1000 /* the rings fill meanwhile */
#define MASTER_STOP_LOGGER_TRIES     3	  /* loggers started to drain a stop */
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
 * An entry of the master's child table: the logger (entry 0) or a worker
 * of some generation. A worker entry is in use from its first fork until
 * it exits for good; a respawn reuses it.
 */
struct child {
	int ch_used;		     /* the entry belongs to a child */
	pid_t ch_pid;		     /* 0 while not running */
	int ch_id;		     /* 0 for the logger, worker number 1..N */
	uint64_t ch_generation;	     /* a worker's generation */
	int ch_ended;		     /* 0, or the signal sent to end an old
					worker: SIGQUIT, then SIGTERM, SIGKILL */
	struct timespec ch_ended_at; /* when it was first told */
	long long ch_shutdown_ms;    /* its configuration's shutdown_timeout */
	int ch_handover;	     /* the logger exits for a successor */
	int ch_slot;		     /* a worker's shm slot, -1 if none */
	struct timespec ch_start;    /* when it was forked */
	int ch_quick_deaths;	     /* consecutive deaths soon after start */
	int ch_slot_wait;	     /* waits for a free slot (said once) */
	struct event *ch_respawn;    /* delayed respawn timer */
};

/* The master's state; a forked child releases it in master_forget(). */
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
	int m_reloading;	     /* old generations still running */
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

	if (ch->ch_id == 0)
		return "logger";
	snprintf(buf, sizeof(buf), "worker %d", ch->ch_id);
	return buf;
}

/* Tell whether entry ch is a worker of a generation before the current. */
static int
master_is_old(const struct child *ch)
{
	return ch->ch_used && ch->ch_id != 0 &&
	    ch->ch_generation < master.m_generation;
}

/* Count the running children: all of them, or the workers only. */
static int
master_running(int workers_only)
{
	int i, n = 0;

	for (i = 0; i < master.m_nchildren; i++)
		if (master.m_children[i].ch_pid != 0 &&
		    (!workers_only || master.m_children[i].ch_id != 0))
			n++;
	return n;
}

/* Send a signal to every running worker. */
static void
master_signal_workers(int sig)
{
	int i;

	for (i = 0; i < master.m_nchildren; i++)
		if (master.m_children[i].ch_pid != 0 &&
		    master.m_children[i].ch_id != 0)
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
	seq = sh->sh_fold_seq;
	__atomic_store_n(&sh->sh_fold_seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	shm_counters_add(&sh->sh_retired, &c);
	__atomic_store_n(&slot->ss_pid, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->ss_state, SHM_SLOT_EXITED, __ATOMIC_RELAXED);
	__atomic_store_n(&sh->sh_fold_seq, seq + 2, __ATOMIC_RELEASE);
	ch->ch_slot = -1;
}

/* Release, in a new child, what belongs to the master alone. */
static void
master_forget(void)
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
}

/* Fork the logger or a worker into the table entry ch. */
static void
master_spawn(struct child *ch)
{
	struct timeval tv;
	sigset_t all, old;
	pid_t pid, parent = getpid();
	int slot = -1;

	if (ch->ch_id != 0) {
		if ((slot = master_slot_alloc()) == -1) {
			if (!ch->ch_slot_wait)
				log_warnx("no free worker slot (old workers "
					  "still drain, or the logger has not "
					  "emptied their rings); worker %d "
					  "waits",
				    ch->ch_id);
			ch->ch_slot_wait = 1;
			if (!master_is_old(ch))
				master_reclaim_slot();
			tv = master_tv(MASTER_BACKOFF_MIN_MS);
			evtimer_add(ch->ch_respawn, &tv);
			return;
		}
		ch->ch_slot_wait = 0;
		master_slot_prepare(ch, slot);
	}

	/* Signals wait until the worker has its own signal events. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == -1) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		log_warn("fork");
		master_slot_fold(ch);
		tv = master_tv(MASTER_BACKOFF_MAX_MS);
		evtimer_add(ch->ch_respawn, &tv);
		return;
	}
	if (pid == 0) {
		struct event_base *base;
		int i, id = ch->ch_id;

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(0);
		/*
		 * A respawn forks from inside the master's loop, which libevent
		 * will not run again (reentrant dispatch): the worker gets a
		 * base of its own. Reinit first, so that freeing the master's
		 * events does not touch the parent's epoll set.
		 */
		if (event_reinit(master.m_base) == -1)
			fatalx("event_reinit failed");
		master_forget();
		daemon_forget();
		event_base_free(master.m_base);
		if (id == 0) {
			/* The logger takes no connections. */
			for (i = 0; i < master.m_cf->cf_nlisten; i++)
				listen_close(&master.m_cf->cf_listen[i]);
			logger_main(master.m_cf, master.m_sh);
		}
		if ((base = event_base_new()) == NULL)
			fatalx("event_base_new failed");
		worker_main(base, master.m_cf, id, master.m_sh, (uint32_t)slot);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (slot >= 0)
		__atomic_store_n(
		    &shm_slot_at(master.m_sh, (uint32_t)slot)->ss_pid,
		    (uint64_t)pid, __ATOMIC_RELEASE);
	ch->ch_pid = pid;
	clock_gettime(CLOCK_MONOTONIC, &ch->ch_start);
	log_debug("%s started, pid %d, generation %llu", master_who(ch),
	    (int)pid, (unsigned long long)ch->ch_generation);
}

/* Respawn timer: start the child again, if it still belongs (the logger
 * always: during a stop it still has records to write). */
static void
master_respawn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *ch = arg;

	(void)fd;
	(void)what;
	if (!ch->ch_used || ch->ch_pid != 0)
		return;
	if (ch->ch_id == 0 ||
	    (master.m_stop == MASTER_RUNNING && !master_is_old(ch)))
		master_spawn(ch);
}

/* Respawn a child that died, at once or after a back-off delay. */
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
	if (ch->ch_id == 0 && delay > MASTER_LOGGER_BACKOFF_MAX_MS)
		delay = MASTER_LOGGER_BACKOFF_MAX_MS;
	log_warnx("%s died soon after start; starting it again in %lld ms",
	    master_who(ch), delay);
	tv = master_tv(delay);
	evtimer_add(ch->ch_respawn, &tv);
}

/* Log how a child ended, unless it ended as asked. */
static void
master_log_exit(struct child *ch, pid_t pid, int status)
{
	int asked =
	    master.m_stop != MASTER_RUNNING || ch->ch_ended || ch->ch_handover;

	if (WIFSIGNALED(status)) {
		if (!asked || WTERMSIG(status) == SIGKILL)
			log_warnx("%s (pid %d) killed by signal %d",
			    master_who(ch), (int)pid, WTERMSIG(status));
	} else if (WIFEXITED(status) && (WEXITSTATUS(status) != 0 || !asked))
		log_warnx("%s (pid %d) exited with status %d", master_who(ch),
		    (int)pid, WEXITSTATUS(status));
}

/* Give up a worker entry whose worker is not to come back. */
static void
master_release(struct child *ch)
{
	evtimer_del(ch->ch_respawn);
	master_slot_fold(ch);
	ch->ch_used = 0;
	ch->ch_ended = 0;
	ch->ch_quick_deaths = 0;
}

/* Once no old worker is left, finish the reload. */
static void
master_reload_progress(void)
{
	int i;

	if (!master.m_reloading)
		return;
	for (i = 1; i < master.m_nchildren; i++)
		if (master_is_old(&master.m_children[i]))
			return;
	master.m_reloading = 0;
	evtimer_del(master.m_drain_timer);
	if (master.m_stop == MASTER_RUNNING)
		log_info("reload done: generation %llu serves alone",
		    (unsigned long long)master.m_generation);
}

/* Handle the death of the logger: a handover, a respawn, or a stop. */
static void
master_logger_died(struct child *ch)
{
	struct timeval tv;

	__atomic_store_n(&master.m_sh->sh_logger_pid, 0, __ATOMIC_RELEASE);
	if (ch->ch_handover) {
		/* It wrote what it read: its successor starts at once. */
		ch->ch_handover = 0;
		__atomic_store_n(&master.m_sh->sh_logger_stop,
		    master.m_logger_stopped ? SHM_LOGGER_STOP : SHM_LOGGER_RUN,
		    __ATOMIC_RELEASE);
		master_spawn(ch);
		tv = master_tv(MASTER_KILL_FAST_MS);
		if (master.m_logger_stopped)
			evtimer_add(master.m_kill_timer, &tv);
	} else if (master.m_stop == MASTER_RUNNING)
		master_schedule_respawn(ch);
	else if ((master_running(1) > 0 || master_rings_pending()) &&
	    ch->ch_quick_deaths++ < MASTER_STOP_LOGGER_TRIES) {
		/* The records must still be written. */
		master_spawn(ch);
		tv = master_tv(MASTER_KILL_FAST_MS);
		if (master.m_logger_stopped)
			evtimer_add(master.m_kill_timer, &tv);
	}
}

/* SIGCHLD: reap children; respawn them, or finish a reload or a stop. */
static void
master_reap(void)
{
	struct child *ch;
	pid_t pid;
	int i, status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (ch = NULL, i = 0; i < master.m_nchildren; i++)
			if (master.m_children[i].ch_pid == pid)
				ch = &master.m_children[i];
		if (ch == NULL)
			continue;
		ch->ch_pid = 0;
		master_log_exit(ch, pid, status);
		if (ch->ch_id == 0)
			master_logger_died(ch);
		else if (master.m_stop != MASTER_RUNNING || master_is_old(ch))
			master_release(ch);
		else {
			master_slot_fold(ch);
			master_schedule_respawn(ch);
		}
	}
	master_reload_progress();
	if (master.m_stop != MASTER_RUNNING)
		master_stop_progress();
}

/*
 * Move a stop along: once the last worker is gone, tell the logger to
 * drain the rings and exit; once it is gone too, leave the loop.
 */
static void
master_stop_progress(void)
{
	struct child *logger = &master.m_children[0];
	struct timeval tv;

	if (master_running(1) == 0 && !master.m_logger_stopped) {
		master.m_logger_stopped = 1;
		__atomic_store_n(&master.m_sh->sh_logger_stop, SHM_LOGGER_STOP,
		    __ATOMIC_RELEASE);
		if (logger->ch_pid != 0 && !logger->ch_handover)
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

	for (i = 1; i < master.m_nchildren; i++)
		if (master.m_children[i].ch_pid != 0 &&
		    master.m_children[i].ch_shutdown_ms > bound)
			bound = master.m_children[i].ch_shutdown_ms;
	return bound;
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
	/* The logger's respawn stays: the records must still be written. */
	for (i = 1; i < master.m_nchildren; i++) {
		evtimer_del(master.m_children[i].ch_respawn);
		if (master.m_children[i].ch_id != 0 &&
		    master.m_children[i].ch_pid == 0 &&
		    master.m_children[i].ch_used)
			master_release(&master.m_children[i]);
	}
	for (i = 0; i < master.m_cf->cf_nlisten; i++)
		listen_close(&master.m_cf->cf_listen[i]);
	master_signal_workers(how == MASTER_STOP_FAST ? SIGTERM : SIGQUIT);
	tv = master_tv(how == MASTER_STOP_FAST
		? MASTER_KILL_FAST_MS
		: master_drain_bound_ms() + MASTER_KILL_GRACE_MS);
	evtimer_add(master.m_kill_timer, &tv);
	master_stop_progress();
}

/* Order the ways to end a worker: none, SIGQUIT, SIGTERM, SIGKILL. */
static int
master_end_rank(int sig)
{
	switch (sig) {
	case SIGQUIT:
		return 1;
	case SIGTERM:
		return 2;
	case SIGKILL:
		return 3;
	default:
		return 0;
	}
}

/*
 * Tell an old worker to end: SIGQUIT to drain, SIGTERM to close its
 * connections now, SIGKILL when it does not. Each signal is sent once,
 * and the drain timer watches the time it takes.
 */
static void
master_end(struct child *ch, int sig)
{
	struct timeval tv = master_tv(MASTER_DRAIN_CHECK_MS);

	if (ch->ch_pid == 0 ||
	    master_end_rank(sig) <= master_end_rank(ch->ch_ended))
		return;
	if (ch->ch_ended == 0)
		clock_gettime(CLOCK_MONOTONIC, &ch->ch_ended_at);
	ch->ch_ended = sig;
	kill(ch->ch_pid, sig);
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
	for (i = 1; i < master.m_nchildren; i++) {
		ch = &master.m_children[i];
		if (ch->ch_pid == 0 || ch->ch_ended == 0)
			continue;
		left++;
		if (ch->ch_ended != SIGKILL &&
		    master_ms_since(&ch->ch_ended_at) >
			ch->ch_shutdown_ms + MASTER_KILL_GRACE_MS) {
			log_warnx("%s (pid %d) of generation %llu still runs "
				  "%lld ms after it was told to end; killing "
				  "it",
			    master_who(ch), (int)ch->ch_pid,
			    (unsigned long long)ch->ch_generation,
			    master_ms_since(&ch->ch_ended_at));
			master_end(ch, SIGKILL);
		}
	}
	if (left > 0)
		evtimer_add(master.m_drain_timer, &tv);
}

/*
 * No slot is free for a worker of the current generation: make one, by
 * ending the old worker that has drained longest (its clients are cut
 * short; a reload must not wait for them). Nothing is done while a slot
 * is about to free itself: a worker already told to end, or an exited
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
	for (j = 1; j < master.m_nchildren; j++) {
		ch = &master.m_children[j];
		if (ch->ch_pid == 0 || ch->ch_ended == 0)
			continue;
		if (ch->ch_ended != SIGQUIT)
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
	master_end(oldest, SIGTERM);
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
	for (i = 1; i < master.m_nchildren; i++) {
		ch = &master.m_children[i];
		if (!ch->ch_used || master_is_old(ch))
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
	for (i = 1; i < master.m_nchildren; i++)
		if (master_is_old(&master.m_children[i]))
			master_end(&master.m_children[i], SIGQUIT);
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

/* Take a free worker entry for worker id of the current generation. */
static struct child *
master_entry_new(int id)
{
	struct child *ch;
	int i;

	for (i = 1; i < master.m_nchildren; i++) {
		ch = &master.m_children[i];
		if (ch->ch_used)
			continue;
		ch->ch_used = 1;
		ch->ch_pid = 0;
		ch->ch_id = id;
		ch->ch_generation = master.m_generation;
		ch->ch_shutdown_ms = master.m_cf->cf_shutdown_timeout;
		ch->ch_ended = 0;
		ch->ch_slot = -1;
		ch->ch_quick_deaths = 0;
		ch->ch_slot_wait = 0;
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
		master_spawn(ch);
	}
}

/*
 * SIGHUP: reload. A bad configuration is logged and counted and changes
 * nothing; a good one starts a new generation (see the top of the file).
 */
static void
master_reload(void)
{
	struct child *ch, *logger = &master.m_children[0];
	struct config *next;
	char err[CONFIG_ERR_LEN];
	int logger_changed, i;
	struct timeval tv;

	if (master.m_stop != MASTER_RUNNING) {
		log_info("SIGHUP ignored: stopping");
		return;
	}
	log_info("reloading %s", master.m_cf->cf_file);
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
	config_free(master.m_cf);
	master.m_cf = next;

	master.m_generation++;
	__atomic_store_n(
	    &master.m_sh->sh_generation, master.m_generation, __ATOMIC_RELEASE);
	/*
	 * An old worker waiting to be respawned is not. A generation that
	 * started but never took over is superseded: it drains now, while
	 * the one that serves goes on until the new one does.
	 */
	for (i = 1; i < master.m_nchildren; i++) {
		ch = &master.m_children[i];
		if (!master_is_old(ch))
			continue;
		if (ch->ch_pid == 0)
			master_release(ch);
		else if (ch->ch_generation > master.m_served)
			master_end(ch, SIGQUIT);
	}
	master.m_reloading = 1;
	master.m_handover_late = 0;
	clock_gettime(CLOCK_MONOTONIC, &master.m_reloaded);
	master_spawn_generation();
	tv = master_tv(MASTER_HANDOVER_POLL_MS);
	evtimer_add(master.m_handover, &tv);

	/* The logger takes the access log's new path or format by handing
	 * over to a successor forked with the new configuration. */
	if (logger_changed && logger->ch_pid != 0 && !logger->ch_handover) {
		logger->ch_handover = 1;
		__atomic_store_n(&master.m_sh->sh_logger_stop,
		    SHM_LOGGER_HANDOVER, __ATOMIC_RELEASE);
		kill(logger->ch_pid, SIGTERM);
		log_info("access log %s: a new logger takes over",
		    master.m_cf->cf_access_log != NULL
			? master.m_cf->cf_access_log
			: "(none)");
	}
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
	/* The logger may run as the user: give it a file to open. */
	if (priv_prepare_file(master.m_cf, master.m_cf->cf_access_log) == -1)
		log_warn("access log %s", master.m_cf->cf_access_log);
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
 * Set up the child table: the logger, then room for every slot's worker
 * twice over (the workers alive hold a slot each; the ones waiting for a
 * slot belong to the current generation).
 */
static void
master_table(void)
{
	int i, n = 1 + 2 * (int)shm_nslots();

	if ((master.m_children = calloc((size_t)n, sizeof(struct child))) ==
	    NULL)
		fatal("calloc");
	master.m_nchildren = n;
	for (i = 0; i < n; i++) {
		master.m_children[i].ch_slot = -1;
		master.m_children[i].ch_respawn = evtimer_new(
		    master.m_base, master_respawn_cb, &master.m_children[i]);
		if (master.m_children[i].ch_respawn == NULL)
			fatalx("evtimer_new failed");
	}
	master.m_children[0].ch_used = 1; /* the logger, id 0 */
}

/*
 * Start the logger and the workers and run the master's loop until a stop
 * completes. The master owns cf from here on (a reload replaces it).
 */
int
master_run(struct config *cf)
{
	char err[CONFIG_ERR_LEN];
	int i;

	master.m_cf = cf;
	master_events();
	/* Enough slots for two generations and their crashed predecessors. */
	master.m_sh =
	    shm_create(cf->cf_shm_path, (uint32_t)(4 * cf->cf_workers),
		(uint64_t)cf->cf_ring_size, err, sizeof(err));
	if (master.m_sh == NULL)
		fatalx("shared memory: %s", err);
	master.m_generation = master.m_sh->sh_generation;
	master.m_served = master.m_generation;
	/* Root keeps it; the group may read it (statsdump). */
	priv_chgrp(cf, cf->cf_shm_path);
	if (priv_prepare_file(cf, cf->cf_access_log) == -1)
		fatal("access log %s", cf->cf_access_log);

	master_table();
	master_spawn(&master.m_children[0]);
	master_spawn_generation();
	log_info("%s %s started: %lld worker(s), %d listener(s)", PFHTTPD_NAME,
	    PFHTTPD_VERSION, cf->cf_workers, cf->cf_nlisten);
	daemon_ready();

	event_base_dispatch(master.m_base);

	for (i = 0; i < master.m_nsignals; i++)
		event_free(master.m_signals[i]);
	for (i = 0; i < master.m_nchildren; i++)
		event_free(master.m_children[i].ch_respawn);
	event_free(master.m_kill_timer);
	event_free(master.m_handover);
	event_free(master.m_drain_timer);
	free(master.m_children);
	event_base_free(master.m_base);
	config_free(master.m_cf);
	/* The segment stays: statsdump reports it as stale from now on. */
	shm_detach(master.m_sh);
	return 0;
}
