/*
 * statsdump: read pfhttpd's counters straight from its shared-memory
 * segment (layout and contract: src/shm.h), the chat hub's included, and
 * print them as text, as one JSON object or in the Prometheus text
 * exposition format, once or every -w seconds. It maps the segment read-only
 * and never talks to the server, so it works when the server is too busy to
 * answer HTTP, and it says so when the master that wrote the numbers is gone.
 */

#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pfhttpd.h"
#include "shm.h"
#include "stats.h"

#ifndef PFHTTPD_CONF
#define PFHTTPD_CONF "/usr/local/etc/pfhttpd/pfhttpd.ini"
#endif

#define STATSDUMP_NAME	    "statsdump"
#define STATSDUMP_ERR_LEN   1024
#define STATSDUMP_MAX_WAIT  86400.0 /* longest -w interval, seconds */
#define STATSDUMP_OPT_JSON  256	    /* getopt_long values of long options */
#define STATSDUMP_OPT_PROM  257
#define STATSDUMP_OPT_ROOMS 258

enum statsdump_format {
	STATSDUMP_TEXT = 0,
	STATSDUMP_JSON,
	STATSDUMP_PROMETHEUS,
};

/* The command line, as parsed. */
struct statsdump_opts {
	enum statsdump_format op_format;
	const char *op_cfile;	     /* -c FILE, or NULL */
	const char *op_spath;	     /* -s SHM_PATH, or NULL */
	struct timespec op_interval; /* -w SECONDS, if op_watch */
	int op_watch;		     /* -w was given */
	int op_nformats;	     /* --json and --prometheus given */
	int op_rooms;		     /* --rooms was given */
};

static const struct option statsdump_longopts[] = {
    {"config", required_argument, NULL, 'c'},
    {"shm", required_argument, NULL, 's'},
    {"json", no_argument, NULL, STATSDUMP_OPT_JSON},
    {"prometheus", no_argument, NULL, STATSDUMP_OPT_PROM},
    {"rooms", no_argument, NULL, STATSDUMP_OPT_ROOMS},
    {"watch", required_argument, NULL, 'w'},
    {"version", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Print the usage message to fp. */
static void
statsdump_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: %s [-c FILE | -s SHM_PATH] [--json | --prometheus] "
	    "[--rooms] [-w SECONDS]\n"
	    "  -c FILE       read shm_path from this pfhttpd configuration\n"
	    "                (default %s)\n"
	    "  -s SHM_PATH   read this shared-memory segment\n"
	    "  --json        print one JSON object per report\n"
	    "  --prometheus  print the Prometheus text exposition format\n"
	    "  --rooms       list the chat rooms with members (text, JSON)\n"
	    "  -w SECONDS    print a report every SECONDS, with rates\n"
	    "  -V            print the version and exit\n"
	    "  -h            print this help and exit\n",
	    STATSDUMP_NAME, PFHTTPD_CONF);
}

/* Parse a -w interval (seconds, > 0, fractions allowed) into ts. */
static int
statsdump_interval(const char *s, struct timespec *ts)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) ||
	    v < 0.001 || v > STATSDUMP_MAX_WAIT)
		return -1;
	ts->tv_sec = (time_t)v;
	ts->tv_nsec = (long)((v - (double)ts->tv_sec) * 1e9);
	return 0;
}

/*
 * Return the segment path (allocated): spath if given, else shm_path from
 * the configuration cfile (or the default one). Print why on failure.
 */
static char *
statsdump_shm_path(const char *spath, const char *cfile)
{
	char err[CONFIG_ERR_LEN];
	struct config *cf;
	char *path;

	if (spath != NULL)
		path = strdup(spath);
	else {
		cf = config_load_keys(
		    cfile != NULL ? cfile : PFHTTPD_CONF, err, sizeof(err));
		if (cf == NULL) {
			fprintf(stderr, "%s: %s%s\n", STATSDUMP_NAME, err,
			    cfile == NULL ? " (give -c FILE or -s SHM_PATH)"
					  : "");
			return NULL;
		}
		if (cf->cf_shm_path == NULL) {
			fprintf(stderr, "%s: %s: no [stats] shm_path\n",
			    STATSDUMP_NAME, cf->cf_file);
			config_free(cf);
			return NULL;
		}
		path = strdup(cf->cf_shm_path);
		config_free(cf);
	}
	if (path == NULL)
		fprintf(stderr, "%s: %s\n", STATSDUMP_NAME, strerror(errno));
	return path;
}

