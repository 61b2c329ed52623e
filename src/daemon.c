/*
 * Running as a daemon: the locked pid file, and detaching so that the
 * command that started the daemon exits only once it is serving, with
 * status 0, or with the start-up error on its standard error and status 1.
 *
 * The pid file is locked (flock) by the master for its whole life: a
 * second instance with the same pid file finds the lock and refuses to
 * start. Children close their copy of the descriptor, so the lock goes
 * with the master.
 */

#include <sys/file.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pfhttpd.h"

static int daemon_pidfd = -1;	/* the locked pid file, or -1 */
static char *daemon_pidpath;	/* its path, for removal */
static int daemon_readyfd = -1; /* pipe to the waiting parent, or -1 */

/*
 * Open and lock the pid file at path before anything else starts: exit
 * with a message naming the running instance if another one holds it.
 */
void
daemon_pidfile_lock(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1)
		fatal("pid file %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK)
			fatal("pid file %s: flock", path);
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		fatalx("already running (pid %s, pid file %s)",
		    buf[0] != '\0' ? buf : "unknown", path);
	}
	daemon_pidfd = fd;
	if ((daemon_pidpath = strdup(path)) == NULL)
		fatal("strdup");
	/* A start-up error exits: leave no pid file behind. */
	atexit(daemon_pidfile_remove);
}

/* Write the master's pid into the locked pid file. */
void
daemon_pidfile_write(void)
{
	char buf[32];
	int n;

	if (daemon_pidfd == -1)
		return;
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(daemon_pidfd, 0) == -1 ||
	    pwrite(daemon_pidfd, buf, (size_t)n, 0) != n)
		fatal("pid file %s", daemon_pidpath);
}

/* Remove the pid file as the master exits. */
void
daemon_pidfile_remove(void)
{
	if (daemon_pidfd == -1)
		return;
	if (unlink(daemon_pidpath) == -1 && errno != ENOENT)
		log_warn("unlink %s", daemon_pidpath);
	close(daemon_pidfd);
	daemon_pidfd = -1;
}

/* Point stderr at /dev/null and stop copying messages there. */
static void
daemon_quiet_stderr(void)
{
	int fd;

	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	log_copy_stderr(0);
}

/*
 * In a freshly forked child: let go of what belongs to the master, and of
 * the starting command's stderr, which must see end-of-file once the
 * master is ready.
 */
void
daemon_forget(void)
{
	if (daemon_pidfd != -1)
		close(daemon_pidfd);
	daemon_pidfd = -1;
	if (daemon_readyfd != -1) {
		close(daemon_readyfd);
		daemon_quiet_stderr();
	}
	daemon_readyfd = -1;
}

/*
 * Detach: fork, and in the parent wait until the daemon reports that it
 * serves (exit 0) or dies first (exit 1; it has printed why on the
 * standard error it still shares). The daemon continues in a session of
 * its own, its standard input and output on /dev/null.
 */
void
daemon_detach(void)
{
	int fds[2], fd, status;
	char ok;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid != 0) {
		close(fds[1]);
		if (read(fds[0], &ok, 1) == 1)
			_exit(0);
		/* It died before it was ready: reap it, fail like it. */
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		    WEXITSTATUS(status) != 0)
			_exit(WEXITSTATUS(status));
		_exit(1);
	}
	close(fds[0]);
	daemon_readyfd = fds[1];
	if (setsid() == -1)
		fatal("setsid");
	if ((fd = open("/dev/null", O_RDWR)) == -1)
		fatal("/dev/null");
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	/* Start-up errors reach the starting command's stderr as well. */
	log_copy_stderr(1);
}

/*
 * The daemon serves: release the waiting parent and stop writing to the
 * terminal's standard error. Does nothing in the foreground.
 */
void
daemon_ready(void)
{
	if (daemon_readyfd == -1)
		return;
	daemon_quiet_stderr();
	if (write(daemon_readyfd, "", 1) != 1)
		log_warn("cannot tell the starting command that we are ready");
	close(daemon_readyfd);
	daemon_readyfd = -1;
}
