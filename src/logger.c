/*
 * The logger process ("pfhttpd: logger"): the only writer of the access
 * log, and of the workers' lines in the error log. It drains the log ring
 * of every worker slot, formats the records and writes them in batches.
 * When every ring is empty it sleeps on a futex in the segment, which a
 * worker wakes after publishing a record (shm_logger_wake), so records are
 * written within moments and an idle logger costs nothing.
 *
 * A record leaves its ring only once the batch holding it is written:
 * the logger reads with a cursor per ring and releases the cursors after
 * each flush, so a logger killed mid-batch makes its successor write
 * those records again (a duplicate at worst, never a loss).
 *
 * It counts the access records it took in each ring as it releases them:
 * in rg_written once write(2) returned for their batch, in rg_discarded
 * when it could not write them (no access log, or the write failed), so
 * that a record written twice by a killed logger and its successor counts
 * once (contract in shm.h); it notes the time of its last write in
 * sh_logger_wrote.
 *
 * Signals only set flags here (there is no event loop to hand them to):
 *   SIGUSR1          reopen the log files (after logrotate)
 *   SIGTERM          look at sh_logger_stop: SHM_LOGGER_STOP once every
 *                    worker has exited, and only then does the logger
 *                    drain every ring and exit (a SIGTERM sent to the
 *                    whole process group does not cut it short);
 *                    SHM_LOGGER_HANDOVER on a reload that changes the
 *                    access log, when it writes what it has read and
 *                    exits, and a logger with the new settings goes on
 *   SIGINT, SIGQUIT  ignored: the terminal's keys are for the master
 * A logger whose master died drains and exits as well.
 */

#include <sys/prctl.h>
#include <sys/syscall.h>

#include <linux/futex.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pfhttpd.h"
#include "shm.h"

#define LOGGER_BUF	   (64 * 1024) /* bytes batched per file */
#define LOGGER_SLEEP_MAX_S 1	       /* futex timeout: a safety net */
#define LOGGER_NAP_MS	   10	       /* pause between drains under load */

static volatile sig_atomic_t logger_reopen_flag;
static volatile sig_atomic_t logger_stop_flag; /* look at sh_logger_stop */

/* An output file with its batch buffer. */
struct logger_file {
	const char *lgf_path; /* NULL: not configured */
	int lgf_fd;	      /* -1 when closed */
	char lgf_buf[LOGGER_BUF];
	size_t lgf_len;
};

/* What the logger watches of one worker slot. */
struct logger_slot {
	uint64_t lgs_pid;     /* worker last seen in the slot */
	uint64_t lgs_dropped; /* its sc_log_dropped last reported */
};

static struct {
	struct shm_header *lg_sh;
	const struct config *lg_cf;
	struct logger_file lg_access;
	struct logger_file lg_error;
	struct logger_slot *lg_slots; /* one per slot */
	uint64_t *lg_cursors;	      /* per ring: read, not yet released */
	uint64_t *lg_batched;	      /* per ring: access records in the
					 batches, counted at release */
	uint32_t lg_nslots;	      /* slots, from our own copy */
	uint64_t lg_ring_size;	      /* ring bytes, from our own copy */
	pid_t lg_master;	      /* the master that started us */
	uint64_t lg_corrupt;	      /* records that did not decode */
} logger;

/* Signal handler: only set a flag. */
static void
logger_on_signal(int sig)
{
	if (sig == SIGUSR1)
		logger_reopen_flag = 1;
	else
		logger_stop_flag = 1;
}

/* Open (or reopen) a log file for appending. */
static void
logger_open(struct logger_file *lgf)
{
	int fd;

	if (lgf->lgf_path == NULL)
		return;
	fd = open(
	    lgf->lgf_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1) {
		log_warn("open %s", lgf->lgf_path);
		return; /* keep writing to the old file, if any */
	}
	if (lgf->lgf_fd != -1)
		close(lgf->lgf_fd);
	lgf->lgf_fd = fd;
}

/*
 * Write out a file's batch, retrying short writes and interruptions.
 * Return the bytes written, or -1 if the batch was not written whole (the
 * rest is dropped and the error log says why).
 */
static ssize_t
logger_flush(struct logger_file *lgf)
{
	size_t off = 0, len = lgf->lgf_len;
	ssize_t n;

	lgf->lgf_len = 0;
	if (len > 0 && lgf->lgf_fd == -1)
		return -1; /* the open failed and said so */
	while (off < len) {
		n = write(lgf->lgf_fd, lgf->lgf_buf + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_warn("write %s", lgf->lgf_path);
			return -1;
		}
		off += (size_t)n;
	}
	return (ssize_t)len;
}

