/*
 * chaturl: the URLs chatload connects to. A URL is ws://HOST:PORT/PATH,
 * where {n} in PATH stands for the connection's number (?nick=s{n}); an
 * argument may list several, separated by commas, so that one run spreads
 * its connections over several servers (a URL cannot hold a comma, which
 * chat URLs do not need). Pure functions, no name resolution.
 */

#ifndef CHATURL_H
#define CHATURL_H

#include <stddef.h>

#define CHATURL_LIST_MAX   16	/* URLs in one argument */
#define CHATURL_TARGET_MAX 256	/* HOST:PORT, with its NUL */
#define CHATURL_PATH_MAX   1024 /* path and query, with the NUL */

/* One URL, split. */
struct chaturl {
	char cu_target[CHATURL_TARGET_MAX]; /* HOST:PORT as given */
	char cu_path[CHATURL_PATH_MAX];	    /* path and query, {n} as given */
};

int chaturl_list(const char *arg, struct chaturl *urls, const char **why);
int chaturl_path(const struct chaturl *cu, unsigned n, char *buf, size_t size);

#endif /* CHATURL_H */
