/*
 * Privilege drop: a worker started by root becomes the configured user and
 * group once it holds everything it needs from root (the listening
 * sockets, the document root, the error log).
 */

#include <errno.h>
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

/* Become the configured user and group; fatal if that fails. */
void
priv_drop(const struct config *cf)
{
	struct passwd *pw = NULL;
	struct group *gr;
	gid_t gid;

	if (geteuid() != 0 || (cf->cf_user == NULL && cf->cf_group == NULL))
		return;
	if (cf->cf_user != NULL && (pw = getpwnam(cf->cf_user)) == NULL)
		fatalx("unknown user %s", cf->cf_user);
	if (cf->cf_group != NULL) {
		if ((gr = getgrnam(cf->cf_group)) == NULL)
			fatalx("unknown group %s", cf->cf_group);
		gid = gr->gr_gid;
	} else
		gid = pw->pw_gid;

	if (setgroups(1, &gid) == -1)
		fatal("setgroups");
	if (setresgid(gid, gid, gid) == -1)
		fatal("setresgid %u", (unsigned)gid);
	if (pw != NULL) {
		if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
			fatal("setresuid %s", cf->cf_user);
		if (setuid(0) != -1)
			fatalx("could regain root after dropping privileges");
	}
}
