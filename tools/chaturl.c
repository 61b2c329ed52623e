/*
 * chaturl: splitting chatload's URL arguments and making each
 * connection's path (see chaturl.h).
 */

#include <stdio.h>
#include <string.h>

#include "chaturl.h"

static int chaturl_parse(
    const char *url, size_t len, struct chaturl *cu, const char **why);

/*
 * Split the len bytes at url, ws://HOST:PORT/PATH (no PATH: "/"), into
 * cu. On an error return -1 with why set.
 */
static int
chaturl_parse(const char *url, size_t len, struct chaturl *cu, const char **why)
{
	const char *host, *slash, *end = url + len, *p;
	size_t hlen, plen;

	if (len < 5 || strncmp(url, "ws://", 5) != 0) {
		*why = "expected ws://HOST:PORT/PATH";
		return -1;
	}
	host = url + 5;
	slash = memchr(host, '/', (size_t)(end - host));
	hlen = (size_t)((slash != NULL ? slash : end) - host);
	plen = slash != NULL ? (size_t)(end - slash) : 1;
	for (p = host; p < end; p++)
		if (*p <= ' ' || *p >= 0x7f) {
			*why = "expected a URL without spaces";
			return -1;
		}
	if (hlen == 0 || hlen >= sizeof(cu->cu_target)) {
		*why = "expected HOST:PORT, of at most 255 bytes";
		return -1;
	}
	if (plen >= sizeof(cu->cu_path)) {
		*why = "expected a path of at most 1023 bytes";
		return -1;
	}
	memcpy(cu->cu_target, host, hlen);
	cu->cu_target[hlen] = '\0';
	memcpy(cu->cu_path, slash != NULL ? slash : "/", plen);
	cu->cu_path[plen] = '\0';
	return 0;
}

/*
 * Split arg, one URL or several separated by commas, into urls (room for
 * CHATURL_LIST_MAX). Return how many, or -1 with why set (a bad or empty
 * URL, or too many).
 */
int
chaturl_list(const char *arg, struct chaturl *urls, const char **why)
{
	const char *p = arg, *comma;
	int n = 0;

	for (;;) {
		if (n == CHATURL_LIST_MAX) {
			*why = "more than 16 URLs";
			return -1;
		}
		comma = strchr(p, ',');
		if (chaturl_parse(p,
			comma != NULL ? (size_t)(comma - p) : strlen(p),
			&urls[n], why) == -1)
			return -1;
		n++;
		if (comma == NULL)
			return n;
		p = comma + 1;
	}
}

/*
 * Write the path of connection number n to cu into buf (size bytes),
 * each {n} replaced by n. Return -1 if it does not fit.
 */
int
chaturl_path(const struct chaturl *cu, unsigned n, char *buf, size_t size)
{
	const char *p = cu->cu_path, *brace;
	char num[16];
	size_t pos = 0, k, nlen;

	nlen = (size_t)snprintf(num, sizeof(num), "%u", n);
	while ((brace = strstr(p, "{n}")) != NULL) {
		k = (size_t)(brace - p);
		if (pos + k + nlen >= size)
			return -1;
		memcpy(buf + pos, p, k);
		memcpy(buf + pos + k, num, nlen);
		pos += k + nlen;
		p = brace + 3;
	}
	k = strlen(p);
	if (pos + k >= size)
		return -1;
	memcpy(buf + pos, p, k + 1);
	return 0;
}
