/*
 * Serving files: the request path is decoded and normalised, then opened
 * beneath the document root with openat2(RESOLVE_BENEATH) or an equally
 * strict walk in user space (beneath.c), so neither ".." nor a symbolic
 * link can leave the root. Directories redirect to their slashed URL or
 * serve their index file; conditional requests are evaluated in RFC 9110
 * order; a single byte range is honoured. What a path resolves to is kept
 * for a second in the open-file cache (fcache.c): a file up to
 * FCACHE_INLINE_MAX bytes is kept in memory and copied behind the head, a
 * larger one is sent with sendfile(2) from the cached descriptor. With
 * its host's precompressed, a file's .br and .gz siblings are looked up with
 * it, and the request's Accept-Encoding picks the one sent (accenc.c). A
 * directory's listing (autoindex) is rendered when its entry is looked up
 * and kept in the entry like a file: in memory when small, else in a
 * sealed memory file sent with sendfile(2), so that every response within
 * FCACHE_TTL_MS shares the one page.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pfhttpd.h"

/* fe_status of a directory with no index, whose listing is fe's body. */
#define FILE_LISTING 200

/* The fields of a listing: it has no validators (see file_listing_fill). */
#define FILE_LISTING_TYPE   "text/html; charset=utf-8"
#define FILE_LISTING_FIELDS "Cache-Control: no-cache\r\n"

