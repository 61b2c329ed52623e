/*
 * Opening a path beneath a directory (the document root) so that neither
 * ".." nor a symbolic link can leave it: openat2(2) with RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS where the kernel has it, else (Linux before 5.6,
 * or valgrind, which answers ENOSYS) beneath_open_compat(), which walks
 * the path in user space, one component at a time, with the same rules:
 *
 * - every component is opened with openat(O_PATH | O_NOFOLLOW) on the
 *   directory reached so far, so the kernel never follows a link for us;
 * - a symbolic link is read (readlinkat) and its body walked in place of
 *   the component: an absolute body gives EXDEV, more than 40 links
 *   ELOOP, an empty one ENOENT; a link into procfs whose body is not a
 *   path ("pipe:[..]") or is absolute is a magic link: ELOOP;
 *   fs.protected_symlinks is applied as the kernel does, to the
 *   trailing link only (the last component, slashes after it or not);
 * - ".." at the root gives EXDEV; elsewhere it opens the parent and
 *   checks that it is the directory the walk came from (a rename that
 *   raced with the walk gives EAGAIN, as openat2 does);
 * - "." and ".." need search permission like any other component.
 *
 * The walk is a loop of steps (beneath_step()), one per component: "."
 * (beneath_dot()), ".." (beneath_dotdot()), the last component
 * (beneath_last()), any other (beneath_enter(): down into a directory or
 * on through a link, beneath_link()). What every step keeps true:
 *
 * - It never leaves the root. The walk holds one directory, bw_cur,
 *   reached from the root by components opened without following links;
 *   ".." goes up only to the directory it came down from, and never from
 *   the root; an absolute path or link body is refused.
 * - At most BENEATH_MAXSYMLINKS (40) links are followed in one walk; the
 *   next one is ELOOP, as in the kernel, however the links are nested.
 * - Its errors are openat2's, which file.c maps to statuses: EXDEV (the
 *   path leaves the root), ELOOP (too many links, a magic link, a link
 *   as last component under O_NOFOLLOW) and EACCES are 403; ENOENT,
 *   ENOTDIR (a non-directory where a directory is needed) and
 *   ENAMETOOLONG are 404; EAGAIN (a rename raced with the walk) is 500.
 * - O_NOFOLLOW means what it means to open(2): a link as last component
 *   is not followed (ELOOP, or with O_PATH the link itself); without it,
 *   the link is followed. A component with a slash after it is not the
 *   last one: a link there is followed, flags or not.
 * - No descriptor is leaked, whatever the outcome: a step closes what it
 *   opened unless it hands it on (to bw_cur, whose old value it closes,
 *   or as the result), and the end of the walk closes bw_cur unless it is
 *   the root, which is the caller's and never closed. errno is kept
 *   across those closes.
 *
 * tests/unit/test_beneath.c checks that both agree, path by path.
 */

#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include <linux/magic.h>
#include <linux/openat2.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pfhttpd.h"

#define BENEATH_MAXSYMLINKS	  40   /* links a walk follows (MAXSYMLINKS) */
#define BENEATH_DEPTH_INLINE	  64   /* levels before the walk mallocs */
#define BENEATH_PROTECTED_UNKNOWN (-1) /* the sysctl is not read yet */
#define BENEATH_OPENED		  1    /* a step's result: bw_fd is ready */

/* The identity of a directory the walk went through. */
struct beneath_id {
	dev_t bi_dev;
	ino_t bi_ino;
};

/* A walk in progress (beneath_open_compat()). */
struct beneath_walk {
	int bw_rootfd;		   /* not to leave; the caller's */
	int bw_cur;		   /* reached so far: bw_rootfd, or ours */
	int bw_fd;		   /* the result, once BENEATH_OPENED */
	int bw_nlinks;		   /* links followed so far */
	char *bw_p;		   /* what is left to walk, up to bw_end */
	char *bw_end;		   /* the end of beneath_text */
	struct beneath_id *bw_ids; /* bw_cur and the directories above it */
	size_t bw_depth;	   /* bw_cur's level: 0 is the root */
	size_t bw_cap;		   /* room in bw_ids */
	struct beneath_id bw_inline[BENEATH_DEPTH_INLINE]; /* bw_ids at first */
};

/*
 * The text the walk has still to go through, right-aligned: the path, then
 * each link body is put in front of what is left. Room for the path and
 * BENEATH_MAXSYMLINKS bodies, so it cannot overflow. Not reentrant (the
 * processes are single-threaded).
 */