/*
 * Release ring i up to its cursor, adding its access records taken since
 * the last release to rg_written (written is 1: their batch was written)
 * or to rg_discarded, in a way that a kill cannot split (shm.h): the
 * journal first, rg_jtail last of it, then the counts, then the tail.
 * Each store is a release, so they reach memory in this order.
 */
static void
logger_release(uint32_t i, int written)
{
	struct shm_ring *rg = shm_ring_at(logger.lg_sh, i);
	uint64_t cursor = logger.lg_cursors[i], nwritten, ndiscarded;

	if (cursor == logring_cursor(rg))
		return; /* nothing read, nothing to count */
	nwritten = __atomic_load_n(&rg->rg_written, __ATOMIC_RELAXED);
	ndiscarded = __atomic_load_n(&rg->rg_discarded, __ATOMIC_RELAXED);
	if (written)
		nwritten += logger.lg_batched[i];
	else
		ndiscarded += logger.lg_batched[i];
	logger.lg_batched[i] = 0;
	__atomic_store_n(&rg->rg_jwritten, nwritten, __ATOMIC_RELEASE);
	__atomic_store_n(&rg->rg_jdiscarded, ndiscarded, __ATOMIC_RELEASE);
	__atomic_store_n(&rg->rg_jtail, cursor, __ATOMIC_RELEASE);
	__atomic_store_n(&rg->rg_written, nwritten, __ATOMIC_RELEASE);
	__atomic_store_n(&rg->rg_discarded, ndiscarded, __ATOMIC_RELEASE);
	logring_release(rg, cursor);
}

/*
 * Write both batches, then hand the rings' bytes whose records they held
 * back to the workers, counting the access records as written, or as
 * discarded when there is no access log or its batch could not be
 * written. Until then a record stays in its ring.
 */
static void
logger_flush_all(void)
{
	struct shm_header *sh = logger.lg_sh;
	ssize_t wrote;
	uint64_t now;
	uint32_t i;

	wrote = logger_flush(&logger.lg_access);
	logger_flush(&logger.lg_error);
	for (i = 0; i < logger.lg_nslots; i++)
		logger_release(
		    i, wrote != -1 && logger.lg_access.lgf_path != NULL);
	if (wrote <= 0)
		return;
	/* Stored once a second at most: statsdump reads it, nobody waits. */
	now = (uint64_t)time(NULL);
	if (now != __atomic_load_n(&sh->sh_logger_wrote, __ATOMIC_RELAXED))
		__atomic_store_n(&sh->sh_logger_wrote, now, __ATOMIC_RELAXED);
}

/* Add one line to a file's batch, flushing first if it would not fit. */
static void
logger_append(struct logger_file *lgf, const char *line, size_t len)
{
	if (lgf->lgf_path == NULL)
		return;
	if (lgf->lgf_len + len > sizeof(lgf->lgf_buf))
		logger_flush_all(); /* covers only the records before this */
	if (len > sizeof(lgf->lgf_buf))
		len = sizeof(lgf->lgf_buf);
	memcpy(lgf->lgf_buf + lgf->lgf_len, line, len);
	lgf->lgf_len += len;
}

/* Format a decoded record into the file it belongs to. */
static void
logger_record(const struct logrec *lr)
{
	char line[LOGFMT_LINE_MAX];
	size_t n;

	if (lr->lr_type == LOGREC_ACCESS) {
		n = logfmt_access(lr,
		    (enum log_format)logger.lg_cf->cf_log_format, line,
		    sizeof(line));
		logger_append(&logger.lg_access, line, n);
	} else {
		n = strlen(lr->lr_message);
		logger_append(&logger.lg_error, lr->lr_message, n);
		logger_append(&logger.lg_error, "\n", 1);
	}
}

/*
 * Read every ring once into the batches; return the records taken. The
 * cursor of a ring moves past a record only once the record is in a
 * batch, so a flush releases exactly what it wrote.
 */
