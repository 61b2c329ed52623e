/*
 * What a reload changes, before any process does: read the configuration
 * file again (the TLS certificates too), keep the running value of every
 * key a reload cannot change (and say so), hand the session-ticket keys
 * on, and carry the listening sockets over. A socket whose
 * address stays is handed to the next generation as it is, never closed,
 * so no connection waiting in its backlog is lost; a new address is bound
 * now, while the master still may; the master's copy of a removed one is
 * closed at once, and the socket closes when the old workers, which hold
 * their own copies and accept on them until they drain, let go of it.
 * [stats] listen is carried over the same way: a socket whose address
 * stays goes on; a new address is bound now, and the master tells the
 * metrics process to hand over to a successor that takes it (an error
 * binding it fails the reload); the old socket closes with the old
 * metrics process.
 *
 * Either the whole reload is prepared, or nothing changes: the running
 * configuration keeps serving and the error says why.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pfhttpd.h"

/*
 * Tell whether two listeners are the same: the same socket address for the
 * same protocol. A port moving between [server] and [chat] listen is a new
 * listener, bound anew.
 */
static int
reload_same_listener(const struct listen_addr *a, const struct listen_addr *b)
{
	return a->la_chat == b->la_chat && a->la_sslen == b->la_sslen &&
	    memcmp(&a->la_ss, &b->la_ss, a->la_sslen) == 0;
}

/* Return the running listener that next is, or NULL. */
static struct listen_addr *
reload_find_listener(struct config *running, const struct listen_addr *next)
{
	int i;

	for (i = 0; i < running->cf_nlisten; i++)
		if (running->cf_listen[i].la_fd != -1 &&
		    reload_same_listener(&running->cf_listen[i], next))
			return &running->cf_listen[i];
	return NULL;
}