/*
 * Attach the segment at path, read a snapshot into sn (with the rooms if
 * rooms is set), detach. The segment is attached afresh each time, so a
 * restarted server's new segment is followed.
 */
static int
statsdump_read(
    const char *path, int rooms, struct statsnap *sn, char *err, size_t errlen)
{
	struct shm_header *sh;
	int rv;

	if ((sh = shm_attach(path, err, errlen)) == NULL)
		return -1;
	/* shm_attach() checked that the whole layout lies in the map. */
	if ((rv = statsnap_read(sh, rooms, sn)) == -1)
		snprintf(err, errlen, "%s", strerror(errno));
	shm_detach(sh);
	return rv;
}

/* Print one report in the chosen format and flush it; 0, or -1 (errno). */
static int
statsdump_report(enum statsdump_format format, const char *path,
    const struct statsnap *sn, const struct statsnap_rate *rt)
{
	switch (format) {
	case STATSDUMP_JSON:
		statsjson_print(stdout, path, sn, rt);
		break;
	case STATSDUMP_PROMETHEUS:
		statsprom_print(stdout, sn);
		break;
	default:
		statstext_print(stdout, path, sn, rt);
		break;
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		return -1;
	return 0;
}

/*
 * Read the segment into sn and print a report as op says, with rates from
 * prev unless prev is NULL. Return 0, or -1 after saying why.
 */
static int
statsdump_step(const struct statsdump_opts *op, const char *path,
    const struct statsnap *prev, struct statsnap *sn)
{
	enum statsdump_format format = op->op_format;
	struct statsnap_rate rate;
	char err[STATSDUMP_ERR_LEN];

	if (statsdump_read(path, op->op_rooms, sn, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", STATSDUMP_NAME, err);
		return -1;
	}
	memset(&rate, 0, sizeof(rate));
	if (prev != NULL)
		statsnap_rates(prev, sn, &rate);
	if (format == STATSDUMP_TEXT && prev != NULL)
		putchar('\n');
	if (statsdump_report(format, path, sn, &rate) == -1) {
		fprintf(stderr, "%s: standard output: %s\n", STATSDUMP_NAME,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Set left to the time from now to next; if next is past, move it to now. */
static void
statsdump_time_left(struct timespec *next, struct timespec *left)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	left->tv_sec = next->tv_sec - now.tv_sec;
	left->tv_nsec = next->tv_nsec - now.tv_nsec;
	if (left->tv_nsec < 0) {
		left->tv_sec--;
		left->tv_nsec += 1000000000L;
	}
	if (left->tv_sec < 0) {
		/* Fell behind (stopped, slow): start afresh. */
		*next = now;
		left->tv_sec = left->tv_nsec = 0;
	}
}

/*
 * Sleep to the next multiple of the interval after next, not drifting,
 * and move next there. Return 1 if a stop signal came instead, else 0.
 */
static int
statsdump_sleep(const sigset_t *stop, struct timespec *next,
    const struct timespec *interval)
{
	struct timespec left;
	int sig;

	next->tv_sec += interval->tv_sec;
	next->tv_nsec += interval->tv_nsec;
	if (next->tv_nsec >= 1000000000L) {
		next->tv_sec++;
		next->tv_nsec -= 1000000000L;
	}
	for (;;) {
		statsdump_time_left(next, &left);
		sig = sigtimedwait(stop, NULL, &left);
		if (sig != -1 || errno == EAGAIN)
			break;
	}
	return sig == SIGINT || sig == SIGTERM;
}

/*
 * Print a report now, then with -w every interval until SIGINT or SIGTERM
 * (else once). Rates appear from the second report on. Return the exit
 * status.
 */
static int
statsdump_watch(const struct statsdump_opts *op, const char *path)
{
	const struct timespec *interval =
	    op->op_watch ? &op->op_interval : NULL;
	struct statsnap snap[2];
	const struct statsnap *prev = NULL;
	struct timespec next;
	sigset_t stop;
	int cur = 0, status = 0;

	memset(snap, 0, sizeof(snap));
	/* Blocked, the stop signals wait for sigtimedwait(): no race. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	if (interval != NULL)
		sigprocmask(SIG_BLOCK, &stop, NULL);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		if (statsdump_step(op, path, prev, &snap[cur]) == -1) {
			status = 1;
			break;
		}
		if (interval == NULL || statsdump_sleep(&stop, &next, interval))
			break;
		prev = &snap[cur];
		cur = !cur;
	}
	statsnap_free(&snap[0]);
	statsnap_free(&snap[1]);
	return status;
}

/*
 * Apply the option ch, with its argument in optarg, to op. Return -1 to
 * go on, or the status to exit with now (after -V, -h or an error).
 */
static int
statsdump_option(int ch, struct statsdump_opts *op)
{
	switch (ch) {
	case 'c':
		op->op_cfile = optarg;
		break;
	case 's':
		op->op_spath = optarg;
		break;
	case STATSDUMP_OPT_JSON:
		op->op_format = STATSDUMP_JSON;
		op->op_nformats++;
		break;
	case STATSDUMP_OPT_PROM:
		op->op_format = STATSDUMP_PROMETHEUS;
		op->op_nformats++;
		break;
	case STATSDUMP_OPT_ROOMS:
		op->op_rooms = 1;
		break;
	case 'w':
		if (statsdump_interval(optarg, &op->op_interval) == -1) {
			fprintf(stderr,
			    "%s: -w %s: expected a number of seconds "
			    "from 0.001 to %.0f\n",
			    STATSDUMP_NAME, optarg, STATSDUMP_MAX_WAIT);
			return 1;
		}
		op->op_watch = 1;
		break;
	case 'V':
		printf("%s (%s) %s\n", STATSDUMP_NAME, PFHTTPD_NAME,
		    PFHTTPD_VERSION);
		return 0;
	case 'h':
		statsdump_usage(stdout);
		return 0;
	default:
		statsdump_usage(stderr);
		return 1;
	}
	return -1;
}

/* Check the operands and the options together; say why and -1 if wrong. */
static int
statsdump_check(int argc, char *argv[], const struct statsdump_opts *op)
{
	if (optind != argc)
		fprintf(stderr, "%s: unexpected argument: %s\n", STATSDUMP_NAME,
		    argv[optind]);
	else if (op->op_nformats > 1)
		fprintf(stderr,
		    "%s: --json and --prometheus exclude each other\n",
		    STATSDUMP_NAME);
	else if (op->op_rooms && op->op_format == STATSDUMP_PROMETHEUS)
		fprintf(stderr,
		    "%s: --rooms lists rooms in the text and JSON reports "
		    "only\n",
		    STATSDUMP_NAME);
	else if (op->op_cfile != NULL && op->op_spath != NULL)
		fprintf(stderr, "%s: -c and -s exclude each other\n",
		    STATSDUMP_NAME);
	else
		return 0;
	statsdump_usage(stderr);
	return -1;
}

/* Run statsdump. */
int
main(int argc, char *argv[])
{
	struct statsdump_opts op;
	char *path;
	int ch, status;

	memset(&op, 0, sizeof(op));
	op.op_format = STATSDUMP_TEXT;
	while ((ch = getopt_long(
		    argc, argv, "c:s:w:Vh", statsdump_longopts, NULL)) != -1)
		if ((status = statsdump_option(ch, &op)) != -1)
			return status;
	if (statsdump_check(argc, argv, &op) == -1)
		return 1;
	if ((path = statsdump_shm_path(op.op_spath, op.op_cfile)) == NULL)
		return 1;
	status = statsdump_watch(&op, path);
	free(path);
	return status;
}
