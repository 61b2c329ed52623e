/*
 * Listening addresses: parse "host:port", "[v6]:port", "*:port" or "port",
 * and open, bind and close the listening socket.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pfhttpd.h"

#define LISTEN_WHY_LEN 256 /* a reason that quotes the host */

/* Parse the decimal port text into *port (1..65535). NULL, or what is wrong. */
static const char *
listen_parse_port(const char *text, int *port)
{
	long v;

	if (*text == '\0')
		return "missing port";
	for (v = 0; *text != '\0'; text++) {
		if (*text < '0' || *text > '9')
			return "port must be a decimal number";
		if (v <= 65535)
			v = v * 10 + (*text - '0');
	}
	if (v < 1 || v > 65535)
		return "port out of range (1..65535)";
	*port = (int)v;
	return NULL;
}

/* Tell whether host is made only of digits and dots (an IPv4 attempt). */
static int
listen_is_dotted(const char *host)
{
	for (; *host != '\0'; host++) {
		if (*host != '.' && (*host < '0' || *host > '9'))
			return 0;
	}
	return 1;
}

/*
 * Resolve host and port with getaddrinfo and keep the first TCP result in
 * la. NULL, or what is wrong.
 */
static const char *
listen_resolve(
    const char *host, int port, int family, int flags, struct listen_addr *la)
{
	struct addrinfo hints, *res;
	char portstr[8];
	int error;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV | flags;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((error = getaddrinfo(host, portstr, &hints, &res)) != 0)
		return error == EAI_SYSTEM ? strerror(errno)
					   : gai_strerror(error);
	if (res->ai_addrlen > sizeof(la->la_ss)) {
		freeaddrinfo(res);
		return "address too long";
	}
	memcpy(&la->la_ss, res->ai_addr, res->ai_addrlen);
	la->la_sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return NULL;
}

/* Set la to the IPv4 address addr (network order) and port. */
static void
listen_set_ipv4(struct listen_addr *la, in_addr_t addr, int port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&la->la_ss;

	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = addr;
	sin->sin_port = htons((unsigned short)port);
	la->la_sslen = sizeof(*sin);
}

/* A bare "port": any IPv4 address. NULL, or what is wrong. */
static const char *
listen_parse_bare_port(const char *text, struct listen_addr *la)
{
	const char *reason;
	int port;

	if ((reason = listen_parse_port(text, &port)) != NULL)
		return reason;
	listen_set_ipv4(la, htonl(INADDR_ANY), port);
	return NULL;
}

/* "[v6addr]:port", a numeric IPv6 address. NULL, or what is wrong. */
static const char *
listen_parse_v6(const char *text, struct listen_addr *la)
{
	const char *rbracket, *reason;
	char host[sizeof(la->la_name)];
	size_t hostlen;
	int port;

	if ((rbracket = strchr(text, ']')) == NULL)
		return "missing ']' after IPv6 address";
	if (rbracket[1] != ':')
		return "expected ':port' after ']'";
	if ((reason = listen_parse_port(rbracket + 2, &port)) != NULL)
		return reason;
	if ((hostlen = (size_t)(rbracket - text - 1)) == 0)
		return "empty IPv6 address";
	memcpy(host, text + 1, hostlen);
	host[hostlen] = '\0';
	if (listen_resolve(host, port, AF_INET6, AI_NUMERICHOST, la) != NULL)
		return "not a numeric IPv6 address";
	return NULL;
}

/*
 * The host of "host:port" when it is a.b.c.d, strictly (getaddrinfo would
 * take inet_aton's forms, "10.1" and the like). NULL, or what is wrong.
 */
static const char *
listen_parse_ipv4(const char *host, int port, struct listen_addr *la)
{
	struct in_addr addr;

	if (inet_pton(AF_INET, host, &addr) != 1)
		return "not a valid IPv4 address";
	listen_set_ipv4(la, addr.s_addr, port);
	return NULL;
}

/*
 * The host of "host:port" when it is a name, resolved now. NULL, or what
 * is wrong, written to why (whylen bytes).
 */
static const char *
listen_parse_name(const char *host, int port, struct listen_addr *la, char *why,
    size_t whylen)
{
	const char *reason;

	if ((reason = listen_resolve(host, port, AF_UNSPEC, 0, la)) == NULL)
		return NULL;
	snprintf(why, whylen, "cannot resolve '%s': %s", host, reason);
	return why;
}

/*
 * "host:port" or "*:port", colon being the last ':' of text: any IPv4
 * address ("*"), an IPv4 address or a name. NULL, or what is wrong (in
 * why, whylen bytes, if the name does not resolve).
 */
static const char *
listen_parse_host_port(const char *text, const char *colon,
    struct listen_addr *la, char *why, size_t whylen)
{
	const char *reason;
	char host[sizeof(la->la_name)];
	size_t hostlen;
	int port;

