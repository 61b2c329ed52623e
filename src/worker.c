/*
 * A worker process: one libevent loop that accepts connections on the
 * inherited listening sockets and serves them. Accept pauses when the
 * worker holds max_connections or the process runs out of descriptors,
 * and resumes when a connection closes or a short retry timer fires.
 *
 *   SIGTERM, SIGINT  exit now
 *   SIGQUIT          stop accepting, finish the requests in flight, give
 *                    idle connections a last short chance to send one,
 *                    exit (bounded by shutdown_timeout); the master sends
 *                    it on a graceful stop and to the old workers of a
 *                    reload
 *   SIGUSR1          reopen the error log
 *   SIGHUP           ignored (the master handles it)
 */

#include <sys/prctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "pfhttpd.h"
#include "shm.h"

#define WORKER_ACCEPT_BATCH    64  /* accepts per wake-up and listener */
#define WORKER_ACCEPT_RETRY_MS 500 /* pause after EMFILE and friends */
#define WORKER_ACCEPT_WARN_S   60  /* seconds between two such warnings */
#define WORKER_FDS_PER_CONN    2   /* a socket, and a file being sent */
#define WORKER_FDS_RESERVE     64  /* listeners, logs, shm, the loop, ... */

/* The signals a worker handles, one w_signals[] event each. */
static const int worker_signals[] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1};
_Static_assert(
    sizeof(worker_signals) / sizeof(worker_signals[0]) == WORKER_NSIGNALS,
    "WORKER_NSIGNALS must count worker_signals[]");

static void worker_accept_resume(struct worker *w);

/* Stop watching the listening sockets. */
static void
worker_accept_pause(struct worker *w)
{
	int i;

	if (!w->w_accepting)
		return;
	for (i = 0; i < w->w_cf->cf_nlisten; i++)
		event_del(w->w_accept[i]);
	w->w_accepting = 0;
}

/* Watch the listening sockets again, if below the connection limit. */
static void
worker_accept_resume(struct worker *w)
{
	int i;

	if (w->w_accepting || w->w_draining ||
	    w->w_nconns >= w->w_cf->cf_max_connections)
		return;
	for (i = 0; i < w->w_cf->cf_nlisten; i++)
		event_add(w->w_accept[i], NULL);
	w->w_accepting = 1;
}

/* Retry timer: try accepting again after running out of descriptors. */
static void
worker_accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	worker_accept_resume(arg);
}

/* Log that accept ran out of resources, at most once a minute. */
static void
worker_accept_warn(struct worker *w)
{
	time_t now = time(NULL);

	if (now - w->w_accept_warned < WORKER_ACCEPT_WARN_S)
		return;
	w->w_accept_warned = now;
	log_warn("accept: pausing for %d ms (warned at most once a minute)",
	    WORKER_ACCEPT_RETRY_MS);
}

/* A listening socket is readable: accept a batch of connections. */
static void
worker_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct worker *w = arg;
	struct sockaddr_storage ss;
	struct timeval tv = {0, WORKER_ACCEPT_RETRY_MS * 1000};
	const struct conn_kind *kind = &http_kind;
	const struct conn_io *io = &io_plain;
	const struct listen_addr *la = NULL;
	socklen_t len;
	int fd, i;

	(void)what;
	for (i = 0; i < w->w_cf->cf_nlisten; i++) {
		if (w->w_lfd[i] != lfd)
			continue;
		la = &w->w_cf->cf_listen[i];
		if (w->w_cf->cf_listen[i].la_chat)
			kind = &telnetchat_kind;
		if (w->w_cf->cf_listen[i].la_tls)
			io = &io_tls;
	}
	for (i = 0; i < WORKER_ACCEPT_BATCH && w->w_accepting; i++) {
		len = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			switch (errno) {
			case EAGAIN:
			case ECONNABORTED:
			case EINTR:
				return;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				worker_accept_warn(w);
				worker_accept_pause(w);
				evtimer_add(w->w_accept_retry, &tv);
				return;
			default:
				log_warn("accept");
				return;
			}
		}
		conn_accept(w, fd, (struct sockaddr *)&ss, la, kind, io);
		if (w->w_nconns >= w->w_cf->cf_max_connections)
			worker_accept_pause(w);
	}
}

/* A connection has closed: accept again, or finish a graceful stop. */
void
worker_conn_closed(struct worker *w)
{
	if (w->w_draining) {
		if (w->w_nconns == 0)
			event_base_loopexit(w->w_base, NULL);
		return;
	}
	if (!evtimer_pending(w->w_accept_retry, NULL))
		worker_accept_resume(w);
}

