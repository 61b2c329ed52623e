/*
 * Custom error pages: the error_page lines of a site, each a status from
 * 400 to 599 and the path of a file in the document root that answers it
 * instead of the built-in page. Pure code: parsing and looking up; the
 * page is checked at load (config.c) and served by file.c.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"

/*
 * Check a page's path: '/', then segments of printable ASCII other than
 * spaces, none empty, "." or "..", the last one a file name. 0 or -1.
 */
static int
errpage_check_path(const char *path)
{
	const char *p, *seg;
	size_t n;

	if (path[0] != '/')
		return -1;
	for (seg = p = path + 1;; p++) {
		if (*p != '/' && *p != '\0') {
			if (*p <= ' ' || *p > 0x7e)
				return -1;
			continue;
		}
		n = (size_t)(p - seg);
		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return -1;
		if (*p == '\0')
			return 0;
		seg = p + 1;
	}
}

/*
 * Add the page in value, "STATUS /PATH" ("404 /errors/404.html"), set at
 * line of the file. Return 0, or -1 with the reason in why (len bytes).
 */
int
errpage_add(
    struct errpages *ep, const char *value, int line, char *why, size_t len)
{
	size_t n = strspn(value, "0123456789");
	const char *path = value + n + strspn(value + n, " \t");
	int status, i;

	status = n == 3
	    ? (value[0] - '0') * 100 + (value[1] - '0') * 10 + value[2] - '0'
	    : 0;
	if (status < ERRPAGE_FIRST || status > ERRPAGE_LAST ||
	    path == value + n) {
		snprintf(why, len,
		    "expected a status from %d to %d, then the path of a page "
		    "in the document root",
		    ERRPAGE_FIRST, ERRPAGE_LAST);
		return -1;
	}
	if (errpage_check_path(path) == -1) {
		snprintf(why, len,
		    "'%s': expected a path starting with '/', without "
		    "spaces or empty, '.' or '..' segments, naming a file",
		    path);
		return -1;
	}
	i = status - ERRPAGE_FIRST;
	if (ep->ep_path[i] != NULL) {
		snprintf(why, len, "status %d already has a page (line %d)",
		    status, ep->ep_line[i]);
		return -1;
	}
	if ((ep->ep_path[i] = strdup(path)) == NULL) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	ep->ep_line[i] = line;
	return 0;
}

/* Return the page's path for status, or NULL for the built-in page. */
const char *
errpage_path(const struct errpages *ep, int status)
{
	if (status < ERRPAGE_FIRST || status > ERRPAGE_LAST)
		return NULL;
	return ep->ep_path[status - ERRPAGE_FIRST];
}

/*
 * Make dst, empty, a copy of src that owns its own memory (a host's copy
 * of the [http] pages). Return 0, or -1 with dst empty if memory ran out.
 */
int
errpage_copy(struct errpages *dst, const struct errpages *src)
{
	int i;

	for (i = 0; i < ERRPAGE_LAST - ERRPAGE_FIRST + 1; i++) {
		dst->ep_line[i] = src->ep_line[i];
		if (src->ep_path[i] != NULL &&
		    (dst->ep_path[i] = strdup(src->ep_path[i])) == NULL) {
			errpage_free(dst);
			return -1;
		}
	}
	return 0;
}

/* Free the pages of ep, leaving none. */
void
errpage_free(struct errpages *ep)
{
	int i;

	for (i = 0; i < ERRPAGE_LAST - ERRPAGE_FIRST + 1; i++) {
		free(ep->ep_path[i]);
		ep->ep_path[i] = NULL;
	}
}
