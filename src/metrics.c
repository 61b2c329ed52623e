/*
 * The metrics process ("pfhttpd: metrics"): serves GET /metrics on
 * [stats] listen, the Prometheus text format of a snapshot of the shared
 * segment (statsprom.c: the bytes statsdump --prometheus prints for the
 * same snapshot), for Prometheus to scrape. The master binds the socket,
 * so that a privileged port works and a bind error is a configuration
 * error, and forks this process with it, like the logger; it restarts it
 * if it dies. No worker takes part: a scrape costs the workers nothing.
 *
 * One request per connection, answered with Connection: close (what
 * metricshttp.c says: 200, or 404, 405, 400, 431, 505, each with a short
 * text body). Every socket is non-blocking and a connection has
 * METRICS_TIMEOUT_MS from its accept to send its request head (at most
 * METRICSHTTP_MAX_HEAD bytes) and take the response, so a slow client
 * holds one of the METRICS_MAX_CONNS connections for that long and
 * delays no other; with all of them taken, or out of descriptors, accept
 * pauses. After the response the connection is half-closed and what the
 * client still sends is read and dropped for METRICS_LINGER_MS, so that
 * unread bytes do not turn the close into a reset that loses the end of
 * the response.
 *
 * Signals: SIGTERM ends it at once (the master sends it on a stop, and
 * when a reload removes or moves [stats] listen); SIGUSR1 reopens the
 * error log; SIGINT, SIGQUIT and SIGHUP are ignored (the terminal's keys
 * and the reload are the master's).
 */

#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "pfhttpd.h"
#include "shm.h"
#include "stats.h"

#define METRICS_MAX_CONNS  64	 /* connections at once */
#define METRICS_TIMEOUT_MS 10000 /* from accept to the response sent */
#define METRICS_LINGER_MS  1000	 /* reading and dropping after it */
#define METRICS_RETRY_MS   100	 /* accept again after EMFILE */
#define METRICS_NSIGNALS   5	 /* entries of metrics_signals[] */

/* The signals the process handles, one mt_signals[] event each. */
static const int metrics_signals[METRICS_NSIGNALS] = {
    SIGTERM, SIGUSR1, SIGINT, SIGQUIT, SIGHUP};

/* A client connection. */
struct metrics_conn {
	TAILQ_ENTRY(metrics_conn) mc_entry; /* in mt_conns */
	int mc_fd;			    /* the socket */
	struct event *mc_ev;		    /* readable (the request, then the
					       linger) or writable */
	struct event *mc_timer;		    /* the deadline */
	char *mc_out;			    /* the response, malloc'd */
	size_t mc_outlen;		    /* its bytes */
	size_t mc_outoff;		    /* bytes sent */
	size_t mc_inlen;		    /* bytes of mc_in read */
	char mc_in[METRICSHTTP_MAX_HEAD];   /* the request head */
};

/* The process's state. */
static struct {
	struct event_base *mt_base;		    /* its loop */
	struct shm_header *mt_sh;		    /* the segment */
	int mt_fd;				    /* the listening socket */
	struct event *mt_accept;		    /* mt_fd is readable */
	struct event *mt_retry;			    /* resumes accept */
	struct event *mt_signals[METRICS_NSIGNALS]; /* one per signal */
	TAILQ_HEAD(metrics_conns, metrics_conn) mt_conns; /* open connections */
	int mt_nconns;		 /* entries of mt_conns */
	int mt_paused;		 /* mt_accept is not added */
	struct statsnap mt_snap; /* the last snapshot read */
} metrics;

/* Fill a timeval with a duration in milliseconds. */
static struct timeval
metrics_tv(long long ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return tv;
}

/* Take new connections again, if accept was paused and there is room. */
static void
metrics_resume(void)
{
	if (!metrics.mt_paused || metrics.mt_nconns >= METRICS_MAX_CONNS ||
	    evtimer_pending(metrics.mt_retry, NULL))
		return;
	if (event_add(metrics.mt_accept, NULL) == -1)
		fatalx("event_add failed");
	metrics.mt_paused = 0;
}

/* Stop taking connections until metrics_resume(). */
static void
metrics_pause(void)
{
	if (metrics.mt_paused)
		return;
	event_del(metrics.mt_accept);
	metrics.mt_paused = 1;
}

