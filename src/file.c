/*
 * Serving files: the request path is decoded and normalised, then opened
 * beneath the document root with openat2(RESOLVE_BENEATH), so neither
 * ".." nor a symbolic link can leave the root. Directories redirect to
 * their slashed URL or serve their index file; conditional requests are
 * evaluated in RFC 9110 order; a single byte range is honoured. What a
 * path resolves to is kept for a second in the open-file cache
 * (fcache.c): a file up to FCACHE_INLINE_MAX bytes is kept in memory and
 * copied behind the head, a larger one is sent with sendfile(2) from the
 * cached descriptor.
 *
 * Where openat2(2) is missing (Linux before 5.6, or valgrind, which
 * answers ENOSYS), file_open_beneath_compat() walks the path in user
 * space, one component at a time, with the same rules as
 * RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS:
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
 * tests/unit/test_file_beneath.c checks that both agree, path by path.
 */

#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include <linux/magic.h>
#include <linux/openat2.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pfhttpd.h"

#define FILE_MAXSYMLINKS       40   /* links a walk follows (MAXSYMLINKS) */
#define FILE_DEPTH_INLINE      64   /* levels before the walk mallocs */
#define FILE_PROTECTED_UNKNOWN (-1) /* the sysctl is not read yet */

/* The identity of a directory the walk went through. */
struct file_id {
	dev_t fi_dev;
	ino_t fi_ino;
};

/*
 * The text the walk has still to go through, right-aligned: the path, then
 * each link body is put in front of what is left. Room for the path and
 * FILE_MAXSYMLINKS bodies, so it cannot overflow. Not reentrant (the
 * processes are single-threaded).
 */
static char file_walk_text[(FILE_MAXSYMLINKS + 1) * PATH_MAX];

static int file_openat2_missing; /* openat2 said ENOSYS: walk in user space */
static int file_protected_symlinks = FILE_PROTECTED_UNKNOWN; /* the sysctl */

/* Read fs.protected_symlinks once; unreadable counts as on (stricter). */
static int
file_protected_symlinks_on(void)
{
	char buf[16];
	ssize_t n;
	int fd;

	if (file_protected_symlinks != FILE_PROTECTED_UNKNOWN)
		return file_protected_symlinks;
	file_protected_symlinks = 1;
	fd = open("/proc/sys/fs/protected_symlinks", O_RDONLY | O_CLOEXEC);
	if (fd != -1) {
		n = read(fd, buf, sizeof(buf) - 1);
		if (n > 0 && buf[0] == '0')
			file_protected_symlinks = 0;
		close(fd);
	}
	return file_protected_symlinks;
}

/*
 * Read the body of the symbolic link lfd (O_PATH) found in the directory
 * dirfd into body (PATH_MAX bytes) with the kernel's checks for following
 * it: fs.protected_symlinks if it is the trailing link (EACCES), magic
 * links (ELOOP), empty (ENOENT) and absolute bodies (EXDEV). Its length,
 * or -1 with errno.
 */
