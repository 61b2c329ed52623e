/*
 * Directory listings ([http] or [host] autoindex): a directory with no
 * index file is answered with an HTML page of its entries.
 *
 * autoindex_read() opens the directory beneath the host's root, as
 * file.c opens a file (beneath_open(), never by a path string), and keeps
 * only what a request for the entry would be served: a regular file or a
 * directory, reached by a symbolic link only if the link stays beneath
 * the root, and no dotfile unless serve_dotfiles. It looks at no more
 * than AUTOINDEX_ENTRIES_MAX entries, in the order the file system gives
 * them, and says when it left some unread.
 *
 * autoindex_render() is pure: entries in, page bytes out. Directories come
 * first, then files, each sorted by name (bytewise). A name is percent-
 * encoded in its href (every byte but RFC 3986's unreserved ones, so a
 * ':' is never read as a scheme) and HTML-escaped in text, where a control
 * byte or a byte that is not part of valid UTF-8 becomes U+FFFD, so the
 * page is always valid UTF-8. The page is at most max bytes: rows that do
 * not fit are left out, and the page says so, as it does for unread
 * entries.
 */

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pfhttpd.h"

#define AUTOINDEX_REPLACEMENT "\xef\xbf\xbd" /* U+FFFD in UTF-8 */
#define AUTOINDEX_ESC_RATIO   6		     /* bytes out per byte, at most */

/* The end of every page, with the note on what it leaves out between. */
#define AUTOINDEX_TABLE_END "</tbody></table>\n"
#define AUTOINDEX_MORE                                                         \
	"<p>The directory has more entries than this page lists.</p>\n"
#define AUTOINDEX_END "<hr><p>" PFHTTPD_SERVER "</p></body></html>\n"

/* A page being built: at most ao_max bytes, grown as needed. */
struct autoindex_out {
	char *ao_buf;  /* the bytes, or NULL */
	size_t ao_len; /* bytes used */
	size_t ao_cap; /* bytes allocated */
	size_t ao_max; /* bytes it may not exceed now */
	int ao_error;  /* 0, ENOBUFS (over ao_max) or ENOMEM */
};

/*
 * Tell whether the file name in directory dirfd (path, slashed, beneath
 * the root rootfd) is served, and fill st with what a request reaches: a
 * symbolic link is followed beneath the root, as file.c opens it.
 */
static int
autoindex_served(
    int rootfd, int dirfd, const char *path, const char *name, struct stat *st)
{
	char rel[PATH_MAX];
	int fd, ok;

	if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	if (S_ISLNK(st->st_mode)) {
		if ((size_t)snprintf(rel, sizeof(rel), "%s%s", path + 1,
			name) >= sizeof(rel) ||
		    (fd = beneath_open(rootfd, rel, O_PATH)) == -1)
			return 0;
		ok = fstat(fd, st) == 0;
		close(fd);
		if (!ok)
			return 0;
	}
	return S_ISREG(st->st_mode) || S_ISDIR(st->st_mode);
}

/* Append an entry named name (st its metadata) to ad; 0, or -1 (ENOMEM). */
static int
autoindex_add(struct autoindex_dir *ad, const char *name, const struct stat *st)
{
	struct autoindex_entry *e;
	size_t cap;

	if (ad->ad_n == ad->ad_cap) {
		cap = ad->ad_cap == 0 ? 64 : ad->ad_cap * 2;
		if ((e = reallocarray(ad->ad_ents, cap, sizeof(*e))) == NULL)
			return -1;
		ad->ad_ents = e;
		ad->ad_cap = cap;
	}
	e = &ad->ad_ents[ad->ad_n];
	if ((e->ae_name = strdup(name)) == NULL)
		return -1;
	e->ae_dir = S_ISDIR(st->st_mode);
	e->ae_size = st->st_size;
	e->ae_mtime = st->st_mtim.tv_sec;
	ad->ad_n++;
	return 0;
}

/* Read the entries of the open directory d into ad; 0, or -1 with errno. */
static int
autoindex_scan(int rootfd, DIR *d, const char *path, int dotfiles,
    struct autoindex_dir *ad)
{
	struct dirent *de;
	struct stat st;
	size_t seen = 0;

	for (;;) {
		errno = 0;
		// cppcheck-suppress readdirCalled ; readdir_r is deprecated
		if ((de = readdir(d)) == NULL)
			return errno == 0 ? 0 : -1;
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (seen++ == AUTOINDEX_ENTRIES_MAX) {
			ad->ad_more = 1;
			return 0;
		}
		if ((de->d_name[0] == '.' && !dotfiles) ||
		    !autoindex_served(rootfd, dirfd(d), path, de->d_name, &st))
			continue;
		if (autoindex_add(ad, de->d_name, &st) == -1)
			return -1;
	}
}

/*
 * Read the directory path (normalised, ending in '/') beneath the root
 * rootfd into ad, keeping only the entries a request would be served
 * (dotfiles only if dotfiles). Return 0, or -1 with errno (the directory
 * cannot be opened or read, or memory ran out); ad then holds nothing.
 * autoindex_dir_free() it.
 */