static char beneath_text[(BENEATH_MAXSYMLINKS + 1) * PATH_MAX];

/* openat2 said ENOSYS: walk in user space. */
static int beneath_openat2_missing;
/* fs.protected_symlinks, or BENEATH_PROTECTED_UNKNOWN. */
static int beneath_protected_symlinks = BENEATH_PROTECTED_UNKNOWN;

/* Read fs.protected_symlinks once; unreadable counts as on (stricter). */
static int
beneath_protected_symlinks_on(void)
{
	char buf[16];
	ssize_t n;
	int fd;

	if (beneath_protected_symlinks != BENEATH_PROTECTED_UNKNOWN)
		return beneath_protected_symlinks;
	beneath_protected_symlinks = 1;
	fd = open("/proc/sys/fs/protected_symlinks", O_RDONLY | O_CLOEXEC);
	if (fd != -1) {
		n = read(fd, buf, sizeof(buf) - 1);
		if (n > 0 && buf[0] == '0')
			beneath_protected_symlinks = 0;
		close(fd);
	}
	return beneath_protected_symlinks;
}

/*
 * may_follow_link(): with fs.protected_symlinks, the link lfd in a sticky
 * world-writable directory dirfd is followed only by its owner, or if it
 * has the directory's owner. 0, or -1 with errno (EACCES).
 */
static int
beneath_may_follow(int dirfd, int lfd)
{
	struct stat lst, dst;

	if (fstat(lfd, &lst) == -1 || fstat(dirfd, &dst) == -1)
		return -1;
	if (beneath_protected_symlinks_on() && lst.st_uid != geteuid() &&
	    (dst.st_mode & (S_ISVTX | S_IWOTH)) == (S_ISVTX | S_IWOTH) &&
	    dst.st_uid != lst.st_uid) {
		errno = EACCES;
		return -1;
	}
	return 0;
}

/*
 * Read the body of the symbolic link lfd (O_PATH) found in the directory
 * dirfd into body (PATH_MAX bytes) with the kernel's checks for following
 * it: beneath_may_follow() if it is the trailing link (EACCES), magic
 * links (ELOOP), empty (ENOENT) and absolute bodies (EXDEV). Its length,
 * or -1 with errno.
 */