/* Return the log2 latency bucket of a duration in microseconds. */
static unsigned
worker_latency_bucket(unsigned long long usec)
{
	unsigned b = 0;

	while (usec > 1 && b < SHM_LATENCY_BUCKETS - 1) {
		usec >>= 1;
		b++;
	}
	return b;
}

/*
 * The one place that sees every finished request: count it in the slot
 * and hand its access record to the logger, encoded straight into the
 * ring (one copy). The worker never blocks here: a full ring drops the
 * record and counts the drop.
 */
void
worker_request_done(
    struct worker *w, struct logrec_access *ac, uint64_t resp_bytes)
{
	struct shm_counters *sc = &w->w_slot->ss_c;
	struct logring_slot ls;
	struct timespec now;

	shm_count(&sc->sc_requests, 1);
	shm_count(&sc->sc_bytes_out, resp_bytes);
	if (ac->ac_status >= 0 && ac->ac_status < SHM_STATUS_MAX)
		shm_count(&sc->sc_responses[ac->ac_status], 1);
	shm_count(
	    &sc->sc_latency[worker_latency_bucket(ac->ac_duration_usec)], 1);

	if (w->w_cf->cf_access_log == NULL)
		return; /* no access log: no records, no ring cost */
	clock_gettime(CLOCK_REALTIME, &now);
	ac->ac_time_usec =
	    (uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec / 1000;
	if (logring_reserve(
		w->w_ring, shm_ring_size(), logrec_access_size(ac), &ls) == 0) {
		logrec_encode_access(ac, ls.ls_payload);
		logring_commit(w->w_ring, &ls);
		shm_count(&sc->sc_log_queued, 1);
		shm_logger_wake(w->w_sh);
	} else
		shm_count(&sc->sc_log_dropped, 1);
}

/*
 * Close every connection now and leave the loop: a fast stop, or a
 * graceful one that took too long. Each is closed through conn_close(), so
 * that the counters see it go.
 */
static void
worker_close_all(struct worker *w, const char *reason)
{
	struct conn *c;

	w->w_draining = 1; /* a close must not resume accepting */
	while ((c = TAILQ_FIRST(&w->w_conns)) != NULL)
		conn_close(c, reason);
	event_base_loopbreak(w->w_base);
}

/* Stop timer: the graceful stop took too long; exit anyway. */
static void
worker_stop_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	log_warnx("shutdown_timeout reached; closing %lld connection(s)",
	    w->w_nconns);
	worker_close_all(w, "shutdown_timeout reached");
}

/* Begin a graceful stop: no new connections, idle ones closed. */
static void
worker_drain(struct worker *w)
{
	struct conn *c, *next;
	struct timeval tv;
	int i;

	if (w->w_draining)
		return;
	/*
	 * A socket of the worker's own (reuseport) takes its queue with it
	 * when closed, and the kernel resets those connections: take them
	 * first, to be answered like the others ("Connection: close").
	 */
	if (w->w_cf->cf_reuseport && w->w_accepting)
		for (i = 0; i < w->w_cf->cf_nlisten; i++)
			worker_accept_cb(w->w_lfd[i], EV_READ, w);
	worker_accept_pause(w);
	w->w_draining = 1;
	proctitle_set("%s: worker %d (shutting down)", PFHTTPD_NAME, w->w_id);
	__atomic_store_n(
	    &w->w_slot->ss_state, SHM_SLOT_DRAINING, __ATOMIC_RELEASE);
	for (i = 0; i < w->w_cf->cf_nlisten; i++) {
		if (w->w_cf->cf_reuseport)
			close(w->w_lfd[i]);
		listen_close(&w->w_cf->cf_listen[i]);
	}
	for (c = TAILQ_FIRST(&w->w_conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, c_entry);
		conn_drain(c);
	}
	if (w->w_nconns == 0) {
		event_base_loopexit(w->w_base, NULL);
		return;
	}
	tv.tv_sec = w->w_cf->cf_shutdown_timeout / 1000;
	tv.tv_usec = (w->w_cf->cf_shutdown_timeout % 1000) * 1000;
	evtimer_add(w->w_stop_timer, &tv);
}

/* Signal event: act on the signal. */
static void
worker_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = arg;

	(void)what;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		worker_close_all(w, "fast stop");
		break;
	case SIGQUIT:
		worker_drain(w);
		break;
	case SIGUSR1:
		if (log_reopen() == -1)
			log_warn("reopen error log");
		break;
	case SIGHUP:
		break;
	}
}