static uint64_t
logger_drain(void)
{
	static struct logrec lr;
	unsigned char rec[LOGREC_MAX];
	uint64_t taken = 0, next;
	size_t n;
	uint32_t i;

	for (i = 0; i < logger.lg_nslots; i++) {
		for (;;) {
			next = logger.lg_cursors[i];
			n = logring_read(shm_ring_at(logger.lg_sh, i),
			    logger.lg_ring_size, &next, rec, sizeof(rec));
			if (n == 0)
				break;
			taken++;
			if (n == (size_t)-1 || logrec_decode(rec, n, &lr) == -1)
				logger.lg_corrupt++;
			else {
				logger_record(&lr);
				if (lr.lr_type == LOGREC_ACCESS)
					logger.lg_batched[i]++;
			}
			logger.lg_cursors[i] = next;
		}
	}
	return taken;
}

/* Say in the error log when a worker had to drop records (ring full). */
static void
logger_report_drops(void)
{
	struct shm_header *sh = logger.lg_sh;
	struct logger_slot *lgs;
	struct shm_slot *slot;
	uint64_t pid, dropped, state;
	uint32_t i;

	for (i = 0; i < logger.lg_nslots; i++) {
		slot = shm_slot_at(sh, i);
		lgs = &logger.lg_slots[i];
		state = __atomic_load_n(&slot->ss_state, __ATOMIC_ACQUIRE);
		if (state != SHM_SLOT_STARTING && state != SHM_SLOT_SERVING &&
		    state != SHM_SLOT_DRAINING)
			continue; /* its drops, if any, were reported live */
		pid = __atomic_load_n(&slot->ss_pid, __ATOMIC_ACQUIRE);
		dropped = __atomic_load_n(
		    &slot->ss_c.sc_log_dropped, __ATOMIC_RELAXED);
		if (pid != lgs->lgs_pid) {
			/* A new worker in the slot starts from zero. */
			lgs->lgs_pid = pid;
			lgs->lgs_dropped = 0;
		}
		if (dropped > lgs->lgs_dropped) {
			log_warnx(
			    "worker %llu (pid %llu) dropped %llu access-log "
			    "record(s): its ring was full",
			    (unsigned long long)slot->ss_worker_id,
			    (unsigned long long)pid,
			    (unsigned long long)(dropped - lgs->lgs_dropped));
			lgs->lgs_dropped = dropped;
		}
	}
}

/* Tell whether any ring holds records. */
static int
logger_pending(void)
{
	uint32_t i;

	for (i = 0; i < logger.lg_nslots; i++)
		if (logring_pending(shm_ring_at(logger.lg_sh, i)) != 0)
			return 1;
	return 0;
}

/*
 * Sleep until a worker publishes a record, a signal arrives or a second
 * passes. Say we sleep, then (after the fence that pairs with the one in
 * shm_logger_wake()) read the wake count and check the rings once more: a
 * worker that published before our check is seen by it; one that
 * published after it saw us asleep and bumps the count, so the futex wait
 * returns at once or is woken.
 */