/* Close mc and free it: the one destructor of a connection. */
static void
metrics_close(struct metrics_conn *mc)
{
	TAILQ_REMOVE(&metrics.mt_conns, mc, mc_entry);
	metrics.mt_nconns--;
	if (mc->mc_ev != NULL)
		event_free(mc->mc_ev);
	if (mc->mc_timer != NULL)
		event_free(mc->mc_timer);
	close(mc->mc_fd);
	free(mc->mc_out);
	free(mc);
	metrics_resume();
}

/* Have cb called while mc's socket is readable or writable (how). */
static int
metrics_wait(struct metrics_conn *mc, short how, event_callback_fn cb)
{
	if (mc->mc_ev != NULL)
		event_free(mc->mc_ev);
	mc->mc_ev = event_new(
	    metrics.mt_base, mc->mc_fd, (short)(how | EV_PERSIST), cb, mc);
	if (mc->mc_ev == NULL || event_add(mc->mc_ev, NULL) == -1) {
		log_warnx("cannot wait for a metrics client");
		return -1;
	}
	return 0;
}

/* Lingering: read and drop what comes until the client closes. */
static void
metrics_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_conn *mc = arg;
	char buf[4096];
	ssize_t n;

	(void)what;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		continue;
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		metrics_close(mc);
}

/*
 * The response is sent: half-close, and drop what the client still sends
 * for METRICS_LINGER_MS at most. Return -1 if mc was closed.
 */
static int
metrics_linger(struct metrics_conn *mc)
{
	struct timeval tv = metrics_tv(METRICS_LINGER_MS);

	if (shutdown(mc->mc_fd, SHUT_WR) == -1 ||
	    metrics_wait(mc, EV_READ, metrics_linger_cb) == -1 ||
	    evtimer_add(mc->mc_timer, &tv) == -1) {
		metrics_close(mc);
		return -1;
	}
	return 0;
}

/* Send what the socket takes of the response; linger once it is sent. */
static void
metrics_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_conn *mc = arg;
	ssize_t n;

	(void)what;
	while (mc->mc_outoff < mc->mc_outlen) {
		n = send(fd, mc->mc_out + mc->mc_outoff,
		    mc->mc_outlen - mc->mc_outoff, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1) {
			metrics_close(mc);
			return;
		}
		mc->mc_outoff += (size_t)n;
	}
	metrics_linger(mc);
}

/*
 * Render the Prometheus text of a new snapshot into *body (malloc'd),
 * *len bytes. Return 0, or -1 with errno set.
 */
static int
metrics_render(char **body, size_t *len)
{
	FILE *fp;

	if (statsnap_read(metrics.mt_sh, 0, &metrics.mt_snap) == -1)
		return -1;
	if ((fp = open_memstream(body, len)) == NULL)
		return -1;
	statsprom_print(fp, &metrics.mt_snap);
	if (ferror(fp)) {
		fclose(fp);
		free(*body);
		return -1;
	}
	return fclose(fp) == 0 ? 0 : -1;
}

/*
 * Build the response to a request that asked for mr in mc_out: the
 * metrics for a 200, else the reason phrase as a line of text. Return 0,
 * or -1 with errno set.
 */
static int
metrics_response(struct metrics_conn *mc, struct metricshttp_req *mr)
{
	char *body = NULL;
	size_t len = 0;
	int n;

	if (mr->mr_status == 200 && metrics_render(&body, &len) == -1) {
		log_warn("metrics");
		mr->mr_status = 500;
	}
	if (mr->mr_status != 200) {
		n = asprintf(&body, "%s\n", metricshttp_reason(mr->mr_status));
		if (n == -1)
			return -1;
		len = (size_t)n;
	}
	n = asprintf(&mc->mc_out,
	    "HTTP/1.1 %d %s\r\nServer: %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n%s",
	    mr->mr_status, metricshttp_reason(mr->mr_status), PFHTTPD_SERVER,
	    mr->mr_status == 200 ? STATSPROM_CONTENT_TYPE
				 : "text/plain; charset=utf-8",
	    len, mr->mr_status == 405 ? "Allow: GET, HEAD\r\n" : "",
	    mr->mr_head ? "" : body);
	free(body);
	if (n == -1) {
		mc->mc_out = NULL;
		return -1;
	}
	mc->mc_outlen = (size_t)n;
	return 0;
}