static ssize_t
file_link_body(int dirfd, int lfd, int trailing, char *body)
{
	struct stat lst, dst;
	struct statfs sfs;
	ssize_t n;

	if (fstat(lfd, &lst) == -1 || fstat(dirfd, &dst) == -1)
		return -1;
	/* may_follow_link(): a link in a sticky world-writable directory is
	 * followed only by its owner, or if it has the directory's owner. */
	if (trailing && file_protected_symlinks_on() &&
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
file_walk_push(struct file_id **ids, size_t *cap, struct file_id *inline_ids,
    size_t depth, int fd)
{
	struct file_id *grown;
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
	(*ids)[depth].fi_dev = st.st_dev;
	(*ids)[depth].fi_ino = st.st_ino;
	return 0;
}

/*
 * Open path beneath the directory rootfd like openat2 with RESOLVE_BENEATH
 * | RESOLVE_NO_MAGICLINKS, with openat(2) and readlinkat(2) only (see the
 * top of the file). flags are open(2) flags without O_CREAT. The new fd,
 * or -1 with errno (EXDEV: the path leaves rootfd).
 */
int
file_open_beneath_compat(int rootfd, const char *path, int flags)
{
	char *const end = file_walk_text + sizeof(file_walk_text);
	char *p, *q, *name, body[PATH_MAX];
	struct file_id inline_ids[FILE_DEPTH_INLINE], *ids = inline_ids;
	size_t cap = FILE_DEPTH_INLINE, depth = 0, len;
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
	if (file_walk_push(&ids, &cap, inline_ids, 0, rootfd) == -1)
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
			    st.st_dev != ids[depth - 1].fi_dev ||
			    st.st_ino != ids[depth - 1].fi_ino) {
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
			if (file_walk_push(&ids, &cap, inline_ids, depth + 1,
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
		if (++nlinks > FILE_MAXSYMLINKS) {
			close(lfd);
			error = ELOOP;
			break;
		}
		for (q = p; q < end && *q == '/'; q++)
			; /* only slashes left: the trailing link */
		n = file_link_body(cur, lfd, q == end, body);
		close(lfd);
		if (n == -1) {
			error = errno;
			break;
		}
		if ((size_t)(p - file_walk_text) < (size_t)n) {
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

/* Open path beneath the directory dirfd; -1 with errno (EXDEV: escape). */
static int
file_open_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how;
	int fd;

	/* openat2 refuses O_NOCTTY with O_PATH (EINVAL): add it only here. */
	if ((flags & O_PATH) == 0)
		flags |= O_NOCTTY;
	flags |= O_CLOEXEC;
	if (!file_openat2_missing) {
		memset(&how, 0, sizeof(how));
		how.flags = (unsigned long long)flags;
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
		fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		if (fd != -1 || errno != ENOSYS)
			return fd;
		file_openat2_missing = 1;
		log_info("openat2(2) is missing (Linux before 5.6?): paths are "
			 "resolved beneath the document root in user space");
	}
	return file_open_beneath_compat(dirfd, path, flags);
}

/* Open the document root for file_serve(); -1 with errno on failure. */
int
file_root_open(const char *root)
{
	int fd, probe;

	if ((fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if ((probe = file_open_beneath(fd, ".", O_PATH)) == -1) {
		close(fd);
		return -1;
	}
	close(probe);
	return fd;
}

/* Map an open(2) failure to a response status. */
static int
file_errno_status(int error)
{
	switch (error) {
	case ENOENT:
	case ENOTDIR:
	case ENAMETOOLONG:
		return 404;
	case EACCES:
	case EPERM:
	case EXDEV:
	case ELOOP:
		return 403;
	case EMFILE:
	case ENFILE:
	case ENOMEM:
		return 503;
	default:
		return 500;
	}
}

/* Evaluate the preconditions: 0 to go on, 304 or 412. */
static int
file_preconditions(
    const struct http_request *req, const struct fcache_entry *fe)
{
	const struct http_header *h;
	time_t t;

	if ((h = http_header_find(req, "If-Match")) != NULL) {
		if (!etag_list_match(
			h->hh_value, h->hh_value_len, fe->fe_etag, 0))
			return 412;
	} else if ((h = http_header_find(req, "If-Unmodified-Since")) != NULL &&
	    httpdate_parse(h->hh_value, h->hh_value_len, &t) == 0 &&
	    fe->fe_mtime.tv_sec > t)
		return 412;

	if ((h = http_header_find(req, "If-None-Match")) != NULL) {
		if (etag_list_match(
			h->hh_value, h->hh_value_len, fe->fe_etag, 1))
			return 304;
	} else if ((h = http_header_find(req, "If-Modified-Since")) != NULL &&
	    httpdate_parse(h->hh_value, h->hh_value_len, &t) == 0 &&
	    fe->fe_mtime.tv_sec <= t)
		return 304;
	return 0;
}

/* Tell whether If-Range, if any, lets the Range field apply. */
static int
file_if_range_holds(
    const struct http_request *req, const struct fcache_entry *fe)
{
	const struct http_header *h;
	time_t t;

	if ((h = http_header_find(req, "If-Range")) == NULL)
		return 1;
	if (h->hh_value_len > 0 &&
	    (h->hh_value[0] == '"' || h->hh_value[0] == 'W'))
		return etag_list_match(
		    h->hh_value, h->hh_value_len, fe->fe_etag, 0);
	return httpdate_parse(h->hh_value, h->hh_value_len, &t) == 0 &&
	    fe->fe_mtime.tv_sec == t;
}

/*
 * Send a regular file, honouring preconditions and Range. A small file's
 * bytes go into the output buffer right behind the head, so that both
 * leave in one send(2); a larger one follows the head with sendfile(2).
 * The entry's fields were formatted when it was looked up: only a range
 * formats anything here.
 */
static void
file_send(
    struct conn *c, const struct http_request *req, struct fcache_entry *fe)
{
	const struct http_header *h;
	const char *headers = fe->fe_fields;
	char
	    ranged[FCACHE_FIELDS_LEN + 96]; /* the fields and a Content-Range */
	off_t first = 0, last = fe->fe_size - 1, length = fe->fe_size;
	int status = 200;

	switch (file_preconditions(req, fe)) {
	case 304:
		/* The validators, without Accept-Ranges. */
		http_response_head(c, 304, NULL, -1,
		    fe->fe_fields + sizeof(FCACHE_ACCEPT_RANGES) - 1);
		return;
	case 412:
		http_response_error(c, 412, NULL);
		return;
	}

	if (req->hr_method == HTTP_METHOD_GET &&
	    (h = http_header_find(req, "Range")) != NULL &&
	    file_if_range_holds(req, fe)) {
		switch (range_parse(
		    h->hh_value, h->hh_value_len, fe->fe_size, &first, &last)) {
		case RANGE_SATISFIABLE:
			status = 206;
			length = last - first + 1;
			snprintf(ranged, sizeof(ranged),
			    "%sContent-Range: bytes %lld-%lld/%lld\r\n",
			    fe->fe_fields, (long long)first, (long long)last,
			    (long long)fe->fe_size);
			headers = ranged;
			break;
		case RANGE_UNSATISFIABLE:
			snprintf(ranged, sizeof(ranged),
			    "Content-Range: bytes */%lld\r\n",
			    (long long)fe->fe_size);
			http_response_error(c, 416, ranged);
			return;
		case RANGE_NONE:
			first = 0;
			break;
		}
	}
	http_response_head(c, status, fe->fe_type, length, headers);
	if (c->c_head || length == 0 || c->c_resp_bytes == 0)
		return;
	if (fe->fe_body != NULL) {
		if (buf_add(&c->c_out, fe->fe_body + first, (size_t)length) ==
		    -1) {
			/* The head is queued: the body cannot follow. */
			log_warnx("%s: out of memory for a body", c->c_peer);
			c->c_close_after = 1;
			return;
		}
	} else
		conn_send_file(c, fe, first, length);
	c->c_resp_bytes += (unsigned long long)length;
}

/* Redirect a directory URL to its slashed form, keeping the query. */
static void
file_redirect_slash(
    struct conn *c, const struct http_request *req, const char *path)
{
	char encoded[PATH_MAX * 3 + 1];
	char *headers;

	if (path_encode(path, encoded, sizeof(encoded)) == -1) {
		http_response_error(c, 414, NULL);
		return;
	}
	if (asprintf(&headers, "Location: %s/%s%.*s\r\n", encoded,
		req->hr_query != NULL ? "?" : "", (int)req->hr_query_len,
		req->hr_query != NULL ? req->hr_query : "") == -1) {
		http_response_error(c, 500, NULL);
		return;
	}
	http_response_error(c, 301, headers);
	free(headers);
}

/*
 * Open name beneath the document root; on running out of descriptors,
 * give back the cache's and try once more. -1 with errno.
 */
static int
file_open(int rootfd, const char *name)
{
	int fd;

	fd = file_open_beneath(rootfd, name, O_RDONLY | O_NONBLOCK);
	if (fd == -1 && (errno == EMFILE || errno == ENFILE)) {
		fcache_flush();
		fd = file_open_beneath(rootfd, name, O_RDONLY | O_NONBLOCK);
	}
	return fd;
}

/*
 * Look path up in the document root and fill fe with what it is: a
 * regular file (its descriptor, or its bytes when small, and its
 * metadata), a directory to redirect (301), or the error to answer.
 * Return 1 when the outcome may be cached, 0 when it must not be (a
 * transient failure: descriptors or memory ran out).
 */
static int
file_lookup(struct conn *c, const char *path, struct fcache_entry *fe)
{
	const struct config *cf = c->c_worker->w_cf;
	int rootfd = c->c_worker->w_rootfd;
	char rel[PATH_MAX + NAME_MAX + 2], lastmod[HTTPDATE_LEN];
	const char *name;
	struct stat st;
	int fd;

	name = path[1] != '\0' ? path + 1 : ".";
	if ((fd = file_open(rootfd, name)) == -1) {
		if (errno == EXDEV)
			log_info(
			    "%s: %s leaves the document root", c->c_peer, path);
		fe->fe_status = file_errno_status(errno);
		return fe->fe_status != 503 && fe->fe_status != 500;
	}
	if (fstat(fd, &st) == -1) {
		log_warn("fstat %s", path);
		close(fd);
		fe->fe_status = 500;
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		if (path[strlen(path) - 1] != '/') {
			fe->fe_status = 301;
			return 1;
		}
		snprintf(rel, sizeof(rel), "%s%s", path + 1, cf->cf_index);
		name = rel;
		if ((fd = file_open(rootfd, name)) == -1) {
			/* No index and no listings: forbidden. */
			fe->fe_status =
			    errno == ENOENT ? 403 : file_errno_status(errno);
			return fe->fe_status != 503 && fe->fe_status != 500;
		}
		if (fstat(fd, &st) == -1) {
			log_warn("fstat %s", rel);
			close(fd);
			fe->fe_status = 500;
			return 0;
		}
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		fe->fe_status = 403;
		return 1;
	}
	fe->fe_size = st.st_size;
	fe->fe_mtime = st.st_mtim;
	fe->fe_type = mime_type(name);
	etag_make(&st.st_mtim, st.st_size, fe->fe_etag);
	httpdate_format(st.st_mtim.tv_sec, lastmod);
	snprintf(fe->fe_fields, sizeof(fe->fe_fields),
	    FCACHE_ACCEPT_RANGES "Last-Modified: %s\r\nETag: %s\r\n", lastmod,
	    fe->fe_etag);
	if (st.st_size <= FCACHE_INLINE_MAX &&
	    (fe->fe_body = malloc((size_t)st.st_size + 1)) != NULL) {
		/* Small: keep the bytes, not the descriptor. A file that
		 * changes size while read is sent from its descriptor. */
		if (pread(fd, fe->fe_body, (size_t)st.st_size + 1, 0) ==
		    st.st_size) {
			close(fd);
			return 1;
		}
		free(fe->fe_body);
		fe->fe_body = NULL;
	}
	fe->fe_fd = fd;
	return 1;
}

/* Answer a GET or HEAD request for path (normalised) from the root. */
void
file_serve(struct conn *c, struct http_request *req, const char *path)
{
	const struct config *cf = c->c_worker->w_cf;
	struct fcache_entry *fe;
	size_t len;

	if (!cf->cf_serve_dotfiles && path_has_dotfile(path)) {
		http_response_error(c, 404, NULL);
		return;
	}
	len = strlen(path);
	if ((fe = fcache_get(path, len)) == NULL) {
		if ((fe = fcache_new(path, len)) == NULL) {
			http_response_error(c, 503, NULL);
			return;
		}
		if (file_lookup(c, path, fe))
			fcache_put(fe);
	}
	if (fe->fe_status == 301)
		file_redirect_slash(c, req, path);
	else if (fe->fe_status != 0)
		http_response_error(c, fe->fe_status, NULL);
	else
		file_send(c, req, fe);
	fcache_release(fe);
}
