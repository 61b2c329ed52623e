/*
 * Who may be in which chat room. The rooms are the server's, shared by
 * every virtual host and by the telnet listener, so [http]'s auth rules
 * alone protect them: room R is protected by the rule that matches the
 * path "<[chat] path>/R", whichever path, host or listener a client came
 * by. A WebSocket client authenticates in its handshake, against the
 * rule of the room it asks for, and may /join another room only if the
 * same rule (or none) protects it; a telnet client, which cannot send a
 * password, only unprotected rooms. The user names of [http]'s htpasswd
 * files are reserved: no one else may take them as a nick.
 */

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "pfhttpd.h"

/* Write room's path, "<[chat] path>/room", into buf (len bytes). */
static void
chatauth_room_path(
    const struct config *cf, const char *room, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", cf->cf_chat_path, room);
}

/*
 * Return the index of the [http] rule that protects room, or -1. With no
 * [chat] path, rooms have no path for a rule to name: none protects them.
 */
static int
chatauth_rule(const struct config *cf, const char *room)
{
	char path[PATH_MAX];
	const struct auth_rule *ar;

	if (cf->cf_chat_path == NULL)
		return -1;
	chatauth_room_path(cf, room, path, sizeof(path));
	ar = auth_match(&cf->cf_auth, path, strlen(path));
	return ar == NULL ? -1 : (int)(ar - cf->cf_auth.au_rules);
}

/*
 * Check the handshake req of c for room against [http] auth. 0 if it may
 * go on, *rule the index of the rule it passed (-1: none protects room);
 * 1 if a 401 or 403 is queued instead.
 */
int
chatauth_handshake(
    struct conn *c, const struct http_request *req, const char *room, int *rule)
{
	const struct config *cf = c->c_worker->w_cf;
	char path[PATH_MAX];

	chatauth_room_path(cf, room, path, sizeof(path));
	if (authcheck_path(c, req, &cf->cf_auth, path))
		return 1;
	*rule = chatauth_rule(cf, room);
	return 0;
}

/*
 * Tell whether a client that passed rule (-1: none) may join room: no
 * rule protects it, or the same one does.
 */
int
chatauth_may_join(const struct config *cf, int rule, const char *room)
{
	int r = chatauth_rule(cf, room);

	return r == -1 || r == rule;
}

/* Tell whether nick is a user of one of [http]'s htpasswd files. */
int
chatauth_reserved(const struct config *cf, const char *nick)
{
	const struct auth_rule *ar;
	int i;

	for (i = 0; i < cf->cf_auth.au_n; i++) {
		ar = &cf->cf_auth.au_rules[i];
		if (!ar->ar_off &&
		    htpasswd_find(&ar->ar_users, nick, strlen(nick)) != NULL)
			return 1;
	}
	return 0;
}