/* Read the request head; once it is whole (or bad), answer it. */
static void
metrics_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_conn *mc = arg;
	struct metricshttp_req mr;
	ssize_t n;

	(void)what;
	n = read(
	    fd, mc->mc_in + mc->mc_inlen, sizeof(mc->mc_in) - mc->mc_inlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		metrics_close(mc);
		return;
	}
	mc->mc_inlen += (size_t)n;
	if (metricshttp_parse(mc->mc_in, mc->mc_inlen, &mr) == 0)
		return;
	if (metrics_response(mc, &mr) == -1) {
		log_warn("metrics response");
		metrics_close(mc);
		return;
	}
	if (metrics_wait(mc, EV_WRITE, metrics_write_cb) == -1) {
		metrics_close(mc);
		return;
	}
	metrics_write_cb(fd, EV_WRITE, mc);
}

/* Deadline: the client took too long, or the linger is over. */
static void
metrics_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	metrics_close(arg);
}

/* Take the accepted socket fd as a new connection. */
static void
metrics_conn_new(int fd)
{
	struct timeval tv = metrics_tv(METRICS_TIMEOUT_MS);
	struct metrics_conn *mc;

	if ((mc = calloc(1, sizeof(*mc))) == NULL) {
		log_warn("metrics connection");
		close(fd);
		return;
	}
	mc->mc_fd = fd;
	TAILQ_INSERT_TAIL(&metrics.mt_conns, mc, mc_entry);
	metrics.mt_nconns++;
	mc->mc_timer = evtimer_new(metrics.mt_base, metrics_timer_cb, mc);
	if (mc->mc_timer == NULL || evtimer_add(mc->mc_timer, &tv) == -1 ||
	    metrics_wait(mc, EV_READ, metrics_read_cb) == -1)
		metrics_close(mc);
}

/* The listening socket is readable: accept while there is room. */
static void
metrics_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct timeval tv = metrics_tv(METRICS_RETRY_MS);
	int fd;

	(void)what;
	(void)arg;
	while (metrics.mt_nconns < METRICS_MAX_CONNS) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd != -1) {
			metrics_conn_new(fd);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			log_warn("metrics: accept: pausing");
			evtimer_add(metrics.mt_retry, &tv);
			metrics_pause();
		}
		/* EAGAIN, or a connection that was reset before: later. */
		return;
	}
	metrics_pause();
}

/* Retry timer: accept again after running out of descriptors. */
static void
metrics_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	metrics_resume();
}

/* Signal event: act on the signal. */
static void
metrics_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (sig == SIGTERM)
		exit(0);
	if (sig == SIGUSR1 && log_reopen() == -1)
		log_warn("reopen error log");
}

/* Set up the loop, the signal events and the listening socket's events. */
static void
metrics_events(void)
{
	sigset_t none;
	int i;

	if ((metrics.mt_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	for (i = 0; i < METRICS_NSIGNALS; i++) {
		metrics.mt_signals[i] = evsignal_new(metrics.mt_base,
		    metrics_signals[i], metrics_signal_cb, NULL);
		if (metrics.mt_signals[i] == NULL ||
		    evsignal_add(metrics.mt_signals[i], NULL) == -1)
			fatalx("cannot set up signal %d", metrics_signals[i]);
	}
	metrics.mt_accept = event_new(metrics.mt_base, metrics.mt_fd,
	    EV_READ | EV_PERSIST, metrics_accept_cb, NULL);
	metrics.mt_retry = evtimer_new(metrics.mt_base, metrics_retry_cb, NULL);
	if (metrics.mt_accept == NULL || metrics.mt_retry == NULL ||
	    event_add(metrics.mt_accept, NULL) == -1)
		fatalx("cannot set up the metrics events");
	/* The master blocked every signal for the fork. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Run the metrics process on cf's [stats] listen socket; never returns. */
void
metrics_main(const struct config *cf, struct shm_header *sh)
{
	pid_t master_pid = getppid();

	log_setproc("metrics");
	proctitle_set("%s: metrics", PFHTTPD_NAME);
	metrics.mt_sh = sh;
	metrics.mt_fd = cf->cf_stats_listen.la_fd;
	TAILQ_INIT(&metrics.mt_conns);
	priv_drop(cf);
	/* A credential change clears the parent-death signal: set it again. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master_pid)
		exit(0);
	metrics_events();
	event_base_dispatch(metrics.mt_base);
	exit(0);
}