	if ((reason = listen_parse_port(colon + 1, &port)) != NULL)
		return reason;
	if ((hostlen = (size_t)(colon - text)) == 0)
		return "missing host (use *:port for any address)";
	if (memchr(text, ':', hostlen) != NULL)
		return "an IPv6 address must be in brackets: [addr]:port";
	memcpy(host, text, hostlen);
	host[hostlen] = '\0';
	if (strcmp(host, "*") == 0) {
		listen_set_ipv4(la, htonl(INADDR_ANY), port);
		return NULL;
	}
	if (listen_is_dotted(host))
		return listen_parse_ipv4(host, port, la);
	return listen_parse_name(host, port, la, why, whylen);
}

/*
 * Parse text into la: "host:port", "[v6addr]:port", "*:port" or a bare
 * "port" (both meaning any IPv4 address). The host is a numeric address or
 * a name resolved now. On error, return -1, leave la untouched and write
 * the reason to err.
 */
int
listen_parse(const char *text, struct listen_addr *la, char *err, size_t errlen)
{
	struct listen_addr new;
	const char *colon, *reason;
	char why[LISTEN_WHY_LEN];
	size_t len;

	memset(&new, 0, sizeof(new));
	new.la_fd = -1;
	if ((len = strlen(text)) >= sizeof(new.la_name)) {
		snprintf(err, errlen,
		    "bad listen address '%.40s...': longer than %zu characters",
		    text, sizeof(new.la_name) - 1);
		return -1;
	}
	memcpy(new.la_name, text, len + 1);
	if (len == 0)
		reason = "empty address";
	else if (text[0] == '[')
		reason = listen_parse_v6(text, &new);
	else if ((colon = strrchr(text, ':')) == NULL)
		reason = listen_parse_bare_port(text, &new);
	else
		reason =
		    listen_parse_host_port(text, colon, &new, why, sizeof(why));
	if (reason != NULL) {
		snprintf(
		    err, errlen, "bad listen address '%s': %s", text, reason);
		return -1;
	}
	*la = new;
	return 0;
}

/*
 * Open a non-blocking, close-on-exec socket bound to la, listening if
 * do_listen, in a SO_REUSEPORT group if reuseport, with the options of
 * listen_tune() set as it starts listening (a connection takes them when
 * its handshake completes, which may be before anyone accepts it). The
 * socket, or -1 with errno set.
 */
static int
listen_socket(const struct listen_addr *la, int reuseport, int do_listen,
    long long notsent_lowat)
{
	int fd, on, saved;

	fd = socket(
	    la->la_ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	on = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	if (reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1)
		goto fail;
	/* Without V6ONLY, [::]:80 would also take 0.0.0.0:80. */
	if (la->la_ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&la->la_ss, la->la_sslen) == -1)
		goto fail;
	/* Tuned just after listen(), which clears the delayed-ACK mode. */
	if (do_listen &&
	    (listen(fd, LISTEN_BACKLOG) == -1 ||
		listen_tune(fd, notsent_lowat) == -1))
		goto fail;
	return fd;

fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/*
 * Bind la for the master and store the socket in la_fd: a listening
 * socket the workers share, or with reuseport only a claim on the address
 * (bound, not listening, so the kernel hands it no connection) that lets
 * each worker open its own socket there (listen_reuseport()). Return 0,
 * or -1 with errno set and la_fd left at -1.
 */
int
listen_bind(struct listen_addr *la, int reuseport, long long notsent_lowat)
{
	int fd;

	if ((fd = listen_socket(la, reuseport, !reuseport, notsent_lowat)) ==
	    -1)
		return -1;
	la->la_fd = fd;
	return 0;
}

/*
 * Open a worker's own listening socket on la, in the SO_REUSEPORT group
 * that listen_bind() started: the kernel spreads new connections over the
 * group's sockets by their addresses. The socket, or -1 with errno set.
 */
int
listen_reuseport(const struct listen_addr *la, long long notsent_lowat)
{
	return listen_socket(la, 1, 1, notsent_lowat);
}

/*
 * Set the TCP options that accepted connections inherit from the
 * listening socket fd, so that a connection costs no setsockopt(2):
 *
 * - TCP_NODELAY: a response is written as soon as it is built, head and
 *   body in one send where they fit (MSG_MORE where more follows); Nagle
 *   would only hold the last segment back for the client's delayed ACK.
 * - TCP_QUICKACK off: delayed ACKs from the start (a new connection would
 *   quick-ACK its first segments), so that a request is acknowledged by
 *   its response rather than by a segment of its own.
 * - TCP_NOTSENT_LOWAT: a connection keeps at most notsent_lowat bytes of
 *   unsent data in the kernel (0: the net.ipv4.tcp_notsent_lowat sysctl),
 *   and is writable again below it. The rest of a large file waits in
 *   the file, not in socket memory, and is pushed by the worker when the
 *   client makes room, instead of by the softirq that carries the
 *   client's ACK.
 *
 * Return 0, or -1 with errno set.
 */
int
listen_tune(int fd, long long notsent_lowat)
{
	int on = 1, off = 0, lowat = (int)notsent_lowat;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &off, sizeof(off)) ==
		-1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat,
		sizeof(lowat)) == -1)
		return -1;
	return 0;
}

/* Close the listening socket of la if it is open. */
void
listen_close(struct listen_addr *la)
{
	if (la->la_fd != -1) {
		close(la->la_fd);
		la->la_fd = -1;
	}
}
