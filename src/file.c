/*
 * Serving files: the request path is decoded and normalised, then opened
 * beneath the document root with openat2(RESOLVE_BENEATH), so neither
 * ".." nor a symbolic link can leave the root. Directories redirect to
 * their slashed URL or serve their index file; conditional requests are
 * evaluated in RFC 9110 order; a single byte range is honoured. The body
 * is a libevent file segment, sent with sendfile(2) and never read into
 * memory.
 */

#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/openat2.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "pfhttpd.h"

/* Open path beneath the directory dirfd; -1 with errno (EXDEV: escape). */
static int
file_open_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	/* openat2 refuses O_NOCTTY with O_PATH (EINVAL): add it only here. */
	if ((flags & O_PATH) == 0)
		flags |= O_NOCTTY;
	how.flags = (unsigned long long)(flags | O_CLOEXEC);
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* Open the document root for file_serve(); -1 with errno on failure. */
int
file_root_open(const char *root)
{
	int fd, probe;

	if ((fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if ((probe = file_open_beneath(fd, ".", O_PATH)) == -1) {
		if (errno == ENOSYS)
			fatalx("openat2(2) is required (Linux 5.6 or later)");
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
    const struct http_request *req, const struct stat *st, const char *etag)
{
	const struct http_header *h;
	time_t t;

	if ((h = http_header_find(req, "If-Match")) != NULL) {
		if (!etag_list_match(h->hh_value, h->hh_value_len, etag, 0))
			return 412;
	} else if ((h = http_header_find(req, "If-Unmodified-Since")) != NULL &&
	    httpdate_parse(h->hh_value, h->hh_value_len, &t) == 0 &&
	    st->st_mtim.tv_sec > t)
		return 412;

	if ((h = http_header_find(req, "If-None-Match")) != NULL) {
		if (etag_list_match(h->hh_value, h->hh_value_len, etag, 1))
			return 304;
	} else if ((h = http_header_find(req, "If-Modified-Since")) != NULL &&
	    httpdate_parse(h->hh_value, h->hh_value_len, &t) == 0 &&
	    st->st_mtim.tv_sec <= t)
		return 304;
	return 0;
}

/* Tell whether If-Range, if any, lets the Range field apply. */
static int
file_if_range_holds(
    const struct http_request *req, const struct stat *st, const char *etag)
{
	const struct http_header *h;
	time_t t;

	if ((h = http_header_find(req, "If-Range")) == NULL)
		return 1;
	if (h->hh_value_len > 0 &&
	    (h->hh_value[0] == '"' || h->hh_value[0] == 'W'))
		return etag_list_match(h->hh_value, h->hh_value_len, etag, 0);
	return httpdate_parse(h->hh_value, h->hh_value_len, &t) == 0 &&
	    st->st_mtim.tv_sec == t;
}

/* Send an open regular file, honouring preconditions and Range. */
static void
file_send(struct conn *c, const struct http_request *req, int fd,
    const struct stat *st, const char *type)
{
	struct evbuffer_file_segment *seg;
	const struct http_header *h;
	char etag[ETAG_LEN], lastmod[HTTPDATE_LEN], headers[512];
	off_t first = 0, last = st->st_size - 1, length = st->st_size;
	int status = 200, n;

	etag_make(&st->st_mtim, st->st_size, etag);
	httpdate_format(st->st_mtim.tv_sec, lastmod);
	n = snprintf(headers, sizeof(headers),
	    "Last-Modified: %s\r\nETag: %s\r\n", lastmod, etag);

	switch (file_preconditions(req, st, etag)) {
	case 304:
		close(fd);
		http_response_head(c, 304, NULL, -1, headers);
		return;
	case 412:
		close(fd);
		http_error(c, 412, NULL);
		return;
	}

	if (req->hr_method == HTTP_METHOD_GET &&
	    (h = http_header_find(req, "Range")) != NULL &&
	    file_if_range_holds(req, st, etag)) {
		switch (range_parse(
		    h->hh_value, h->hh_value_len, st->st_size, &first, &last)) {
		case RANGE_SATISFIABLE:
			status = 206;
			length = last - first + 1;
			n += snprintf(headers + n, sizeof(headers) - (size_t)n,
			    "Content-Range: bytes %lld-%lld/%lld\r\n",
			    (long long)first, (long long)last,
			    (long long)st->st_size);
			break;
		case RANGE_UNSATISFIABLE:
			close(fd);
			snprintf(headers, sizeof(headers),
			    "Content-Range: bytes */%lld\r\n",
			    (long long)st->st_size);
			http_error(c, 416, headers);
			return;
		case RANGE_NONE:
			first = 0;
			break;
		}
	}
	snprintf(headers + n, sizeof(headers) - (size_t)n,
	    "Accept-Ranges: bytes\r\n");

	if (c->c_head || length == 0) {
		close(fd);
		http_response_head(c, status, type, length, headers);
		return;
	}
	/* Make the body ready before the head promises its length. */
	seg = evbuffer_file_segment_new(
	    fd, first, length, EVBUF_FS_CLOSE_ON_FREE);
	if (seg == NULL) {
		log_warnx("cannot make a file segment");
		close(fd);
		http_error(c, 500, NULL);
		return;
	}
	http_response_head(c, status, type, length, headers);
	if (evbuffer_add_file_segment(
		bufferevent_get_output(c->c_bev), seg, 0, length) == -1) {
		/* Out of memory with the head queued: the body cannot follow.
		 */
		log_warnx("cannot queue a file segment");
		c->c_close_after = 1;
	} else
		c->c_resp_bytes += (unsigned long long)length;
	evbuffer_file_segment_free(seg);
}

/* Redirect a directory URL to its slashed form, keeping the query. */
static void
file_redirect_slash(
    struct conn *c, const struct http_request *req, const char *path)
{
	char encoded[PATH_MAX * 3 + 1];
	char *headers;

	if (path_encode(path, encoded, sizeof(encoded)) == -1) {
		http_error(c, 414, NULL);
		return;
	}
	if (asprintf(&headers, "Location: %s/%s%.*s\r\n", encoded,
		req->hr_query != NULL ? "?" : "", (int)req->hr_query_len,
		req->hr_query != NULL ? req->hr_query : "") == -1) {
		http_error(c, 500, NULL);
		return;
	}
	http_error(c, 301, headers);
	free(headers);
}

/* Answer a GET or HEAD request from the document root. */
void
file_serve(struct conn *c, struct http_request *req)
{
	const struct config *cf = c->c_worker->w_cf;
	int rootfd = c->c_worker->w_rootfd;
	char path[PATH_MAX], rel[PATH_MAX + NAME_MAX + 2];
	const char *name;
	struct stat st;
	int fd, status;

	status =
	    path_normalize(req->hr_path, req->hr_path_len, path, sizeof(path));
	if (status != 0) {
		http_error(c, status, NULL);
		return;
	}
	if (!cf->cf_serve_dotfiles && path_has_dotfile(path)) {
		http_error(c, 404, NULL);
		return;
	}
	name = path[1] != '\0' ? path + 1 : ".";
	if ((fd = file_open_beneath(rootfd, name, O_RDONLY | O_NONBLOCK)) ==
	    -1) {
		if (errno == EXDEV)
			log_info(
			    "%s: %s leaves the document root", c->c_peer, path);
		http_error(c, file_errno_status(errno), NULL);
		return;
	}
	if (fstat(fd, &st) == -1) {
		log_warn("fstat %s", path);
		close(fd);
		http_error(c, 500, NULL);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		if (path[strlen(path) - 1] != '/') {
			file_redirect_slash(c, req, path);
			return;
		}
		snprintf(rel, sizeof(rel), "%s%s", path + 1, cf->cf_index);
		name = rel;
		fd = file_open_beneath(rootfd, name, O_RDONLY | O_NONBLOCK);
		if (fd == -1) {
			/* No index and no listings: forbidden. */
			http_error(c,
			    errno == ENOENT ? 403 : file_errno_status(errno),
			    NULL);
			return;
		}
		if (fstat(fd, &st) == -1) {
			log_warn("fstat %s", rel);
			close(fd);
			http_error(c, 500, NULL);
			return;
		}
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		http_error(c, 403, NULL);
		return;
	}
	file_send(c, req, fd, &st, mime_type(name));
}
