/*
 * A worker process: one libevent loop that accepts connections on the
 * inherited listening sockets and serves them. Accept pauses when the
 * worker holds max_connections or the process runs out of descriptors,
 * and resumes when a connection closes or a short retry timer fires.
 *
 *   SIGTERM, SIGINT  exit now
 *   SIGQUIT          stop accepting, close idle connections, finish the
 *                    responses in flight, exit (bounded by shutdown_timeout)
 *   SIGUSR1          reopen the error log
 *   SIGHUP           ignored (the master handles it)
 */

#include <sys/prctl.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "pfhttpd.h"

#define WORKER_ACCEPT_BATCH    64  /* accepts per wake-up and listener */
#define WORKER_ACCEPT_RETRY_MS 500 /* pause after EMFILE and friends */
#define WORKER_ACCEPT_WARN_S   60  /* seconds between two such warnings */

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
	socklen_t len;
	int fd, i;

	(void)what;
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
		conn_accept(w, fd, (struct sockaddr *)&ss, len);
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

/* The one place that sees every finished request. */
void
worker_request_done(struct worker *w, const struct request_done *rd)
{
	(void)w;
	log_debug("%s \"%s\" %d %llu %lluus", rd->rd_peer,
	    rd->rd_line[0] != '\0' ? rd->rd_line : "-", rd->rd_status,
	    rd->rd_bytes, rd->rd_usec);
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
	event_base_loopbreak(w->w_base);
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
	worker_accept_pause(w);
	w->w_draining = 1;
	for (i = 0; i < w->w_cf->cf_nlisten; i++)
		listen_close(&w->w_cf->cf_listen[i]);
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
		event_base_loopbreak(w->w_base);
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

/* Run a worker until it is told to stop; never returns. */
void
worker_main(struct event_base *base, struct config *cf, int id)
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
	TAILQ_INIT(&w->w_conns);
	if ((w->w_rootfd = file_root_open(cf->cf_root)) == -1)
		fatal("document root %s", cf->cf_root);
	priv_drop(cf);
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
		w->w_accept[i] = event_new(base, cf->cf_listen[i].la_fd,
		    EV_READ | EV_PERSIST, worker_accept_cb, w);
		if (w->w_accept[i] == NULL)
			fatalx("event_new failed");
	}
	w->w_accept_retry = evtimer_new(base, worker_accept_retry_cb, w);
	w->w_stop_timer = evtimer_new(base, worker_stop_timer_cb, w);
	if (w->w_accept_retry == NULL || w->w_stop_timer == NULL)
		fatalx("evtimer_new failed");
	worker_accept_resume(w);

	event_base_dispatch(base);
	exit(0);
}