int
autoindex_read(
    int rootfd, const char *path, int dotfiles, struct autoindex_dir *ad)
{
	DIR *d;
	int fd, error;

	memset(ad, 0, sizeof(*ad));
	fd = beneath_open(
	    rootfd, path[1] != '\0' ? path + 1 : ".", O_RDONLY | O_DIRECTORY);
	if (fd == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		error = errno;
		close(fd);
		errno = error;
		return -1;
	}
	if (autoindex_scan(rootfd, d, path, dotfiles, ad) == -1) {
		error = errno;
		closedir(d);
		autoindex_dir_free(ad);
		errno = error;
		return -1;
	}
	closedir(d);
	return 0;
}

/* Free what ad holds and leave it empty. */
void
autoindex_dir_free(struct autoindex_dir *ad)
{
	size_t i;

	for (i = 0; i < ad->ad_n; i++)
		free(ad->ad_ents[i].ae_name);
	free(ad->ad_ents);
	memset(ad, 0, sizeof(*ad));
}

/*
 * Return the length of the valid UTF-8 sequence of two bytes or more that
 * starts at p (NUL-terminated), or 0 if none does.
 */
static size_t
autoindex_utf8_len(const unsigned char *p)
{
	uint32_t state;
	size_t k;

	for (k = 2; k <= 4 && p[k - 1] != '\0'; k++) {
		state = UTF8_ACCEPT;
		if (utf8_validate(&state, p, k) != k)
			return 0;
		if (utf8_complete(state))
			return k;
	}
	return 0;
}

/*
 * Point *rep at what the bytes at p (NUL-terminated, *p not NUL) become
 * in HTML text, *replen bytes; return how many bytes of p they stand for.
 */
static size_t
autoindex_html_piece(const unsigned char *p, const char **rep, size_t *replen)
{
	size_t k = 1;

	switch (*p) {
	case '&':
		*rep = "&amp;";
		break;
	case '<':
		*rep = "&lt;";
		break;
	case '>':
		*rep = "&gt;";
		break;
	case '"':
		*rep = "&quot;";
		break;
	case '\'':
		*rep = "&#39;";
		break;
	default:
		if (*p < 0x20 || *p == 0x7f ||
		    (*p >= 0x80 && (k = autoindex_utf8_len(p)) == 0)) {
			*rep = AUTOINDEX_REPLACEMENT;
			break;
		}
		*rep = (const char *)p;
		*replen = k;
		return k;
	}
	*replen = strlen(*rep);
	return 1;
}

/*
 * HTML-escape s into out, NUL-terminated: & < > " ' as character
 * references, a control byte or a byte outside valid UTF-8 as U+FFFD,
 * valid UTF-8 as it is; at most AUTOINDEX_ESC_RATIO bytes per byte of s.
 * Return 0, or -1 if the result does not fit outlen (out is then empty
 * if outlen > 0).
 */
int
autoindex_escape_html(const char *s, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)s;
	const char *rep;
	size_t o = 0, n;

	while (*p != '\0') {
		p += autoindex_html_piece(p, &rep, &n);
		if (outlen - o < n + 1)
			goto toolong;
		memcpy(out + o, rep, n);
		o += n;
	}
	if (outlen - o < 1)
		goto toolong;
	out[o] = '\0';
	return 0;

toolong:
	if (outlen > 0)
		out[0] = '\0';
	return -1;
}

/*
 * Percent-encode s into out, NUL-terminated, for an href: RFC 3986's
 * unreserved characters (ALPHA DIGIT - . _ ~) stay, every other byte
 * becomes %XX (uppercase). Return 0, or -1 if the result does not fit
 * outlen (out is then empty if outlen > 0).
 */
int
autoindex_encode_url(const char *s, char *out, size_t outlen)
{
	return path_percent_encode(s, path_unreserved, out, outlen);
}

/* Append n bytes of s to o, unless that would pass o->ao_max. */
static void
autoindex_put(struct autoindex_out *o, const char *s, size_t n)
{
	size_t cap;
	char *b;

	if (o->ao_error != 0)
		return;
	if (n > o->ao_max - o->ao_len) {
		o->ao_error = ENOBUFS;
		return;
	}
	if (n > o->ao_cap - o->ao_len) {
		cap = o->ao_cap < 4096 ? 4096 : o->ao_cap * 2;
		while (cap - o->ao_len < n)
			cap *= 2;
		if ((b = realloc(o->ao_buf, cap)) == NULL) {
			o->ao_error = ENOMEM;
			return;
		}
		o->ao_buf = b;
		o->ao_cap = cap;
	}
	memcpy(o->ao_buf + o->ao_len, s, n);
	o->ao_len += n;
}

/* Append the string s to o. */
static void
autoindex_puts(struct autoindex_out *o, const char *s)
{
	autoindex_put(o, s, strlen(s));
}

