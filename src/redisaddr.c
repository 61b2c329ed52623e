/*
 * [chat] redis: where the rooms are shared. A value with a '/' is a unix
 * socket path; anything else is HOST:PORT or [V6ADDR]:PORT, resolved once
 * here (the config's load) to a numeric address, because hiredis resolves
 * a name with a blocking getaddrinfo() and the hub must never block.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "pfhttpd.h"

/* A unix socket path: it must fit in sun_path. 0, or -1 and why. */
static int
redis_addr_unix(const char *text, struct redis_addr *ra, char *why, size_t len)
{
	struct sockaddr_un sun;

	if (strlen(text) >= sizeof(sun.sun_path)) {
		snprintf(why, len, "unix socket path longer than %zu bytes",
		    sizeof(sun.sun_path) - 1);
		return -1;
	}
	snprintf(ra->ra_path, sizeof(ra->ra_path), "%s", text);
	return 0;
}

/* Make listen_parse()'s "bad listen address ..." a "bad address ...". */
static void
redis_addr_unlisten(char *why)
{
	static const char listen[] = "bad listen address";

	if (strncmp(why, listen, sizeof(listen) - 1) == 0)
		memmove(why + 4, why + 11, strlen(why + 11) + 1);
}

/* Tell whether the address is the wildcard (0.0.0.0 or ::). */
static int
redis_addr_any(const struct listen_addr *la)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&la->la_ss;
	const struct sockaddr_in6 *sin6 =
	    (const struct sockaddr_in6 *)&la->la_ss;

	if (la->la_ss.ss_family == AF_INET)
		return sin->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
}

/*
 * Parse text, a unix socket path (with a '/') or HOST:PORT, into ra with
 * a numeric host. Return 0, or -1 with what is wrong in why.
 */
int
redis_addr_parse(const char *text, struct redis_addr *ra, char *why, size_t len)
{
	struct listen_addr la;
	int error;

	memset(ra, 0, sizeof(*ra));
	if (strchr(text, '/') != NULL)
		return redis_addr_unix(text, ra, why, len);
	if (strchr(text, ':') == NULL) {
		snprintf(why, len,
		    "expected HOST:PORT, [V6ADDR]:PORT or a unix socket path, "
		    "got '%s'",
		    text);
		return -1;
	}
	if (listen_parse(text, &la, why, len) == -1) {
		redis_addr_unlisten(why);
		return -1;
	}
	if (redis_addr_any(&la)) {
		snprintf(why, len, "'%s' names no host to connect to", text);
		return -1;
	}
	error = getnameinfo((const struct sockaddr *)&la.la_ss, la.la_sslen,
	    ra->ra_host, sizeof(ra->ra_host), NULL, 0, NI_NUMERICHOST);
	if (error != 0) {
		snprintf(why, len, "%s: %s", text, gai_strerror(error));
		return -1;
	}
	if (la.la_ss.ss_family == AF_INET)
		ra->ra_port =
		    ntohs(((const struct sockaddr_in *)&la.la_ss)->sin_port);
	else
		ra->ra_port =
		    ntohs(((const struct sockaddr_in6 *)&la.la_ss)->sin6_port);
	return 0;
}

/* Write ra as the config would say it, numeric: into buf (len bytes). */
void
redis_addr_format(const struct redis_addr *ra, char *buf, size_t len)
{
	if (ra->ra_path[0] != '\0')
		snprintf(buf, len, "%s", ra->ra_path);
	else if (strchr(ra->ra_host, ':') != NULL)
		snprintf(buf, len, "[%s]:%d", ra->ra_host, ra->ra_port);
	else
		snprintf(buf, len, "%s:%d", ra->ra_host, ra->ra_port);
}
