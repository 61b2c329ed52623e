/*
 * Chat over WebSocket: the endpoint [chat] path (/chat joins
 * default_room, /chat/ROOM joins ROOM), its query (nick=NAME, since=SEQ),
 * and the messages of a chat connection. A user authenticated by [http]
 * auth (authcheck.c) is named by the user name, which /nick cannot
 * change; ?nick= and a client certificate's name are then ignored. ws.c runs
 * the protocol (frames, UTF-8, pings, closes) and hands each whole data frame
 * here; chat.c runs the chat.
 *
 * A message is one text message, gathered up to max_message_size; a
 * longer one is discarded as it arrives and answered with too_long. A
 * binary message closes the connection (1003).
 */

#include <stdlib.h>
#include <string.h>

#include "pfhttpd.h"

/* A chat connection's state, from the switch to ws_chat_kind on. */
struct wschat {
	struct chat_client wc_cc; /* the chat's side */
	char *wc_msg;		  /* the message so far: max bytes */
	size_t wc_len;		  /* bytes in it */
	size_t wc_max;		  /* max_message_size when it started */
	int wc_too_long;	  /* it outgrew wc_msg: discarding */
};

/*
 * Find key's value in the query q[0..len): its start and length. 1 if the
 * key is there (the first time), else 0.
 */
static int
wschat_param(
    const char *q, size_t len, const char *key, const char **val, size_t *vlen)
{
	size_t klen = strlen(key), i = 0, end;

	while (i < len) {
		end = i;
		while (end < len && q[end] != '&')
			end++;
		if (end - i > klen && memcmp(q + i, key, klen) == 0 &&
		    q[i + klen] == '=') {
			*val = q + i + klen + 1;
			*vlen = end - i - klen - 1;
			return 1;
		}
		i = end + 1;
	}
	return 0;
}

/* Parse since=SEQ: 0, or -1 if it is not a decimal number. */
static int
wschat_since(const char *v, size_t n, struct chat_since *since)
{
	uint64_t seq = 0;
	size_t i;

	if (n == 0 || n > 19)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		seq = seq * 10 + (uint64_t)(v[i] - '0');
	}
	since->cs_set = 1;
	since->cs_seq = seq;
	return 0;
}

/*
 * Read the room from the path after the endpoint (rest: "" or "/ROOM")
 * and the query: 0, or the status to answer (400: not a room name, or a
 * since that is not a number).
 */
static int
wschat_parse(const struct config *cf, const char *rest,
    const struct http_request *req, struct wschat_query *wq)
{
	const char *v;
	size_t n;

	memset(wq, 0, sizeof(*wq));
	if (*rest == '\0' || strcmp(rest, "/") == 0)
		rest = cf->cf_chat_default_room;
	else
		rest++;
	if (!chatev_name_valid(rest, strlen(rest)))
		return 400;
	memcpy(wq->wq_room, rest, strlen(rest) + 1);
	if (req->hr_query == NULL)
		return 0;
	if (wschat_param(req->hr_query, req->hr_query_len, "since", &v, &n) &&
	    wschat_since(v, n, &wq->wq_since) == -1)
		return 400;
	if (wschat_param(req->hr_query, req->hr_query_len, "nick", &v, &n)) {
		if (chatev_name_valid(v, n)) {
			memcpy(wq->wq_nick, v, n);
			wq->wq_nick[n] = '\0';
		} else
			wq->wq_bad_nick = 1;
	}
	return 0;
}