/* Open the document root for file_serve(); -1 with errno on failure. */
int
file_root_open(const char *root)
{
	int fd, probe;

	if ((fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if ((probe = beneath_open(fd, ".", O_PATH)) == -1) {
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
 * Queue length bytes of fe from first behind the response head just
 * queued, unless the request is HEAD or the head could not be queued.
 */
static void
file_send_body(
    struct conn *c, struct fcache_entry *fe, off_t first, off_t length)
{
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
		http_response_head(
		    c, 304, NULL, -1, fe->fe_fields + fe->fe_cond);
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
	file_send_body(c, fe, first, length);
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

	fd = beneath_open(rootfd, name, O_RDONLY | O_NONBLOCK);
	if (fd == -1 && (errno == EMFILE || errno == ENFILE)) {
		fcache_flush();
		fd = beneath_open(rootfd, name, O_RDONLY | O_NONBLOCK);
	}
	return fd;
}

/* Tell whether the time a is before the time b. */
static int
file_older(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/*
 * Fill fe with the regular file fd (st its metadata), of media type
 * type, in coding (ACCENC_IDENTITY: the original): its metadata, its
 * fields (with Vary: Accept-Encoding if vary, as a sibling's always are,
 * and the Cache-Control value cache unless NULL), and its bytes when
 * small, else the descriptor, which fe then owns.
 */
static void
file_fill(struct fcache_entry *fe, int fd, const struct stat *st,
    const char *type, enum accenc_coding coding, int vary, const char *cache)
{
	char lastmod[HTTPDATE_LEN];
	int n = 0;

	fe->fe_size = st->st_size;
	fe->fe_mtime = st->st_mtim;
	fe->fe_type = type;
	if (coding == ACCENC_IDENTITY)
		etag_make(&st->st_mtim, st->st_size, fe->fe_etag);
	else
		etag_make_coded(&st->st_mtim, st->st_size, accenc_name(coding),
		    fe->fe_etag);
	httpdate_format(st->st_mtim.tv_sec, lastmod);
	n = snprintf(fe->fe_fields, sizeof(fe->fe_fields),
	    FCACHE_ACCEPT_RANGES "%s%s%s",
	    coding != ACCENC_IDENTITY ? "Content-Encoding: " : "",
	    coding != ACCENC_IDENTITY ? accenc_name(coding) : "",
	    coding != ACCENC_IDENTITY ? "\r\n" : "");
	fe->fe_cond = (size_t)n;
	snprintf(fe->fe_fields + n, sizeof(fe->fe_fields) - (size_t)n,
	    "Last-Modified: %s\r\nETag: %s\r\n%s%s%s%s", lastmod, fe->fe_etag,
	    vary || coding != ACCENC_IDENTITY ? "Vary: Accept-Encoding\r\n"
					      : "",
	    cache != NULL ? "Cache-Control: " : "", cache != NULL ? cache : "",
	    cache != NULL ? "\r\n" : "");
	if (st->st_size <= FCACHE_INLINE_MAX &&
	    (fe->fe_body = malloc((size_t)st->st_size + 1)) != NULL) {
		/* Small: keep the bytes, not the descriptor. A file that
		 * changes size while read is sent from its descriptor. */
		if (pread(fd, fe->fe_body, (size_t)st->st_size + 1, 0) ==
		    st->st_size) {
			close(fd);
			return;
		}
		free(fe->fe_body);
		fe->fe_body = NULL;
	}
	fe->fe_fd = fd;
}

/*
 * Look for the precompressed siblings of the regular file name, already
 * in fe, that its host's precompressed names: name.br, name.gz. One counts if
 * it is a regular file beneath the root no older than the original; it
 * gets an entry of its own, with the original's media type, held by fe.
 * A sibling that cannot be opened or read is not there.
 */
static void
file_siblings(struct conn *c, struct fcache_entry *fe, const char *name,
    const char *cache)
{
	const struct accenc_list *al = &conn_host(c)->vh_precompressed;
	char sib[PATH_MAX];
	struct fcache_entry *se;
	enum accenc_coding coding;
	struct stat st;
	int i, fd;

	for (i = 0; i < al->al_n; i++) {
		coding = al->al_coding[i];
		if ((size_t)snprintf(sib, sizeof(sib), "%s%s", name,
			accenc_suffix(coding)) >= sizeof(sib) ||
		    (fd = file_open(c->c_worker->w_rootfd[c->c_host], sib)) ==
			-1)
			continue;
		if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
		    file_older(&st.st_mtim, &fe->fe_mtime) ||
		    (se = fcache_new(fe->fe_path, fe->fe_pathlen)) == NULL) {
			close(fd);
			continue;
		}
		file_fill(se, fd, &st, fe->fe_type, coding, 1, cache);
		fe->fe_coded[coding] = se;
		fe->fe_codings |= 1u << coding;
	}
}

/*
 * Fill fe with the listing of the directory path (normalised, slashed),
 * read and rendered now, or the error to answer; return 1 when the
 * outcome may be cached, as file_lookup() does. The page gets no
 * validators: the directory's own metadata does not change when an
 * entry's size or time does, so it cannot make an entity tag.
 */
static int
file_listing_fill(struct conn *c, const char *path, struct fcache_entry *fe)
{
	struct autoindex_dir ad;
	size_t len;
	char *page;

	if (autoindex_read(c->c_worker->w_rootfd[c->c_host], path,
		c->c_worker->w_cf->cf_serve_dotfiles, &ad) == -1) {
		fe->fe_status = file_errno_status(errno);
		return fe->fe_status != 503 && fe->fe_status != 500;
	}
	page = autoindex_render(
	    path, ad.ad_ents, ad.ad_n, ad.ad_more, AUTOINDEX_PAGE_MAX, &len);
	autoindex_dir_free(&ad);
	if (page == NULL || fcache_keep(fe, page, len) == -1) {
		/* Memory or descriptors ran out (503), or worse (500). */
		fe->fe_status = file_errno_status(errno);
		log_warn("%s: listing of %s", c->c_peer, path);
		return 0;
	}
	fe->fe_status = FILE_LISTING;
	fe->fe_type = FILE_LISTING_TYPE;
	snprintf(fe->fe_fields, sizeof(fe->fe_fields), FILE_LISTING_FIELDS);
	return 1;
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
	const struct vhost *vh = conn_host(c);
	int rootfd = c->c_worker->w_rootfd[c->c_host];
	char rel[PATH_MAX + NAME_MAX + 2];
	const char *name, *served = path, *cache;
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
		snprintf(rel, sizeof(rel), "%s%s", path, vh->vh_index);
		served = rel;
		name = rel + 1;
		if ((fd = file_open(rootfd, name)) == -1) {
			/* No index: its listing, or forbidden. */
			if (errno == ENOENT && vh->vh_autoindex)
				return file_listing_fill(c, path, fe);
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
	cache = cachectl_match(&vh->vh_cache, served, strlen(served));
	file_fill(fe, fd, &st, mime_type(name), ACCENC_IDENTITY,
	    vh->vh_precompressed.al_n > 0, cache);
	file_siblings(c, fe, name, cache);
	return 1;
}

/*
 * Return the cache entry of path (normalised) in the request's host,
 * looked up now if the cache has none, or NULL if memory ran out.
 * fcache_release() it. With several hosts the cache key is the host's
 * index then the path ("2/index.html"), so hosts never share an entry.
 */
static struct fcache_entry *
file_entry(struct conn *c, const char *path)
{
	char key[PATH_MAX + 16];
	const char *k = path;
	struct fcache_entry *fe;
	size_t len = strlen(path);

	if (c->c_worker->w_cf->cf_nhosts > 1) {
		len =
		    (size_t)snprintf(key, sizeof(key), "%d%s", c->c_host, path);
		if (len >= sizeof(key))
			return NULL;
		k = key;
	}
	if ((fe = fcache_get(k, len)) == NULL) {
		if ((fe = fcache_new(k, len)) == NULL)
			return NULL;
		if (file_lookup(c, path, fe))
			fcache_put(fe);
	}
	return fe;
}

/*
 * Answer status with its host's error_page: the page's bytes, media type
 * and length, and the fields in headers (Allow, Content-Range), without
 * validators, Cache-Control or ranges. The page comes through the
 * open-file cache like any file, so the worker reads it from disk at most
 * once a second (a small page; a larger one is sent with sendfile(2)).
 * Return -1 when the status has no page, or its page cannot be served
 * now (deleted, no longer a regular file): the caller sends the built-in
 * page.
 */
int
file_error_page(struct conn *c, int status, const char *headers)
{
	const char *path;
	struct fcache_entry *fe;

	path = errpage_path(&conn_host(c)->vh_errpages, status);
	if (path == NULL || (fe = file_entry(c, path)) == NULL)
		return -1;
	if (fe->fe_status != 0) {
		log_debug("%s: error page %s: status %d", c->c_peer, path,
		    fe->fe_status);
		fcache_release(fe);
		return -1;
	}
	http_response_head(c, status, fe->fe_type, fe->fe_size, headers);
	file_send_body(c, fe, 0, fe->fe_size);
	fcache_release(fe);
	return 0;
}

/*
 * Return the entry to send for fe: the precompressed sibling that the
 * request's Accept-Encoding and its host's precompressed choose, or fe
 * itself (no sibling, no Accept-Encoding, or the original preferred).
 */
static struct fcache_entry *
file_choose(const struct conn *c, const struct http_request *req,
    struct fcache_entry *fe)
{
	const struct http_header *h;
	enum accenc_coding coding;

	if (fe->fe_codings == 0 ||
	    (h = http_header_find(req, "Accept-Encoding")) == NULL)
		return fe;
	coding = accenc_choose(h->hh_value, h->hh_value_len,
	    &conn_host(c)->vh_precompressed, fe->fe_codings);
	return coding == ACCENC_IDENTITY ? fe : fe->fe_coded[coding];
}

/*
 * Answer with the listing that fe holds, rendered when fe was looked up:
 * HEAD gets the same head, and nothing is read or rendered here.
 */
static void
file_listing(struct conn *c, struct fcache_entry *fe)
{
	http_response_head(c, 200, fe->fe_type, fe->fe_size, fe->fe_fields);
	file_send_body(c, fe, 0, fe->fe_size);
}

/* Answer a GET or HEAD request for path (normalised) from the root. */
void
file_serve(struct conn *c, struct http_request *req, const char *path)
{
	const struct config *cf = c->c_worker->w_cf;
	struct fcache_entry *fe;

	if (!cf->cf_serve_dotfiles && path_has_dotfile(path)) {
		http_response_error(c, 404, NULL);
		return;
	}
	if ((fe = file_entry(c, path)) == NULL) {
		http_response_error(c, 503, NULL);
		return;
	}
	if (fe->fe_status == 301)
		file_redirect_slash(c, req, path);
	else if (fe->fe_status == FILE_LISTING)
		file_listing(c, fe);
	else if (fe->fe_status != 0)
		http_response_error(c, fe->fe_status, NULL);
	else
		file_send(c, req, file_choose(c, req, fe));
	fcache_release(fe);
}