static void
logger_sleep(void)
{
	struct shm_header *sh = logger.lg_sh;
	struct timespec ts = {LOGGER_SLEEP_MAX_S, 0};
	uint32_t seen;

	__atomic_store_n(&sh->sh_logger_asleep, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	seen = __atomic_load_n(&sh->sh_logger_wake, __ATOMIC_RELAXED);
	if (!logger_pending() && !logger_stop_flag && !logger_reopen_flag)
		syscall(SYS_futex, &sh->sh_logger_wake, FUTEX_WAIT, seen, &ts,
		    NULL, 0);
	__atomic_store_n(&sh->sh_logger_asleep, 0, __ATOMIC_SEQ_CST);
}

/*
 * After a drain that found records, let more gather before the next one
 * instead of sleeping on the futex: under load, workers then find the
 * logger awake and never pay a system call to wake it, and each drain
 * writes a larger batch. Records still reach the file within
 * LOGGER_NAP_MS plus a drain.
 */
static void
logger_nap(void)
{
	struct timespec ts = {0, LOGGER_NAP_MS * 1000000L};

	if (!logger_stop_flag && !logger_reopen_flag)
		nanosleep(&ts, NULL);
}

/* Set the flag-only signal handlers (no SA_RESTART: wake the futex). */
static void
logger_signals(void)
{
	static const int sigs[] = {SIGUSR1, SIGTERM};
	struct sigaction sa;
	sigset_t none;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = logger_on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Return what the master asks: run, stop, or hand over (its death: stop). */
static enum shm_logger_stop
logger_asked(void)
{
	uint32_t v;

	v = __atomic_load_n(&logger.lg_sh->sh_logger_stop, __ATOMIC_ACQUIRE);
	if (getppid() != logger.lg_master)
		return SHM_LOGGER_STOP;
	return v == SHM_LOGGER_STOP || v == SHM_LOGGER_HANDOVER
	    ? (enum shm_logger_stop)v
	    : SHM_LOGGER_RUN;
}

/*
 * Finish the release that a killed predecessor committed on ring rg but
 * did not complete: its records are written and were counted in the
 * journal (shm.h). A journal outside (rg_tail, rg_head] is none: complete,
 * or not committed (the records are read and counted again), or not
 * written by a logger.
 */
static void
logger_recover(struct shm_ring *rg)
{
	uint64_t tail, head, jtail;

	tail = logring_cursor(rg);
	jtail = __atomic_load_n(&rg->rg_jtail, __ATOMIC_ACQUIRE);
	head = __atomic_load_n(&rg->rg_head, __ATOMIC_ACQUIRE);
	if (jtail == tail || jtail - tail > head - tail)
		return;
	__atomic_store_n(&rg->rg_written,
	    __atomic_load_n(&rg->rg_jwritten, __ATOMIC_RELAXED),
	    __ATOMIC_RELEASE);
	__atomic_store_n(&rg->rg_discarded,
	    __atomic_load_n(&rg->rg_jdiscarded, __ATOMIC_RELAXED),
	    __ATOMIC_RELEASE);
	logring_release(rg, jtail);
}

/*
 * Note the drops reported so far (by an earlier logger) and take over the
 * rings where they stand, once a predecessor's last release is complete.
 */
static void
logger_take_over(void)
{
	struct shm_slot *slot;
	uint32_t i;

	for (i = 0; i < logger.lg_nslots; i++) {
		slot = shm_slot_at(logger.lg_sh, i);
		logger_recover(shm_ring_at(logger.lg_sh, i));
		logger.lg_slots[i].lgs_pid =
		    __atomic_load_n(&slot->ss_pid, __ATOMIC_ACQUIRE);
		logger.lg_slots[i].lgs_dropped = __atomic_load_n(
		    &slot->ss_c.sc_log_dropped, __ATOMIC_RELAXED);
		logger.lg_cursors[i] =
		    logring_cursor(shm_ring_at(logger.lg_sh, i));
	}
}

/* Run the logger until it is told to stop; never returns. */
void
logger_main(const struct config *cf, struct shm_header *sh)
{
	pid_t master_pid = getppid();

	log_setproc("logger");
	proctitle_set("%s: logger", PFHTTPD_NAME);
	logger.lg_sh = sh;
	logger.lg_cf = cf;
	logger.lg_access.lgf_path = cf->cf_access_log;
	logger.lg_access.lgf_fd = -1;
	logger.lg_error.lgf_path = cf->cf_error_log;
	logger.lg_error.lgf_fd = -1;
	logger.lg_master = master_pid;
	logger.lg_nslots = shm_nslots();
	logger.lg_ring_size = shm_ring_size();
	logger.lg_slots = calloc(logger.lg_nslots, sizeof(*logger.lg_slots));
	logger.lg_cursors =
	    calloc(logger.lg_nslots, sizeof(*logger.lg_cursors));
	logger.lg_batched =
	    calloc(logger.lg_nslots, sizeof(*logger.lg_batched));
	if (logger.lg_slots == NULL || logger.lg_cursors == NULL ||
	    logger.lg_batched == NULL)
		fatal("calloc");
	logger_take_over();
	logger_open(&logger.lg_access);
	logger_open(&logger.lg_error);
	priv_drop(cf);
	/* A credential change clears the parent-death signal: set it again. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master_pid)
		exit(0);
	logger_signals();
	__atomic_store_n(
	    &sh->sh_logger_pid, (uint64_t)getpid(), __ATOMIC_RELEASE);

	for (;;) {
		uint64_t taken = logger_drain();
		enum shm_logger_stop asked;

		logger_report_drops();
		logger_flush_all();
		if (logger_reopen_flag) {
			logger_reopen_flag = 0;
			logger_open(&logger.lg_access);
			logger_open(&logger.lg_error);
			if (log_reopen() == -1)
				log_warn("reopen error log");
			log_info("log files reopened");
		}
		logger_stop_flag = 0;
		asked = logger_asked();
		if (asked == SHM_LOGGER_HANDOVER)
			exit(0); /* all that was read is written and released */
		if (asked == SHM_LOGGER_STOP) {
			/* The workers are gone: what the rings hold is all. */
			while (logger_drain() != 0)
				logger_flush_all();
			logger_flush_all();
			exit(0);
		}
		if (taken == 0)
			logger_sleep();
		else
			logger_nap();
	}
}