/* Tell whether two optional strings are equal. */
static int
reload_same_string(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Tell whether next's [stats] listen is running's, whose socket is open. */
static int
reload_same_stats(const struct config *running, const struct config *next)
{
	const struct listen_addr *a = &running->cf_stats_listen;
	const struct listen_addr *b = &next->cf_stats_listen;

	return a->la_fd != -1 && a->la_sslen == b->la_sslen &&
	    memcmp(&a->la_ss, &b->la_ss, a->la_sslen) == 0;
}

/* Close the sockets of next that reload_bind_new() opened. */
static void
reload_close_new(struct config *running, struct config *next)
{
	int i;

	for (i = 0; i < next->cf_nlisten; i++)
		if (reload_find_listener(running, &next->cf_listen[i]) == NULL)
			listen_close(&next->cf_listen[i]);
	if (!reload_same_stats(running, next))
		listen_close(&next->cf_stats_listen);
}

/*
 * Bind next's [stats] listen if it is set and not running's. On failure
 * write the reason to err and return -1.
 */
static int
reload_bind_stats(
    struct config *running, struct config *next, char *err, size_t errlen)
{
	struct listen_addr *la = &next->cf_stats_listen;

	if (la->la_sslen == 0 || reload_same_stats(running, next) ||
	    listen_bind(la, 0, 0) == 0)
		return 0;
	snprintf(err, errlen, "%s:%d: [stats] listen: cannot listen on %s: %s",
	    next->cf_file, la->la_line, la->la_name, strerror(errno));
	return -1;
}

/* Hand running's [stats] listen socket to next if the address stayed. */
static void
reload_move_stats(struct config *running, struct config *next)
{
	struct listen_addr *old = &running->cf_stats_listen;

	if (reload_same_stats(running, next)) {
		next->cf_stats_listen.la_fd = old->la_fd;
		old->la_fd = -1;
	} else if (old->la_fd != -1) {
		log_info("%s: no longer serving metrics on %s", next->cf_file,
		    old->la_name);
		listen_close(old);
	}
}

/*
 * Bind every address of next that running does not listen on. On failure
 * close what was bound, write the reason to err and return -1.
 */
static int
reload_bind_new(
    struct config *running, struct config *next, char *err, size_t errlen)
{
	int i;

	for (i = 0; i < next->cf_nlisten; i++) {
		if (reload_find_listener(running, &next->cf_listen[i]) != NULL)
			continue;
		if (listen_bind(&next->cf_listen[i], next->cf_reuseport,
			next->cf_notsent_lowat) == 0)
			continue;
		snprintf(err, errlen, "%s:%d: cannot listen on %s: %s",
		    next->cf_file, next->cf_listen[i].la_line,
		    next->cf_listen[i].la_name, strerror(errno));
		reload_close_new(running, next);
		return -1;
	}
	return 0;
}

/*
 * Keep the worker count within what the shared segment, sized at start,
 * can hold for two generations at once.
 */
static void
reload_cap_workers(
    const struct config *running, struct config *next, uint32_t nslots)
{
	long long max = nslots / 2;

	if (next->cf_workers <= max)
		return;
	log_warnx("%s: [server] workers = %lld needs a restart: the shared "
		  "segment holds %lld per generation; keeping %lld",
	    next->cf_file, next->cf_workers, max, running->cf_workers);
	next->cf_workers = running->cf_workers;
}

/*
 * Prepare a reload: read running's file again into a new configuration
 * whose listeners are open. The sockets that carry over are taken from
 * running (their la_fd there becomes -1), the ones next no longer has are
 * closed. Return next, or NULL with "FILE:LINE: message" in err and
 * running untouched.
 */
struct config *
reload_prepare(struct config *running, uint32_t nslots, int *logger_changed,
    char *err, size_t errlen)
{
	struct listen_addr *old;
	struct config *next;
	char keys[CONFIG_ERR_LEN];
	int i, n;

	if ((next = config_load(running->cf_file, err, errlen)) == NULL)
		return NULL;
	tls_context_keep_tickets(next->cf_tls_ctx, running->cf_tls_ctx);
	if ((n = config_restart_keys(next, running, keys, sizeof(keys))) ==
	    -1) {
		snprintf(err, errlen, "%s: %s", next->cf_file, strerror(errno));
		config_free(next);
		return NULL;
	}
	if (n > 0)
		log_warnx("%s: %s changed, but only a restart applies %s; the "
			  "running value stays",
		    next->cf_file, keys, n == 1 ? "it" : "them");
	reload_cap_workers(running, next, nslots);
	if (reload_bind_new(running, next, err, errlen) == -1) {
		config_free(next);
		return NULL;
	}
	if (reload_bind_stats(running, next, err, errlen) == -1) {
		reload_close_new(running, next);
		config_free(next);
		return NULL;
	}
	/* The logger may run as the user: give it a file it can open. */
	if (priv_prepare_file(next, next->cf_access_log) == -1) {
		snprintf(err, errlen, "%s: access log %s: %s", next->cf_file,
		    next->cf_access_log, strerror(errno));
		reload_close_new(running, next);
		config_free(next);
		return NULL;
	}

	/* From here on nothing fails: move the sockets over, with the new
	 * notsent_lowat for the connections they take from now on. */
	for (i = 0; i < next->cf_nlisten; i++) {
		if ((old = reload_find_listener(
			 running, &next->cf_listen[i])) == NULL)
			continue;
		next->cf_listen[i].la_fd = old->la_fd;
		old->la_fd = -1;
		if (!next->cf_reuseport &&
		    listen_tune(
			next->cf_listen[i].la_fd, next->cf_notsent_lowat) == -1)
			log_warn("%s: TCP options", next->cf_listen[i].la_name);
	}
	for (i = 0; i < running->cf_nlisten; i++) {
		if (running->cf_listen[i].la_fd == -1)
			continue;
		log_info("%s: no longer listening on %s once the old workers "
			 "drain",
		    next->cf_file, running->cf_listen[i].la_name);
		listen_close(&running->cf_listen[i]);
	}
	reload_move_stats(running, next);
	*logger_changed =
	    !reload_same_string(running->cf_access_log, next->cf_access_log) ||
	    running->cf_log_format != next->cf_log_format;
	return next;
}