/* Order entries: directories first, then by name, bytewise. */
static int
autoindex_cmp(const void *a, const void *b)
{
	const struct autoindex_entry *x = a, *y = b;

	if (x->ae_dir != y->ae_dir)
		return y->ae_dir - x->ae_dir;
	return strcmp(x->ae_name, y->ae_name);
}

/*
 * Append the table row of entry e to o; scratch holds at least
 * AUTOINDEX_ESC_RATIO times its name's length, plus one.
 */
static void
autoindex_row(struct autoindex_out *o, const struct autoindex_entry *e,
    char *scratch, size_t scratch_len)
{
	char cell[64];
	struct tm tm;

	autoindex_encode_url(e->ae_name, scratch, scratch_len);
	autoindex_puts(o, "<tr><td><a href=\"");
	autoindex_puts(o, scratch);
	autoindex_puts(o, e->ae_dir ? "/\">" : "\">");
	autoindex_escape_html(e->ae_name, scratch, scratch_len);
	autoindex_puts(o, scratch);
	autoindex_puts(o, e->ae_dir ? "/</a></td><td>" : "</a></td><td>");
	if (e->ae_dir)
		autoindex_puts(o, "-");
	else {
		snprintf(cell, sizeof(cell), "%lld", (long long)e->ae_size);
		autoindex_puts(o, cell);
	}
	autoindex_puts(o, "</td><td>");
	if (gmtime_r(&e->ae_mtime, &tm) == NULL ||
	    strftime(cell, sizeof(cell), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(cell, sizeof(cell), "-");
	autoindex_puts(o, cell);
	autoindex_puts(o, "</td></tr>\n");
}

/* Append the page's head, title and heading for path to o. */
static void
autoindex_head(struct autoindex_out *o, const char *path, char *scratch,
    size_t scratch_len)
{
	autoindex_escape_html(path, scratch, scratch_len);
	autoindex_puts(o,
	    "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
	    "\n<title>Index of ");
	autoindex_puts(o, scratch);
	autoindex_puts(o, "</title></head>\n<body>\n<h1>Index of ");
	autoindex_puts(o, scratch);
	autoindex_puts(o,
	    "</h1>\n<table><thead><tr><th>Name</th><th>Size</th>"
	    "<th>Last modified (UTC)</th></tr></thead>\n"
	    "<tbody>\n");
	if (strcmp(path, "/") != 0)
		autoindex_puts(o,
		    "<tr><td><a href=\"../\">../</a></td>"
		    "<td>-</td><td>-</td></tr>\n");
}

/*
 * Append a row for each of the n entries (sorted) to o while they fit;
 * return 1 if one did not, else 0.
 */
static int
autoindex_rows(struct autoindex_out *o, const struct autoindex_entry *ents,
    size_t n, char *scratch, size_t scratch_len)
{
	size_t i, mark;

	for (i = 0; i < n; i++) {
		mark = o->ao_len;
		autoindex_row(o, &ents[i], scratch, scratch_len);
		if (o->ao_error == ENOBUFS) {
			o->ao_len = mark;
			o->ao_error = 0;
			return 1;
		}
	}
	return 0;
}

/*
 * Render the listing page of directory path (normalised, ending in '/')
 * whose entries are ents[0..n), sorted here; more says entries were left
 * unread. The page is at most max bytes: rows that do not fit are left
 * out, and the page then says it lists only part of the directory, as it
 * does with more. Return the page (malloc'd, *lenp bytes, not
 * NUL-terminated), or NULL with errno: ENOMEM, or ENOBUFS if not even
 * the head and the end fit max.
 */
char *
autoindex_render(const char *path, struct autoindex_entry *ents, size_t n,
    int more, size_t max, size_t *lenp)
{
	struct autoindex_out o = {NULL, 0, 0, 0, 0};
	size_t i, longest = strlen(path), reserve, scratch_len;
	char *scratch;

	for (i = 0; i < n; i++)
		if (strlen(ents[i].ae_name) > longest)
			longest = strlen(ents[i].ae_name);
	scratch_len = longest * AUTOINDEX_ESC_RATIO + 1;
	if ((scratch = malloc(scratch_len)) == NULL)
		return NULL;
	if (n > 1)
		qsort(ents, n, sizeof(*ents), autoindex_cmp);
	reserve = sizeof(AUTOINDEX_TABLE_END AUTOINDEX_MORE AUTOINDEX_END) - 1;
	o.ao_max = max > reserve ? max - reserve : 0;
	autoindex_head(&o, path, scratch, scratch_len);
	if (o.ao_error == 0 &&
	    autoindex_rows(&o, ents, n, scratch, scratch_len))
		more = 1;
	o.ao_max = max;
	autoindex_puts(&o, AUTOINDEX_TABLE_END);
	if (more)
		autoindex_puts(&o, AUTOINDEX_MORE);
	autoindex_puts(&o, AUTOINDEX_END);
	free(scratch);
	if (o.ao_error != 0) {
		free(o.ao_buf);
		errno = o.ao_error;
		return NULL;
	}
	*lenp = o.ao_len;
	return o.ao_buf;
}
