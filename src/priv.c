/*
 * Privilege drop: a worker started by root becomes the configured user and
 * group once it holds everything it needs from root (the listening
 * sockets, the document root, the error log).
 */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "pfhttpd.h"

/* Warn at start-up when user/group cannot or will not be applied. */
void
priv_check(const struct config *cf)
{
	if (geteuid() != 0) {
		if (cf->cf_user != NULL || cf->cf_group != NULL)
			log_warnx("not started as root: [server] user and "
				  "group are ignored");
	} else if (cf->cf_user == NULL)
		log_warnx("workers run as root: set [server] user");
}

/*
 * Resolve the configured user and group. Return 1 when they apply (started
 * as root and at least one is set), else 0. uid is (uid_t)-1 without user.
 */
static int
priv_ids(const struct config *cf, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = NULL;
	struct group *gr;

	if (geteuid() != 0 || (cf->cf_user == NULL && cf->cf_group == NULL))
		return 0;
	*uid = (uid_t)-1;
	if (cf->cf_user != NULL) {
		if ((pw = getpwnam(cf->cf_user)) == NULL)
			fatalx("unknown user %s", cf->cf_user);
		*uid = pw->pw_uid;
	}
	if (cf->cf_group != NULL) {
		if ((gr = getgrnam(cf->cf_group)) == NULL)
			fatalx("unknown group %s", cf->cf_group);
		*gid = gr->gr_gid;
	} else
		*gid = pw->pw_gid;
	return 1;
}

/* Hand a file that workers reopen (the error log) to their user. */
void
priv_chown(const struct config *cf, const char *path)
{
	uid_t uid;
	gid_t gid;

	if (path != NULL && priv_ids(cf, &uid, &gid) &&
	    chown(path, uid, gid) == -1)
		log_warn("chown %s", path);
}

/* Give a file to the configured group, keeping its owner (root). */
void
priv_chgrp(const struct config *cf, const char *path)
{
	uid_t uid;
	gid_t gid;

	if (path != NULL && priv_ids(cf, &uid, &gid) &&
	    chown(path, (uid_t)-1, gid) == -1)
		log_warn("chgrp %s", path);
}

/*
 * Create a log file if needed and hand it to the workers' user, so that a
 * process without privileges can reopen it; 0, or -1 with errno.
 */
int
priv_prepare_file(const struct config *cf, const char *path)
{
	int fd;

	if (path == NULL)
		return 0;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1)
		return -1;
	close(fd);
	priv_chown(cf, path);
	return 0;
}

/* Become the configured user and group; fatal if that fails. */
void
priv_drop(const struct config *cf)
{
	uid_t uid;
	gid_t gid;

	if (!priv_ids(cf, &uid, &gid))
		return;
	if (setgroups(1, &gid) == -1)
		fatal("setgroups");
	if (setresgid(gid, gid, gid) == -1)
		fatal("setresgid %u", (unsigned)gid);
	if (uid != (uid_t)-1) {
		if (setresuid(uid, uid, uid) == -1)
			fatal("setresuid %s", cf->cf_user);
		if (setuid(0) != -1)
			fatalx("could regain root after dropping privileges");
	}
}