static ssize_t
beneath_link_body(int dirfd, int lfd, int trailing, char *body)
{
	struct statfs sfs;
	ssize_t n;

	if (trailing && beneath_may_follow(dirfd, lfd) == -1)
		return -1;
	if ((n = readlinkat(lfd, "", body, PATH_MAX)) == -1)
		return -1;
	if (n >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* Magic links exist only in procfs; their bodies are absolute paths
	 * or "type:[inode]", which no plain procfs link ("self", "12/net")
	 * is. */
	if (fstatfs(lfd, &sfs) == -1)
		return -1;
	if (sfs.f_type == PROC_SUPER_MAGIC &&
	    (body[0] == '/' || memchr(body, ':', (size_t)n) != NULL)) {
		errno = ELOOP;
		return -1;
	}
	if (n == 0) {
		errno = ENOENT;
		return -1;
	}
	if (body[0] == '/') {
		errno = EXDEV;
		return -1;
	}
	return n;
}

/* Close fd, which a failing step opened, and fail with error: -1. */
static int
beneath_fail(int fd, int error)
{
	close(fd);
	errno = error;
	return -1;
}

/* Double the room in bw_ids, moving it off the stack; -1 with errno. */
static int
beneath_grow(struct beneath_walk *w)
{
	struct beneath_id *grown;

	if (w->bw_ids == w->bw_inline) {
		if ((grown = calloc(w->bw_cap * 2, sizeof(*grown))) != NULL)
			memcpy(grown, w->bw_inline, sizeof(w->bw_inline));
	} else
		grown = reallocarray(w->bw_ids, w->bw_cap * 2, sizeof(*grown));
	if (grown == NULL)
		return -1;
	w->bw_ids = grown;
	w->bw_cap *= 2;
	return 0;
}

/* Record st as the directory at level of the walk; -1 with errno. */
static int
beneath_push(struct beneath_walk *w, size_t level, const struct stat *st)
{
	if (level == w->bw_cap && beneath_grow(w) == -1)
		return -1;
	w->bw_ids[level].bi_dev = st->st_dev;
	w->bw_ids[level].bi_ino = st->st_ino;
	return 0;
}

/* Make the directory next the walk's, closing the one it leaves. */
static void
beneath_move(struct beneath_walk *w, int next)
{
	if (w->bw_cur != w->bw_rootfd)
		close(w->bw_cur);
	w->bw_cur = next;
}

/* Tell whether only slashes are left: the link just met is trailing. */
static int
beneath_only_slashes_left(const struct beneath_walk *w)
{
	const char *q = w->bw_p;

	while (q < w->bw_end && *q == '/')
		q++;
	return q == w->bw_end;
}

/* All walked, down to a directory: open it as asked. */
static int
beneath_open_here(struct beneath_walk *w, int flags)
{
	if ((w->bw_fd = openat(w->bw_cur, ".", flags)) == -1)
		return -1;
	return BENEATH_OPENED;
}

/* ".": a lookup all the same, which needs search permission. */
static int
beneath_dot(struct beneath_walk *w)
{
	int fd;

	if ((fd = openat(w->bw_cur, ".", O_PATH | O_CLOEXEC)) == -1)
		return -1;
	close(fd);
	return 0;
}

/*
 * "..": up to the directory the walk came down from. Never above the root
 * (EXDEV); a parent that is not that directory was moved meanwhile
 * (EAGAIN).
 */
static int
beneath_dotdot(struct beneath_walk *w)
{
	const struct beneath_id *from;
	struct stat st;
	int next;

	next = openat(w->bw_cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (next == -1)
		return -1;
	if (w->bw_depth == 0)
		return beneath_fail(next, EXDEV);
	from = &w->bw_ids[w->bw_depth - 1];
	if (fstat(next, &st) == -1 || st.st_dev != from->bi_dev ||
	    st.st_ino != from->bi_ino)
		return beneath_fail(next, EAGAIN);
	beneath_move(w, next);
	w->bw_depth--;
	return 0;
}

/* Go down into the directory next (O_PATH), whose metadata is st. */
static int
beneath_down(struct beneath_walk *w, int next, const struct stat *st)
{
	if (beneath_push(w, w->bw_depth + 1, st) == -1)
		return beneath_fail(next, errno);
	beneath_move(w, next);
	w->bw_depth++;
	return 0;
}

/*
 * Follow the symbolic link lfd (O_PATH) found in bw_cur: its body goes in
 * front of what is left to walk. One link too many is ELOOP.
 */
static int
beneath_link(struct beneath_walk *w, int lfd)
{
	char body[PATH_MAX];
	ssize_t n;

	if (++w->bw_nlinks > BENEATH_MAXSYMLINKS)
		return beneath_fail(lfd, ELOOP);
	n = beneath_link_body(
	    w->bw_cur, lfd, beneath_only_slashes_left(w), body);
	if (n == -1)
		return beneath_fail(lfd, errno);
	close(lfd);
	if ((size_t)(w->bw_p - beneath_text) < (size_t)n) {
		errno = ENAMETOOLONG; /* cannot happen: see beneath_text */
		return -1;
	}
	w->bw_p -= n;
	memcpy(w->bw_p, body, (size_t)n);
	return 0;
}

/*
 * Look name up in bw_cur: go down into a directory, or on through a link.
 * Anything else fails with not_dir: ENOTDIR, or for the last component
 * why it did not open.
 */
static int
beneath_enter(struct beneath_walk *w, const char *name, int not_dir)
{
	struct stat st;
	int next;

	next = openat(w->bw_cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (next == -1)
		return -1;
	if (fstat(next, &st) == -1)
		return beneath_fail(next, errno);
	if (S_ISDIR(st.st_mode))
		return beneath_down(w, next, &st);
	if (S_ISLNK(st.st_mode))
		return beneath_link(w, next);
	return beneath_fail(next, not_dir);
}

/*
 * The last component, with no slash after it: open name as asked. A link
 * fails with ELOOP (ENOTDIR with O_DIRECTORY), and with O_PATH opens as
 * the link; unless flags have O_NOFOLLOW, beneath_enter() then follows it.
 */
static int
beneath_last(struct beneath_walk *w, const char *name, int flags)
{
	struct stat st;
	int fd;

	if ((fd = openat(w->bw_cur, name, flags | O_NOFOLLOW)) == -1) {
		if ((errno != ELOOP && errno != ENOTDIR) ||
		    (flags & O_NOFOLLOW))
			return -1;
		return beneath_enter(w, name, errno);
	}
	if ((flags & (O_PATH | O_NOFOLLOW)) == O_PATH) {
		if (fstat(fd, &st) == -1)
			return beneath_fail(fd, errno);
		if (S_ISLNK(st.st_mode)) {
			close(fd);
			/* Still a link, or it changed meanwhile (EAGAIN). */
			return beneath_enter(w, name, EAGAIN);
		}
	}
	w->bw_fd = fd;
	return BENEATH_OPENED;
}

/*
 * Take the next component off what is left to walk and walk it: 0 to go
 * on, BENEATH_OPENED when bw_fd is the result, or -1 with errno.
 */
static int
beneath_step(struct beneath_walk *w, int flags)
{
	char name[PATH_MAX];
	const char *start;
	size_t len;

	while (w->bw_p < w->bw_end && *w->bw_p == '/')
		w->bw_p++;
	if (w->bw_p == w->bw_end)
		return beneath_open_here(w, flags);
	start = w->bw_p;
	while (w->bw_p < w->bw_end && *w->bw_p != '/')
		w->bw_p++;
	/* Shorter than PATH_MAX: no component spans a link body's end. */
	len = (size_t)(w->bw_p - start);
	memcpy(name, start, len);
	name[len] = '\0';
	if (strcmp(name, ".") == 0)
		return beneath_dot(w);
	if (strcmp(name, "..") == 0)
		return beneath_dotdot(w);
	if (w->bw_p == w->bw_end)
		return beneath_last(w, name, flags);
	return beneath_enter(w, name, ENOTDIR);
}

/* Start a walk of path beneath rootfd; -1 with errno. */
static int
beneath_walk_start(struct beneath_walk *w, int rootfd, const char *path)
{
	struct stat st;
	size_t len;

	len = strlen(path);
	if (len == 0 || len >= PATH_MAX) {
		errno = len == 0 ? ENOENT : ENAMETOOLONG;
		return -1;
	}
	if (path[0] == '/') {
		errno = EXDEV;
		return -1;
	}
	if (fstat(rootfd, &st) == -1)
		return -1;
	w->bw_rootfd = rootfd;
	w->bw_cur = rootfd;
	w->bw_fd = -1;
	w->bw_nlinks = 0;
	w->bw_ids = w->bw_inline;
	w->bw_depth = 0;
	w->bw_cap = BENEATH_DEPTH_INLINE;
	w->bw_end = beneath_text + sizeof(beneath_text);
	w->bw_p = w->bw_end - len;
	memcpy(w->bw_p, path, len);
	return beneath_push(w, 0, &st);
}

/* End a walk: close its directory unless it is the root, free its ids. */
static void
beneath_walk_end(struct beneath_walk *w)
{
	if (w->bw_cur != w->bw_rootfd)
		close(w->bw_cur);
	if (w->bw_ids != w->bw_inline)
		free(w->bw_ids);
}

/*
 * Open path beneath the directory rootfd like openat2 with RESOLVE_BENEATH
 * | RESOLVE_NO_MAGICLINKS, with openat(2) and readlinkat(2) only (see the
 * top of the file). flags are open(2) flags without O_CREAT. The new fd,
 * or -1 with errno (EXDEV: the path leaves rootfd).
 */
int
beneath_open_compat(int rootfd, const char *path, int flags)
{
	struct beneath_walk w;
	int r, error;

	if (beneath_walk_start(&w, rootfd, path) == -1)
		return -1;
	do
		r = beneath_step(&w, flags);
	while (r == 0);
	error = errno;
	beneath_walk_end(&w);
	errno = error;
	return r == BENEATH_OPENED ? w.bw_fd : -1;
}

/*
 * Open path beneath the directory dirfd with openat2(2), or where it is
 * missing with beneath_open_compat(). flags are open(2) flags without
 * O_CREAT; O_CLOEXEC is added. The new fd, or -1 with errno (EXDEV: the
 * path leaves dirfd).
 */
int
beneath_open(int dirfd, const char *path, int flags)
{
	struct open_how how;
	int fd;

	/* openat2 refuses O_NOCTTY with O_PATH (EINVAL): add it only here. */
	if ((flags & O_PATH) == 0)
		flags |= O_NOCTTY;
	flags |= O_CLOEXEC;
	if (!beneath_openat2_missing) {
		memset(&how, 0, sizeof(how));
		how.flags = (unsigned long long)flags;
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
		fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		if (fd != -1 || errno != ENOSYS)
			return fd;
		beneath_openat2_missing = 1;
		log_info("openat2(2) is missing (Linux before 5.6?): paths are "
			 "resolved beneath the document root in user space");
	}
	return beneath_open_compat(dirfd, path, flags);
}
