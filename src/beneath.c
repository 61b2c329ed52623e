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

/* The identity of a directory the walk went through. */
struct beneath_id {
	dev_t bi_dev;
	ino_t bi_ino;
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
 * Read the body of the symbolic link lfd (O_PATH) found in the directory
 * dirfd into body (PATH_MAX bytes) with the kernel's checks for following
 * it: fs.protected_symlinks if it is the trailing link (EACCES), magic
 * links (ELOOP), empty (ENOENT) and absolute bodies (EXDEV). Its length,
 * or -1 with errno.
 */
static ssize_t
beneath_link_body(int dirfd, int lfd, int trailing, char *body)
{
	struct stat lst, dst;
	struct statfs sfs;
	ssize_t n;

	if (fstat(lfd, &lst) == -1 || fstat(dirfd, &dst) == -1)
		return -1;
	/* may_follow_link(): a link in a sticky world-writable directory is
	 * followed only by its owner, or if it has the directory's owner. */
	if (trailing && beneath_protected_symlinks_on() &&
	    lst.st_uid != geteuid() &&
	    (dst.st_mode & (S_ISVTX | S_IWOTH)) == (S_ISVTX | S_IWOTH) &&
	    dst.st_uid != lst.st_uid) {
		errno = EACCES;
		return -1;
	}
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

/* Record the directory fd as level depth of the walk; -1 with errno. */
static int
beneath_push(struct beneath_id **ids, size_t *cap,
    struct beneath_id *inline_ids, size_t depth, int fd)
{
	struct beneath_id *grown;
	struct stat st;

	if (fstat(fd, &st) == -1)
		return -1;
	if (depth == *cap) {
		if (*ids == inline_ids) {
			if ((grown = calloc(*cap * 2, sizeof(*grown))) != NULL)
				memcpy(
				    grown, inline_ids, *cap * sizeof(*grown));
		} else
			grown = reallocarray(*ids, *cap * 2, sizeof(*grown));
		if (grown == NULL)
			return -1;
		*ids = grown;
		*cap *= 2;
	}
	(*ids)[depth].bi_dev = st.st_dev;
	(*ids)[depth].bi_ino = st.st_ino;
	return 0;
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
	char *const end = beneath_text + sizeof(beneath_text);
	char *p, *q, *name, body[PATH_MAX];
	struct beneath_id inline_ids[BENEATH_DEPTH_INLINE], *ids = inline_ids;
	size_t cap = BENEATH_DEPTH_INLINE, depth = 0, len;
	int cur = rootfd, next, lfd, fd = -1, error = 0, nlinks = 0;
	int last_errno = EAGAIN;
	struct stat st;
	ssize_t n;

	len = strlen(path);
	if (len == 0 || len >= PATH_MAX) {
		errno = len == 0 ? ENOENT : ENAMETOOLONG;
		return -1;
	}
	if (path[0] == '/') {
		errno = EXDEV;
		return -1;
	}
	if (beneath_push(&ids, &cap, inline_ids, 0, rootfd) == -1)
		return -1;
	p = end - len;
	memcpy(p, path, len);

	for (;;) {
		while (p < end && *p == '/')
			p++;
		if (p == end) {
			/* All walked, down to a directory: open it. */
			if ((fd = openat(cur, ".", flags)) == -1)
				error = errno;
			break;
		}
		name = p;
		while (p < end && *p != '/')
			p++;
		len = (size_t)(p - name);
		if (len == 1 && name[0] == '.') {
			/* A lookup all the same: it needs search permission. */
			if ((next = openat(cur, ".", O_PATH | O_CLOEXEC)) ==
			    -1) {
				error = errno;
				break;
			}
			close(next);
			continue;
		}
		memcpy(body, name, len); /* NUL-terminated copy of the name */
		body[len] = '\0';
		if (len == 2 && name[0] == '.' && name[1] == '.') {
			next =
			    openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (next == -1) {
				error = errno;
				break;
			}
			if (depth == 0) {
				close(next);
				error = EXDEV;
				break;
			}
			if (fstat(next, &st) == -1 ||
			    st.st_dev != ids[depth - 1].bi_dev ||
			    st.st_ino != ids[depth - 1].bi_ino) {
				/* Not where the walk came from: moved. */
				close(next);
				error = EAGAIN;
				break;
			}
			if (cur != rootfd)
				close(cur);
			cur = next;
			depth--;
			continue;
		}

		if (p == end) {
			/* The last component, opened as asked. A link fails
			 * with ELOOP, or ENOTDIR with O_DIRECTORY; with O_PATH
			 * it opens, as the link. */
			fd = openat(cur, body, flags | O_NOFOLLOW);
			if (fd == -1) {
				last_errno = errno;
				if ((last_errno != ELOOP &&
					last_errno != ENOTDIR) ||
				    (flags & O_NOFOLLOW)) {
					error = last_errno;
					break;
				}
			} else if ((flags & (O_PATH | O_NOFOLLOW)) != O_PATH)
				break; /* not a link, or a link not to follow */
			else if (fstat(fd, &st) == -1) {
				error = errno;
				close(fd);
				fd = -1;
				break;
			} else if (!S_ISLNK(st.st_mode))
				break;
			else {
				close(fd);
				fd = -1;
			}
		}
		/* A directory to go down into, or a link to follow. */
		if ((next = openat(
			 cur, body, O_PATH | O_NOFOLLOW | O_CLOEXEC)) == -1) {
			error = errno;
			break;
		}
		if (fstat(next, &st) == -1) {
			error = errno;
			close(next);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (beneath_push(&ids, &cap, inline_ids, depth + 1,
				next) == -1) {
				error = errno;
				close(next);
				break;
			}
			if (cur != rootfd)
				close(cur);
			cur = next;
			depth++;
			continue;
		}
		if (!S_ISLNK(st.st_mode)) {
			/* A file where a directory is needed, or why the
			 * last component did not open. */
			close(next);
			error = p == end ? last_errno : ENOTDIR;
			break;
		}
		lfd = next;
		if (++nlinks > BENEATH_MAXSYMLINKS) {
			close(lfd);
			error = ELOOP;
			break;
		}
		for (q = p; q < end && *q == '/'; q++)
			; /* only slashes left: the trailing link */
		n = beneath_link_body(cur, lfd, q == end, body);
		close(lfd);
		if (n == -1) {
			error = errno;
			break;
		}
		if ((size_t)(p - beneath_text) < (size_t)n) {
			error = ENAMETOOLONG; /* cannot happen: see the size */
			break;
		}
		p -= n;
		memcpy(p, body, (size_t)n);
	}
	if (cur != rootfd)
		close(cur);
	if (ids != inline_ids)
		free(ids);
	if (fd == -1)
		errno = error;
	return fd;
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
