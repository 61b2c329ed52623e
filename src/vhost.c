/*
 * Virtual hosts: the syntax of a host name in the configuration, and the
 * choice of a host for a request's Host field. Pure functions: the config
 * (config.c) keeps the hosts, the worker asks which one serves a request.
 */

#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "pfhttpd.h"

#define VHOST_LABEL_MAX 63 /* bytes of one label */

/*
 * Tell whether s (len bytes, lower-case) is a host name: dot-separated
 * labels of 1 to 63 letters, digits and hyphens, no hyphen first or last.
 */
static int
vhost_labels_valid(const char *s, size_t len)
{
	size_t i, start;

	if (len == 0 || len > VHOST_NAME_MAX)
		return 0;
	start = 0;
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (!islower((unsigned char)s[i]) &&
			    !isdigit((unsigned char)s[i]) && s[i] != '-')
				return 0;
			continue;
		}
		if (i == start || i - start > VHOST_LABEL_MAX ||
		    s[start] == '-' || s[i - 1] == '-')
			return 0;
		start = i + 1;
	}
	return 1;
}

/*
 * Copy len bytes of in to out (outlen bytes) lower-cased, without one
 * trailing dot, NUL-terminated. Return the length, or -1 if it does not
 * fit.
 */
static int
vhost_lower(const char *in, size_t len, char *out, size_t outlen)
{
	size_t i;

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len >= outlen)
		return -1;
	for (i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[len] = '\0';
	return (int)len;
}

/*
 * Parse a host name of the configuration (a section name or an alias)
 * into out (outlen bytes): lower-cased, one trailing dot dropped, at most
 * VHOST_NAME_MAX bytes, a wildcard only as a leading "*.". Return 0, or
 * -1 if it is not a host name.
 */
int
vhost_name_parse(const char *in, char *out, size_t outlen)
{
	size_t skip;
	int n;

	n = vhost_lower(in, strlen(in), out, outlen);
	if (n == -1 || n > VHOST_NAME_MAX)
		return -1;
	skip = strncmp(out, "*.", 2) == 0 ? 2 : 0;
	return vhost_labels_valid(out + skip, (size_t)n - skip) ? 0 : -1;
}

/*
 * Reduce a Host field value (in, len bytes) to the name it asks for, in
 * out (outlen bytes): the port and an IPv6 literal's brackets stripped,
 * lower-cased, one trailing dot dropped. Return 0, or -1 if it names no
 * host that a section could (empty, bad syntax, too long).
 */
int
vhost_host_normalize(const char *in, size_t len, char *out, size_t outlen)
{
	const char *end, *port, *last;
	size_t i;
	int n, v6;

	last = in + len;
	v6 = len > 0 && in[0] == '[';
	if (v6) {
		end = memchr(in, ']', len);
		if (end == NULL || end == in + 1)
			return -1;
		for (i = 1; in + i < end; i++)
			if (!isxdigit((unsigned char)in[i]) && in[i] != ':' &&
			    in[i] != '.')
				return -1;
		port = end + 1;
		in++; /* the literal without its brackets */
	} else {
		end = memchr(in, ':', len);
		if (end == NULL)
			end = in + len;
		port = end;
	}
	if (port < last && *port++ != ':')
		return -1;
	for (; port < last; port++)
		if (!isdigit((unsigned char)*port))
			return -1;
	n = vhost_lower(in, (size_t)(end - in), out, outlen);
	if (n == -1)
		return -1;
	if (v6)
		return 0;
	return vhost_labels_valid(out, (size_t)n) ? 0 : -1;
}

/*
 * Return the index of the host in hosts[nhosts] that a Host field or a TLS
 * server name (host, len bytes; NULL for none) names: the host with that
 * exact name, else the one with the longest wildcard suffix that matches,
 * else -1 (no host has the name: the default would serve it).
 */
int
vhost_match(const struct vhost *hosts, int nhosts, const char *host, size_t len)
{
	char name[VHOST_NAME_MAX + 2];
	size_t n, sl, best_len;
	const char *s;
	int best, i, j;

	if (host == NULL ||
	    vhost_host_normalize(host, len, name, sizeof(name)) == -1)
		return -1;
	n = strlen(name);
	best = -1;
	best_len = 0;
	for (i = 0; i < nhosts; i++) {
		for (j = 0; j < hosts[i].vh_nnames; j++) {
			s = hosts[i].vh_names[j];
			if (s[0] != '*') {
				if (strcmp(s, name) == 0)
					return i;
				continue;
			}
			sl = strlen(s + 1); /* ".suffix" */
			if (n > sl && sl > best_len &&
			    memcmp(name + n - sl, s + 1, sl) == 0) {
				best = i;
				best_len = sl;
			}
		}
	}
	return best;
}

/*
 * Return the index of the host in hosts[nhosts] that serves a request
 * whose Host field is host (len bytes; NULL for none): the one it names
 * (vhost_match()), else def, the default host.
 */
int
vhost_select(const struct vhost *hosts, int nhosts, int def, const char *host,
    size_t len)
{
	int i;

	if (nhosts <= 1)
		return def;
	i = vhost_match(hosts, nhosts, host, len);
	return i >= 0 ? i : def;
}