/*
 * Raise the soft descriptor limit to what max_connections needs, as far as
 * the hard limit allows (a shell's soft limit is often 1024). If even the
 * hard limit is lower, worker 1 says so once: accepting then pauses at the
 * limit instead (worker_accept_cb()).
 */
static void
worker_rlimit(const struct worker *w)
{
	struct rlimit rl;
	rlim_t need;

	need = (rlim_t)w->w_cf->cf_max_connections * WORKER_FDS_PER_CONN +
	    WORKER_FDS_RESERVE + (rlim_t)w->w_cf->cf_nhosts; /* roots */
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("getrlimit");
		return;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need
	    ? rl.rlim_max
	    : need;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("setrlimit");
		return;
	}
	if (rl.rlim_cur < need && w->w_id == 1)
		log_warnx("max_connections %lld needs up to %llu descriptors, "
			  "but RLIMIT_NOFILE is %llu: accepting pauses there",
		    w->w_cf->cf_max_connections, (unsigned long long)need,
		    (unsigned long long)rl.rlim_cur);
}

/*
 * Choose the socket to accept on for each listener: the master's, shared
 * by all workers, or with reuseport = yes one of the worker's own.
 */
static void
worker_listen(struct worker *w)
{
	const struct config *cf = w->w_cf;
	int i;

	for (i = 0; i < cf->cf_nlisten; i++) {
		if (!cf->cf_reuseport) {
			w->w_lfd[i] = cf->cf_listen[i].la_fd;
			continue;
		}
		w->w_lfd[i] =
		    listen_reuseport(&cf->cf_listen[i], cf->cf_notsent_lowat);
		if (w->w_lfd[i] == -1)
			fatal("cannot listen on %s (reuseport)",
			    cf->cf_listen[i].la_name);
	}
}

/* Run a worker until it is told to stop; never returns. */
void
worker_main(struct event_base *base, struct config *cf, int id,
    struct shm_header *sh, uint32_t slot)
{
	static struct worker worker;
	struct worker *w = &worker;
	static char procname[32];
	pid_t master_pid = getppid();
	sigset_t none;
	size_t i;

	snprintf(procname, sizeof(procname), "worker %d", id);
	log_setproc(procname);
	proctitle_set("%s: worker %d", PFHTTPD_NAME, id);

	w->w_base = base;
	w->w_cf = cf;
	w->w_id = id;
	w->w_sh = sh;
	w->w_slot = shm_slot_at(sh, slot);
	w->w_ring = shm_ring_at(sh, slot);
	log_set_ring(sh, w->w_ring);
	TAILQ_INIT(&w->w_conns);
	for (i = 0; i < (size_t)cf->cf_nhosts; i++)
		if ((w->w_rootfd[i] =
			    file_root_open(cf->cf_hosts[i].vh_root)) == -1)
			fatal("document root %s", cf->cf_hosts[i].vh_root);
	worker_listen(w); /* before priv_drop(): a port below 1024 */
	priv_drop(cf);
	worker_rlimit(w);
	/* A credential change clears the parent-death signal: set it again. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master_pid)
		exit(0);

	for (i = 0; i < WORKER_NSIGNALS; i++) {
		w->w_signals[i] =
		    evsignal_new(base, worker_signals[i], worker_signal_cb, w);
		if (w->w_signals[i] == NULL ||
		    evsignal_add(w->w_signals[i], NULL) == -1)
			fatalx("cannot set up signal %d", worker_signals[i]);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	for (i = 0; i < (size_t)cf->cf_nlisten; i++) {
		w->w_accept[i] = event_new(base, w->w_lfd[i],
		    EV_READ | EV_PERSIST, worker_accept_cb, w);
		if (w->w_accept[i] == NULL)
			fatalx("event_new failed");
	}
	w->w_accept_retry = evtimer_new(base, worker_accept_retry_cb, w);
	w->w_stop_timer = evtimer_new(base, worker_stop_timer_cb, w);
	if (w->w_accept_retry == NULL || w->w_stop_timer == NULL)
		fatalx("evtimer_new failed");
	chat_init(w, slot);
	worker_accept_resume(w);
	__atomic_store_n(
	    &w->w_slot->ss_state, SHM_SLOT_SERVING, __ATOMIC_RELEASE);

	event_base_dispatch(base);
	exit(0);
}
