/*
 * The master process: forks the workers, respawns the ones that die (with
 * back-off when they die at once), and turns signals into actions. Signals
 * arrive as libevent signal events; no work is done in a raw handler.
 *
 *   SIGTERM, SIGINT  fast stop: workers exit now
 *   SIGQUIT          graceful stop: workers finish what is in flight,
 *                    bounded by shutdown_timeout
 *   SIGUSR1          reopen the error log (forwarded to the workers)
 *   SIGHUP           reload (not yet implemented: logged and ignored)
 *   SIGCHLD          reap and respawn
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

/* The signals the master handles, one m_signals[] event each. */
static const int master_signals[] = {
    SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGCHLD};
#define MASTER_NSIGNALS (sizeof(master_signals) / sizeof(master_signals[0]))

enum master_stop {
	MASTER_RUNNING = 0,
	MASTER_STOP_GRACEFUL,
	MASTER_STOP_FAST,
};

/* An entry of the master's child table: the logger (id 0) or a worker. */
struct child {
	pid_t ch_pid;		  /* 0 while not running */
	int ch_id;		  /* 0 for the logger, worker number 1..N */
	int ch_slot;		  /* a worker's shm slot, -1 if none */
	struct timespec ch_start; /* when it was forked */
	int ch_quick_deaths;	  /* consecutive deaths soon after start */
	struct event *ch_respawn; /* delayed respawn timer */
};

/* The master's state; a forked worker releases it in master_forget(). */
static struct {
	struct event_base *m_base;		  /* the master's loop */
	struct config *m_cf;			  /* running configuration */
	struct child *m_children;		  /* one slot per worker */
	int m_nchildren;			  /* entries in m_children */
	struct event *m_signals[MASTER_NSIGNALS]; /* one per signal */
	int m_nsignals;				  /* events in m_signals */
	struct event *m_kill_timer; /* SIGKILLs children that outstay */
	enum master_stop m_stop;    /* running, or how it stops */
	struct shm_header *m_sh;    /* the shared segment */
	int m_logger_stopped;	    /* the logger was told to stop */
} master;

static void master_spawn(struct child *ch);
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
	slot->ss_generation = master.m_sh->sh_generation;
	slot->ss_started = (uint64_t)time(NULL);
	__atomic_store_n(&slot->ss_state, SHM_SLOT_STARTING, __ATOMIC_RELEASE);
	ch->ch_slot = i;
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

/* Send a signal to every running child. */
static void
master_signal_children(int sig)
{
	int i;

	for (i = 0; i < master.m_nchildren; i++)
		if (master.m_children[i].ch_pid != 0)
			kill(master.m_children[i].ch_pid, sig);
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
			log_warnx("no free worker slot (the logger has not "
				  "drained them); worker %d waits",
			    ch->ch_id);
			tv = master_tv(MASTER_BACKOFF_MIN_MS);
			evtimer_add(ch->ch_respawn, &tv);
			return;
		}
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
	log_debug("%s %d started, pid %d", ch->ch_id ? "worker" : "logger",
	    ch->ch_id, (int)pid);
}

/* Respawn timer: start the worker again. */
static void
master_respawn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *ch = arg;

	(void)fd;
	(void)what;
	if (master.m_stop == MASTER_RUNNING && ch->ch_pid == 0)
		master_spawn(ch);
}

/* Respawn a worker that died, at once or after a back-off delay. */
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
	log_warnx("%s %d died soon after start; starting it again in %lld ms",
	    ch->ch_id ? "worker" : "logger", ch->ch_id, delay);
	tv = master_tv(delay);
	evtimer_add(ch->ch_respawn, &tv);
}

/* Log how a child ended, unless it ended as asked. */
static void
master_log_exit(struct child *ch, pid_t pid, int status)
{
	if (WIFSIGNALED(status)) {
		if (master.m_stop == MASTER_RUNNING ||
		    WTERMSIG(status) == SIGKILL)
			log_warnx("%s %d (pid %d) killed by signal %d",
			    ch->ch_id ? "worker" : "logger", ch->ch_id,
			    (int)pid, WTERMSIG(status));
	} else if (WIFEXITED(status) &&
	    (WEXITSTATUS(status) != 0 || master.m_stop == MASTER_RUNNING))
		log_warnx("%s %d (pid %d) exited with status %d",
		    ch->ch_id ? "worker" : "logger", ch->ch_id, (int)pid,
		    WEXITSTATUS(status));
}