/* Tell whether path (normalised) is the chat endpoint's or a room's. */
int
wschat_is_endpoint(const struct config *cf, const char *path)
{
	size_t n;

	if (cf->cf_chat_path == NULL)
		return 0;
	n = strlen(cf->cf_chat_path);
	return strncmp(path, cf->cf_chat_path, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/');
}

/*
 * Route a request whose normalised path is path: if it is the chat
 * endpoint's, answer it (the handshake, or why not) and return 1. The
 * room it asks for is checked against [http] auth (chatauth.c).
 */
int
wschat_route(struct conn *c, const struct http_request *req, const char *path)
{
	const struct config *cf = c->c_worker->w_cf;
	struct wschat_query *wq = &c->c_chatq;
	int status;

	if (!wschat_is_endpoint(cf, path))
		return 0;
	if ((status = wschat_parse(
		 cf, path + strlen(cf->cf_chat_path), req, wq)) != 0)
		http_response_error(c, status, NULL);
	else if (chatauth_handshake(c, req, wq->wq_room, &wq->wq_auth_rule))
		return 1;
	else if (c->c_user[0] != '\0' &&
	    !chatev_name_valid(c->c_user, strlen(c->c_user)))
		http_response_error_why(c, 403, NULL,
		    "Your user name is not a chat nick (1 to 32 letters, "
		    "digits, '_' or '-'), which the chat would name you by.");
	else
		ws_handshake_kind(c, req, &ws_chat_kind);
	return 1;
}

/* Close a chat connection: a close frame with code and reason. */
static void
wschat_close(struct conn *c, int code, const char *reason)
{
	ws_close(c, code, reason);
}

/*
 * The switch to ws_chat_kind: join the room the handshake named. NULL if
 * the hub cannot take it now (the caller closes with 1013).
 */
struct wschat *
wschat_start(struct conn *c)
{
	const struct config *cf = c->c_worker->w_cf;
	const struct wschat_query *wq = &c->c_chatq;
	char cn[CHAT_NAME_MAX + 1];
	const char *nick;
	struct wschat *wc;
	int reserved;

	nick = wq->wq_nick[0] != '\0' ? wq->wq_nick : NULL;
	if (nick == NULL && !wq->wq_bad_nick)
		nick = chat_tls_nick(c, cn, sizeof(cn));
	reserved = nick != NULL && chatauth_reserved(cf, nick);
	if (reserved)
		nick = NULL; /* a user's name: a guest name instead */
	if (c->c_user[0] != '\0')
		nick = c->c_user; /* wschat_route() checked it */
	if ((wc = calloc(1, sizeof(*wc))) == NULL ||
	    (wc->wc_msg = malloc((size_t)cf->cf_chat_max_message)) == NULL) {
		free(wc);
		return NULL;
	}
	wc->wc_max = (size_t)cf->cf_chat_max_message;
	if (chat_client_start(&wc->wc_cc, c, 0, wq->wq_room, nick,
		&wq->wq_since, wschat_close) == -1) {
		free(wc->wc_msg);
		free(wc);
		return NULL;
	}
	wc->wc_cc.cc_bad_nick = wq->wq_bad_nick && c->c_user[0] == '\0';
	wc->wc_cc.cc_nick_reserved = reserved && c->c_user[0] == '\0';
	wc->wc_cc.cc_nick_fixed = c->c_user[0] != '\0';
	wc->wc_cc.cc_auth_rule = wq->wq_auth_rule;
	return wc;
}

/*
 * A whole data frame of a chat connection: text tells the message's type,
 * fin whether the frame ends it.
 */
void
wschat_frame(struct wschat *wc, struct conn *c, int text, const void *p,
    size_t len, int fin)
{
	if (!text) {
		ws_close(c, WS_CLOSE_UNSUPPORTED,
		    "binary messages are not chat messages");
		return;
	}
	if (!wc->wc_too_long && len <= wc->wc_max - wc->wc_len) {
		memcpy(wc->wc_msg + wc->wc_len, p, len);
		wc->wc_len += len;
	} else
		wc->wc_too_long = 1;
	if (!fin)
		return;
	if (wc->wc_too_long)
		/* One past the bound makes chat.c say too_long. */
		chat_client_input(&wc->wc_cc, wc->wc_msg, wc->wc_max + 1);
	else
		chat_client_input(&wc->wc_cc, wc->wc_msg, wc->wc_len);
	wc->wc_len = 0;
	wc->wc_too_long = 0;
}

/* Tell whether the client's messages may be taken (it has joined). */
int
wschat_ready(const struct wschat *wc)
{
	return chat_client_ready(&wc->wc_cc);
}

/* A close frame is queued: the chat sends nothing more. */
void
wschat_closed(struct wschat *wc)
{
	wc->wc_cc.cc_closing = 1;
}

/* The connection ends: the client leaves the chat. */
void
wschat_free(struct wschat *wc)
{
	chat_client_end(&wc->wc_cc);
	free(wc->wc_msg);
	free(wc);
}
