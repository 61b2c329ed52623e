/*
 * The logging API: log_warn, log_warnx, log_info, log_debug, fatal, fatalx.
 *
 * Messages go to stderr until the error log is open; afterwards to the error
 * log, and to stderr as well while stderr is still a terminal (foreground
 * use). The error log is opened O_APPEND, so every process may write its
 * lines to it without interleaving them.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pfhttpd.h"
#include "shm.h"

static const char *log_procname = "master";
static char *log_path;	/* error log path, NULL while on stderr */
static int log_fd = -1; /* error log, -1 while on stderr */
static int log_debugging;
static int log_tty;		  /* also copy messages to stderr */
static struct shm_header *log_sh; /* a worker's segment, or NULL */
static struct shm_ring *log_ring; /* a worker's log ring, or NULL */

static void log_emit(const char *, const char *, va_list, int) PRINTFLIKE(2, 0);

/* Set up logging to stderr for the named process. */
void
log_init(const char *procname)
{
	log_procname = procname;
	log_tty = isatty(STDERR_FILENO);
}

/* Copy messages to stderr too (on), or only while it is a terminal. */
void
log_copy_stderr(int on)
{
	log_tty = on || isatty(STDERR_FILENO);
}

/* Name the process in every message (after fork). */
void
log_setproc(const char *procname)
{
	log_procname = procname;
}

/* Turn debug messages on or off. */
void
log_set_debug(int debug)
{
	log_debugging = debug;
}

/* Send messages to the error log at path from now on. */
int
log_open_file(const char *path)
{
	int fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1)
		return -1;
	if (log_fd != -1)
		close(log_fd);
	log_fd = fd;
	free(log_path);
	if ((log_path = strdup(path)) == NULL)
		return -1;
	return 0;
}

/*
 * Send this process's messages through its log ring to the logger from
 * now on (a worker); a full ring falls back to writing directly.
 */
void
log_set_ring(struct shm_header *sh, struct shm_ring *rg)
{
	log_sh = sh;
	log_ring = rg;
}

/* Hand a finished line (without newline) to the logger; 0 or -1. */
static int
log_to_ring(const char *line, size_t len)
{
	static struct logrec lr;
	unsigned char rec[LOGREC_MAX];
	struct timespec now;
	size_t n;

	if (log_ring == NULL)
		return -1;
	clock_gettime(CLOCK_REALTIME, &now);
	lr.lr_type = LOGREC_ERROR;
	lr.lr_time_usec =
	    (uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec / 1000;
	if (len > LOGREC_MESSAGE_MAX)
		len = LOGREC_MESSAGE_MAX;
	memcpy(lr.lr_message, line, len);
	lr.lr_message[len] = '\0';
	if ((n = logrec_encode(&lr, rec, sizeof(rec))) == 0 ||
	    logring_put(log_ring, shm_ring_size(), rec, n) == -1)
		return -1;
	shm_logger_wake(log_sh);
	return 0;
}

/* Reopen the error log (after logrotate moved it). */
int
log_reopen(void)
{
	char *path;
	int rv;

	if (log_path == NULL)
		return 0;
	if ((path = strdup(log_path)) == NULL)
		return -1;
	rv = log_open_file(path);
	free(path);
	return rv;
}

/* Format one line and write it to wherever messages go now. */
static void
log_emit(const char *level, const char *fmt, va_list ap, int with_errno)
{
	char line[2048];
	char when[32];
	struct tm tm;
	time_t now;
	size_t n;
	int saved_errno = errno;

	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = (size_t)snprintf(line, sizeof(line), "%s [%s] %s[%d] %s: ", when,
	    level, PFHTTPD_NAME, (int)getpid(), log_procname);
	if (n < sizeof(line))
		n += (size_t)vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (with_errno && n < sizeof(line))
		n += (size_t)snprintf(
		    line + n, sizeof(line) - n, ": %s", strerror(saved_errno));
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';

	if (log_to_ring(line, n - 1) == 0) {
		/* The logger writes it. */
	} else if (log_fd != -1 && write(log_fd, line, n) == -1) {
		/* Nowhere better to report it than stderr below. */
	}
	if (log_fd == -1 || log_tty) {
		if (write(STDERR_FILENO, line, n) == -1) {
			/* Nothing left to tell. */
		}
	}
	errno = saved_errno;
}

/* Log a warning followed by strerror(errno). */
void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit("warn", fmt, ap, 1);
	va_end(ap);
}

/* Log a warning. */
void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit("warn", fmt, ap, 0);
	va_end(ap);
}

/* Log an informational message. */
void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit("info", fmt, ap, 0);
	va_end(ap);
}

/* Log a debug message when debugging is on. */
void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_debugging)
		return;
	va_start(ap, fmt);
	log_emit("debug", fmt, ap, 0);
	va_end(ap);
}

/* Log a message with strerror(errno) and exit 1. */
void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit("fatal", fmt, ap, 1);
	va_end(ap);
	exit(1);
}

/* Log a message and exit 1. */
void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit("fatal", fmt, ap, 0);
	va_end(ap);
	exit(1);
}