/* SIGCHLD: reap children; respawn them, or finish a stop. */
static void
master_reap(void)
{
	struct timeval tv;
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
			__atomic_store_n(
			    &master.m_sh->sh_logger_pid, 0, __ATOMIC_RELEASE);
		master_slot_fold(ch);
		if (master.m_stop == MASTER_RUNNING)
			master_schedule_respawn(ch);
		else if (ch->ch_id == 0 && master_rings_pending() &&
		    ch->ch_quick_deaths++ < MASTER_STOP_LOGGER_TRIES) {
			/* The records must still be written. */
			master_spawn(ch);
			tv = master_tv(MASTER_KILL_FAST_MS);
			evtimer_add(master.m_kill_timer, &tv);
		}
	}
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
	int i;

	struct timeval tv;

	if (master_running(1) == 0 && !master.m_logger_stopped) {
		master.m_logger_stopped = 1;
		__atomic_store_n(
		    &master.m_sh->sh_logger_stop, 1, __ATOMIC_RELEASE);
		for (i = 0; i < master.m_nchildren; i++)
			if (master.m_children[i].ch_id == 0 &&
			    master.m_children[i].ch_pid != 0)
				kill(master.m_children[i].ch_pid, SIGTERM);
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
	for (i = 0; i < master.m_nchildren; i++)
		evtimer_del(master.m_children[i].ch_respawn);
	for (i = 0; i < master.m_cf->cf_nlisten; i++)
		listen_close(&master.m_cf->cf_listen[i]);
	master_signal_workers(how == MASTER_STOP_FAST ? SIGTERM : SIGQUIT);
	tv = master_tv(how == MASTER_STOP_FAST
		? MASTER_KILL_FAST_MS
		: master.m_cf->cf_shutdown_timeout + MASTER_KILL_GRACE_MS);
	evtimer_add(master.m_kill_timer, &tv);
	master_stop_progress();
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
		log_warnx("SIGHUP: configuration reload is not implemented "
			  "yet; restart to apply changes");
		break;
	case SIGUSR1:
		if (log_reopen() == -1)
			log_warn("reopen error log");
		else {
			priv_chown(master.m_cf, master.m_cf->cf_error_log);
			log_info("error log reopened");
		}
		/* The logger may run as the user: give it a file to open. */
		if (priv_prepare_file(
			master.m_cf, master.m_cf->cf_access_log) == -1)
			log_warn("access log %s", master.m_cf->cf_access_log);
		master_signal_children(SIGUSR1);
		break;
	case SIGCHLD:
		master_reap();
		break;
	}
}

/* Start the workers and run the master's loop until a stop completes. */
int
master_run(struct config *cf)
{
	char err[CONFIG_ERR_LEN];
	struct event *ev;
	size_t i;
	int n;

	master.m_cf = cf;
	if ((master.m_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	for (i = 0; i < MASTER_NSIGNALS; i++) {
		ev = evsignal_new(
		    master.m_base, master_signals[i], master_signal_cb, NULL);
		if (ev == NULL || evsignal_add(ev, NULL) == -1)
			fatalx("cannot set up signal %d", master_signals[i]);
		master.m_signals[master.m_nsignals++] = ev;
	}
	if ((master.m_kill_timer =
		    evtimer_new(master.m_base, master_kill_cb, NULL)) == NULL)
		fatalx("evtimer_new failed");

	n = (int)cf->cf_workers;
	/* Enough slots for two generations and their crashed predecessors. */
	master.m_sh = shm_create(cf->cf_shm_path, (uint32_t)(4 * n),
	    (uint64_t)cf->cf_ring_size, err, sizeof(err));
	if (master.m_sh == NULL)
		fatalx("shared memory: %s", err);
	/* Root keeps it; the group may read it (statsdump). */
	priv_chgrp(cf, cf->cf_shm_path);
	if (priv_prepare_file(cf, cf->cf_access_log) == -1)
		fatal("access log %s", cf->cf_access_log);

	/* Entry 0 is the logger; the workers follow. */
	if ((master.m_children = calloc((size_t)n + 1, sizeof(struct child))) ==
	    NULL)
		fatal("calloc");
	master.m_nchildren = n + 1;
	for (i = 0; i < (size_t)n + 1; i++) {
		master.m_children[i].ch_id = (int)i;
		master.m_children[i].ch_slot = -1;
		master.m_children[i].ch_respawn = evtimer_new(
		    master.m_base, master_respawn_cb, &master.m_children[i]);
		if (master.m_children[i].ch_respawn == NULL)
			fatalx("evtimer_new failed");
	}
	for (i = 0; i < (size_t)n + 1; i++)
		master_spawn(&master.m_children[i]);
	log_info("%s %s started: %d worker(s), %d listener(s)", PFHTTPD_NAME,
	    PFHTTPD_VERSION, n, cf->cf_nlisten);
	daemon_ready();

	event_base_dispatch(master.m_base);

	for (i = 0; i < (size_t)cf->cf_nlisten; i++)
		listen_close(&cf->cf_listen[i]);
	for (i = 0; i < (size_t)master.m_nsignals; i++)
		event_free(master.m_signals[i]);
	for (i = 0; i < (size_t)master.m_nchildren; i++)
		event_free(master.m_children[i].ch_respawn);
	event_free(master.m_kill_timer);
	free(master.m_children);
	event_base_free(master.m_base);
	/* The segment stays: statsdump reports it as stale from now on. */
	shm_detach(master.m_sh);
	return 0;
}
