/*
 * The WebSocket echo endpoint (RFC 6455) on a connection: the opening
 * handshake's answer, then frames read, checked and echoed one by one.
 *
 * Each data frame is echoed as one frame of the same length, type and FIN
 * bit once all of it has arrived (a fragmented message is echoed fragment
 * by fragment). Memory per connection is bounded by the frame being
 * handled (at most max_message_size), WS_READ_MAX of input and about
 * WS_OUT_HIGH of output. Frames up to WS_SMALL bytes, control frames
 * among them, are gathered in a buffer of the connection and copied to the
 * output, so that tiny frames cannot pin a memory chunk each there; larger
 * ones are gathered in an evbuffer and copied to the output. Text is
 * validated as its bytes arrive, so an invalid byte fails the connection at
 * once (1007), and a frame is never sent before it is known to be valid.
 *
 * With permessage-deflate agreed (RFC 7692; wsext.c negotiates, wsdeflate.c
 * compresses) a message is handled whole instead: its frames are gathered,
 * inflated as they arrive if the first had RSV1 (the inflated size bounded
 * by max_message_size as it grows, the text validated as it comes out),
 * and the echo is one frame, compressed when it is at least
 * compression_min_size. A chat connection's compressed messages are
 * inflated on their way to wschat.c the same way.
 *
 * Back-pressure: when the output buffer passes WS_OUT_HIGH the connection
 * stops reading until it drains to WS_OUT_LOW. Nothing is sent after a
 * close frame; once it is out, the server closes TCP (lingering while the
 * client may still send, so that its close frame does not turn into a
 * reset).
 *
 * The connection's timer is the idle timer: after idle_timeout without
 * input the server sends a ping; after as long again it closes with 1001.
 */

#include <sys/uio.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "pfhttpd.h"
#include "shm.h"

#define WS_OUT_HIGH (1024 * 1024) /* stop reading above this much output */
#define WS_OUT_LOW  (64 * 1024)	  /* and read again at or below this */
#define WS_SMALL    4096	  /* frames gathered in ws_small */
#define WS_READ_MAX (256 * 1024)  /* input buffered before it is handled */
#define WS_CHUNK    16384	  /* gathered payload unmasked at once */

/* A connection after the upgrade: where its input stands. */
struct ws {
	struct ws_frame ws_frame;      /* header of the frame being read */
	int ws_in_frame;	       /* its header is read, payload not all */
	uint64_t ws_frame_got;	       /* its payload bytes read so far */
	struct evbuffer *ws_payload;   /* payload of a frame over WS_SMALL,
					* or a gathered echo message */
	uint8_t ws_small[WS_SMALL];    /* payload of a smaller frame */
	int ws_msg_open;	       /* a fragmented message goes on */
	int ws_msg_text;	       /* it is text: validate UTF-8 */
	uint64_t ws_msg_len;	       /* its payload bytes so far */
	uint32_t ws_utf8;	       /* its UTF-8 validation state */
	int ws_close_sent;	       /* nothing more may be sent */
	int ws_close_code;	       /* code sent, for the counters */
	int ws_peer_closed;	       /* the client sent its close frame */
	int ws_pinged;		       /* idle ping sent, no frame since */
	long long ws_idle_ms;	       /* ping after this silence; 0: off */
	struct timespec ws_last_input; /* when input last arrived */
	struct wschat *ws_chat;	       /* a chat client's state, or NULL */
	struct wsdeflate_params ws_pmd; /* permessage-deflate, if dp_on */
	int ws_gather;			/* this message is handled whole */
	int ws_msg_deflated;		/* this message is compressed */
	struct wsinflate *ws_inflate;	/* from the first compressed message */
	struct wsdeflate *ws_deflate;	/* own compressor: context takeover */
};

static int ws_written(struct conn *c);
static void ws_chat_frame(struct conn *c);
static int ws_gather_payload(struct conn *c, size_t n);
static void ws_gathered_frame(struct conn *c);

/* Return the worker counters of the connection. */
static struct shm_counters *
ws_counters(struct conn *c)
{
	return &c->c_worker->w_slot->ss_c;
}

/* Queue one unmasked frame: header and payload[0..len), or payload buf. */
static void
ws_send(struct conn *c, int fin, int opcode, const void *payload, size_t len,
    struct evbuffer *buf)
{
	unsigned char hdr[WS_HEADER_MAX];
	size_t hlen;
	char *p;

	if (buf != NULL)
		len = evbuffer_get_length(buf);
	hlen = wsproto_build_header(hdr, fin, opcode, len);
	if ((p = conn_out_reserve(c, hlen + len)) == NULL) {
		/* Out of memory: send nothing more, close once the output
		 * is out (ws_written()), without a close frame (1006). */
		log_warnx("%s: out of memory for a websocket frame", c->c_peer);
		if (buf != NULL)
			evbuffer_drain(buf, len);
		c->c_ws->ws_close_sent = 1;
		c->c_ws->ws_close_code = 0;
		return;
	}
	memcpy(p, hdr, hlen);
	if (buf != NULL)
		evbuffer_remove(buf, p + hlen, len);
	else if (len > 0)
		memcpy(p + hlen, payload, len);
	conn_out_commit(c, hlen + len);
	shm_count(&ws_counters(c)->sc_bytes_out, hlen + len);
}

/*
 * Send a close frame with code and a short reason, and send nothing after
 * it. The connection closes once it is written (see ws_written()).
 */
void
ws_close(struct conn *c, int code, const char *reason)
{
	struct ws *ws = c->c_ws;
	uint8_t body[WS_CONTROL_MAX];
	size_t n;

	if (ws->ws_close_sent)
		return;
	body[0] = (uint8_t)(code >> 8);
	body[1] = (uint8_t)code;
	n = strlen(reason);
	if (n > sizeof(body) - 2)
		n = sizeof(body) - 2;
	memcpy(body + 2, reason, n);
	ws_send(c, 1, WS_OP_CLOSE, body, n + 2, NULL);
	ws->ws_close_sent = 1;
	if (ws->ws_chat != NULL)
		wschat_closed(ws->ws_chat); /* nothing may follow the close */
	ws->ws_close_code = code;
	log_debug("%s: websocket close %d %s", c->c_peer, code, reason);
	/* Frames read from now on are discarded (ws_readable()); once the
	 * output is empty, ws_written() closes. */
	conn_timer_stop(c);
}

/* Pause reading while the output is over the high-water mark. */
static void
ws_throttle(struct conn *c)
{
	if (!c->c_paused && conn_out_pending(c) > WS_OUT_HIGH) {
		c->c_paused = 1;
		conn_read_update(c);
	}
}

/* Handle a whole control frame (payload unmasked in ws_small). */
static void
ws_control(struct conn *c)
{
	struct ws *ws = c->c_ws;
	size_t len = (size_t)ws->ws_frame.wf_len;
	uint32_t utf8 = UTF8_ACCEPT;
	unsigned code;

	switch (ws->ws_frame.wf_opcode) {
	case WS_OP_PING:
		ws_send(c, 1, WS_OP_PONG, ws->ws_small, len, NULL);
		break;
	case WS_OP_PONG:
		break; /* an answer to our ping, or unsolicited: ignored */
	case WS_OP_CLOSE:
		ws->ws_peer_closed = 1;
		if (len == 0) {
			ws_close(c, WS_CLOSE_NORMAL, "");
			break;
		}
		if (len == 1) {
			ws_close(c, WS_CLOSE_PROTOCOL, "invalid close frame");
			break;
		}
		code = (unsigned)ws->ws_small[0] << 8 | ws->ws_small[1];
		if (!wsproto_close_code_valid(code))
			ws_close(c, WS_CLOSE_PROTOCOL, "invalid close frame");
		else if (utf8_validate(&utf8, ws->ws_small + 2, len - 2) !=
			len - 2 ||
		    !utf8_complete(utf8))
			ws_close(c, WS_CLOSE_INVALID_DATA,
			    "close reason is not UTF-8");
		else
			ws_close(c, (int)code, "");
		break;
	}
}

/*
 * Move n payload bytes of the current frame from the input to ws_small or
 * ws_payload, unmasked, and validate them if they are text. Return 0, or
 * the close code to fail with: 1007 at the first invalid UTF-8 byte, 1011
 * if memory ran out. A gathered message's bytes go to ws_gather_payload(),
 * which closes by itself on failure.
 */
static int
ws_take_payload(struct conn *c, size_t n)
{
	struct ws *ws = c->c_ws;
	const struct ws_frame *fh = &ws->ws_frame;
	struct evbuffer_iovec v;
	unsigned char *p;

	if (ws->ws_gather && fh->wf_opcode < WS_OP_CLOSE)
		return ws_gather_payload(c, n);
	if (fh->wf_len <= WS_SMALL)
		p = ws->ws_small + ws->ws_frame_got;
	else if (evbuffer_reserve_space(ws->ws_payload, (ev_ssize_t)n, &v, 1) <
	    1)
		return WS_CLOSE_INTERNAL;
	else
		p = v.iov_base;
	memcpy(p, buf_data(&c->c_in), n);
	buf_drain(&c->c_in, n);
	wsproto_unmask(p, p, n, fh->wf_mask, ws->ws_frame_got);
	if (fh->wf_opcode < WS_OP_CLOSE && ws->ws_msg_text &&
	    utf8_validate(&ws->ws_utf8, p, n) != n)
		return WS_CLOSE_INVALID_DATA;
	if (fh->wf_len > WS_SMALL) {
		v.iov_len = n;
		evbuffer_commit_space(ws->ws_payload, &v, 1);
	}
	return 0;
}

/* A data frame arrived whole: echo it, and count the message if it ends. */
static void
ws_echo(struct conn *c)
{
	struct ws *ws = c->c_ws;
	struct shm_counters *sc = ws_counters(c);
	const struct ws_frame *fh = &ws->ws_frame;
	uint64_t len = fh->wf_len;

	if (fh->wf_fin && ws->ws_msg_text && !utf8_complete(ws->ws_utf8)) {
		ws_close(c, WS_CLOSE_INVALID_DATA, "text is not UTF-8");
		return;
	}
	if (len <= WS_SMALL)
		ws_send(c, fh->wf_fin, fh->wf_opcode, ws->ws_small, (size_t)len,
		    NULL);
	else
		ws_send(c, fh->wf_fin, fh->wf_opcode, NULL, 0, ws->ws_payload);
	shm_count(&sc->sc_ws_bytes_in, len);
	shm_count(&sc->sc_ws_bytes_out, len);
	if (fh->wf_fin) {
		ws->ws_msg_open = 0;
		shm_count(&sc->sc_ws_messages_in, 1);
		shm_count(&sc->sc_ws_messages_out, 1);
	}
}

/*
 * A data message begins: decide whether it is handled whole (compressed,
 * or on a compressed echo connection) and ready its decompressor. 0, or
 * -1 when the connection failed.
 */
static int
ws_message_start(struct conn *c)
{
	struct ws *ws = c->c_ws;
	const struct wsdeflate_params *dp = &ws->ws_pmd;

	ws->ws_msg_deflated = (ws->ws_frame.wf_rsv & WS_RSV1) != 0;
	ws->ws_gather = ws->ws_msg_deflated || (dp->dp_on && !ws->ws_chat);
	if (ws->ws_msg_deflated && ws->ws_inflate == NULL &&
	    (ws->ws_inflate = wsinflate_new(
		 dp->dp_client_bits, dp->dp_client_no_ctx)) == NULL) {
		ws_close(c, WS_CLOSE_INTERNAL, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * Return the most bytes a compressed message may inflate to:
 * max_message_size, and for chat the chat's own max_message_size. A chat
 * message must be inflated whole to keep the client's context, so one
 * that inflates past the chat's bound closes (1009) instead of being
 * answered too_long: otherwise a few KiB could cost a worker the inflating
 * of max_message_size.
 */
static uint64_t
ws_inflated_max(const struct conn *c)
{
	const struct config *cf = c->c_worker->w_cf;

	if (c->c_ws->ws_chat != NULL &&
	    cf->cf_chat_max_message < cf->cf_ws_max_message)
		return (uint64_t)cf->cf_chat_max_message;
	return (uint64_t)cf->cf_ws_max_message;
}

/* Close for a failure of a gathered message (a close code); return it. */
static int
ws_gather_fail(struct conn *c, int code)
{
	switch (code) {
	case WS_CLOSE_TOO_BIG:
		ws_close(c, code, "message too big");
		break;
	case WS_CLOSE_INVALID_DATA:
		ws_close(c, code, "invalid compressed data");
		break;
	default:
		ws_close(c, code, "out of memory");
	}
	return code;
}

/*
 * Take n bytes of a gathered message, as they are or inflated: validate
 * text, count them, and keep them (echo) or hand them on (chat). 0, or a
 * close code after closing.
 */
static int
ws_message_sink(void *arg, const unsigned char *p, size_t n)
{
	struct conn *c = arg;
	struct ws *ws = c->c_ws;

	if (ws->ws_msg_text && utf8_validate(&ws->ws_utf8, p, n) != n) {
		ws_close(c, WS_CLOSE_INVALID_DATA, "text is not UTF-8");
		return WS_CLOSE_INVALID_DATA;
	}
	shm_count(&ws_counters(c)->sc_ws_bytes_in, n);
	if (ws->ws_chat != NULL) {
		wschat_frame(ws->ws_chat, c, ws->ws_msg_text, p, n, 0);
		return ws->ws_close_sent ? WSINFLATE_STOPPED : 0;
	}
	if (evbuffer_add(ws->ws_payload, p, n) == -1)
		return ws_gather_fail(c, WS_CLOSE_INTERNAL);
	return 0;
}

/*
 * Move n payload bytes of a gathered message's frame from the input,
 * unmasked and inflated if the message is compressed, to the sink. 0, or
 * a close code after closing.
 */
static int
ws_gather_payload(struct conn *c, size_t n)
{
	static unsigned char chunk[WS_CHUNK];
	struct ws *ws = c->c_ws;
	uint64_t max = ws_inflated_max(c);
	uint64_t off = ws->ws_frame_got;
	size_t k;
	int code;

	for (; n > 0; n -= k, off += k) {
		k = n < sizeof(chunk) ? n : sizeof(chunk);
		memcpy(chunk, buf_data(&c->c_in), k);
		buf_drain(&c->c_in, k);
		wsproto_unmask(chunk, chunk, k, ws->ws_frame.wf_mask, off);
		if (!ws->ws_msg_deflated)
			code = ws_message_sink(c, chunk, k);
		else if ((code = wsinflate_data(ws->ws_inflate, chunk, k, max,
			      ws_message_sink, c)) != 0 &&
		    !ws->ws_close_sent)
			ws_gather_fail(c, code);
		if (code != 0)
			return code;
	}
	return 0;
}

/* Return the compressor for the connection's next message, or NULL. */
static struct wsdeflate *
ws_compressor(struct conn *c)
{
	const struct config *cf = c->c_worker->w_cf;
	struct ws *ws = c->c_ws;
	int bits = ws->ws_pmd.dp_server_bits;
	int level = (int)cf->cf_ws_compression_level;

	if (ws->ws_pmd.dp_server_no_ctx)
		return wsdeflate_shared(bits, level);
	if (ws->ws_deflate == NULL)
		ws->ws_deflate = wsdeflate_new(bits, level, 0);
	return ws->ws_deflate;
}

/*
 * Queue msg as one compressed frame (RSV1) of opcode. 0; 1 if it did not
 * shrink and, the compressor keeping no context, may go as it is instead;
 * -1 when out of memory or the compressor failed (the caller closes).
 */
static int
ws_send_deflated(struct conn *c, int opcode, struct evbuffer *msg)
{
	struct wsdeflate *wd = ws_compressor(c);
	struct ws *ws = c->c_ws;
	unsigned char hdr[WS_HEADER_MAX];
	struct iovec iov;
	size_t bound, hlen;
	ssize_t n;
	char *p;

	iov.iov_len = evbuffer_get_length(msg);
	bound = wsdeflate_bound(iov.iov_len);
	/* evbuffer_pullup() has no pointer for an empty buffer. */
	iov.iov_base = iov.iov_len > 0 ? evbuffer_pullup(msg, -1) : NULL;
	if (wd == NULL || (iov.iov_len > 0 && iov.iov_base == NULL) ||
	    (p = conn_out_reserve(c, WS_HEADER_MAX + bound)) == NULL)
		return -1;
	if ((n = wsdeflate_message(wd, &iov, 1, p + WS_HEADER_MAX, bound)) ==
	    -1)
		return -1;
	if ((size_t)n >= iov.iov_len && ws->ws_pmd.dp_server_no_ctx)
		return 1;
	hlen = wsproto_build_header(hdr, 1, opcode, (uint64_t)n);
	hdr[0] |= WS_HDR_RSV1;
	memmove(p + hlen, p + WS_HEADER_MAX, (size_t)n);
	memcpy(p, hdr, hlen);
	conn_out_commit(c, hlen + (size_t)n);
	shm_count(&ws_counters(c)->sc_bytes_out, hlen + (size_t)n);
	evbuffer_drain(msg, iov.iov_len);
	return 0;
}

/*
 * Echo the gathered message as one frame: compressed when the server may
 * compress and it is at least compression_min_size (and shrinks, unless
 * the context is kept: then it must go compressed), else as it is.
 */
static void
ws_echo_message(struct conn *c)
{
	const struct config *cf = c->c_worker->w_cf;
	struct ws *ws = c->c_ws;
	struct shm_counters *sc = ws_counters(c);
	size_t len = evbuffer_get_length(ws->ws_payload);
	int opcode = ws->ws_msg_text ? WS_OP_TEXT : WS_OP_BINARY, rv = 1;

	if (ws->ws_pmd.dp_server_bits != 0 &&
	    len >= (size_t)cf->cf_ws_compression_min_size)
		rv = ws_send_deflated(c, opcode, ws->ws_payload);
	if (rv == -1) {
		ws_close(c, WS_CLOSE_INTERNAL, "compression failed");
		return;
	}
	if (rv == 1) /* not compressed */
		ws_send(c, 1, opcode, NULL, 0, ws->ws_payload);
	shm_count(&sc->sc_ws_bytes_out, len);
	shm_count(&sc->sc_ws_messages_out, 1);
}

/*
 * A frame of a gathered message arrived whole: at the message's end,
 * inflate what is left, check the text is complete, and echo it or hand
 * its end to the chat.
 */
static void
ws_gathered_frame(struct conn *c)
{
	struct ws *ws = c->c_ws;
	uint64_t max = ws_inflated_max(c);
	int code;

	if (!ws->ws_frame.wf_fin)
		return;
	if (ws->ws_msg_deflated &&
	    (code = wsinflate_end(ws->ws_inflate, max, ws_message_sink, c)) !=
		0) {
		if (!ws->ws_close_sent)
			ws_gather_fail(c, code);
		return;
	}
	if (ws->ws_msg_text && !utf8_complete(ws->ws_utf8)) {
		ws_close(c, WS_CLOSE_INVALID_DATA, "text is not UTF-8");
		return;
	}
	ws->ws_msg_open = 0;
	shm_count(&ws_counters(c)->sc_ws_messages_in, 1);
	if (ws->ws_chat != NULL)
		wschat_frame(ws->ws_chat, c, ws->ws_msg_text, "", 0, 1);
	else
		ws_echo_message(c);
}

/*
 * Return the most bytes the message may take on the wire: max_message_size,
 * or, if it is compressed (its inflated size is bounded as it inflates),
 * what any deflate stream may make of that many bytes: stored blocks as
 * small as 128 bytes (zlib's memLevel 1) cost 5 bytes each, under 1/16.
 */
static uint64_t
ws_wire_max(const struct conn *c)
{
	uint64_t max = (uint64_t)c->c_worker->w_cf->cf_ws_max_message;

	return c->c_ws->ws_msg_deflated ? max + (max >> 4) + 64 : max;
}

/*
 * Read the next frame header from in. Return 1 when one is read and
 * accepted, 0 when more bytes are needed, -1 when the connection failed.
 */
static int
ws_read_header(struct conn *c)
{
	struct ws *ws = c->c_ws;
	struct ws_frame *fh = &ws->ws_frame;
	size_t avail = buf_len(&c->c_in);
	const unsigned char *p = (const unsigned char *)buf_data(&c->c_in);
	ssize_t hlen;
	int code;

	if (avail > WS_HEADER_MAX)
		avail = WS_HEADER_MAX;
	if (avail == 0)
		return 0;
	if ((hlen = wsproto_parse_header(p, avail, fh)) == 0)
		return 0;
	if (hlen == -1) {
		ws_close(c, WS_CLOSE_PROTOCOL, "invalid frame length");
		return -1;
	}
	if ((code = wsproto_check_frame(
		 fh, ws->ws_msg_open, ws->ws_pmd.dp_on)) != 0) {
		ws_close(c, code, "protocol error");
		return -1;
	}
	if (fh->wf_opcode < WS_OP_CLOSE) {
		if (fh->wf_opcode != WS_OP_CONTINUATION) {
			ws->ws_msg_open = 1;
			ws->ws_msg_text = fh->wf_opcode == WS_OP_TEXT;
			ws->ws_msg_len = 0;
			ws->ws_utf8 = UTF8_ACCEPT;
			if (ws_message_start(c) == -1)
				return -1;
		}
		if (fh->wf_len > ws_wire_max(c) - ws->ws_msg_len) {
			ws_close(c, WS_CLOSE_TOO_BIG, "message too big");
			return -1;
		}
		ws->ws_msg_len += fh->wf_len;
	}
	buf_drain(&c->c_in, (size_t)hlen);
	ws->ws_in_frame = 1;
	ws->ws_frame_got = 0;
	return 1;
}

/* Handle the input: read, check and echo every whole frame in it. */
static void
ws_process(struct conn *c)
{
	struct ws *ws = c->c_ws;
	struct ws_frame *fh = &ws->ws_frame;
	size_t avail, n;
	int code;

	while (!ws->ws_close_sent && !c->c_paused) {
		/* A chat client's input waits until it has joined. */
		if (ws->ws_chat != NULL && !wschat_ready(ws->ws_chat))
			return;
		if (!ws->ws_in_frame && ws_read_header(c) != 1)
			return;
		avail = buf_len(&c->c_in);
		n = fh->wf_len - ws->ws_frame_got < avail
		    ? (size_t)(fh->wf_len - ws->ws_frame_got)
		    : avail;
		if (n > 0 && (code = ws_take_payload(c, n)) != 0) {
			/* A gathered message's failures closed already. */
			ws_close(c, code,
			    code == WS_CLOSE_INVALID_DATA ? "text is not UTF-8"
							  : "out of memory");
			return;
		}
		ws->ws_frame_got += n;
		if (ws->ws_frame_got < fh->wf_len)
			return; /* the rest of the payload is on its way */

		ws->ws_in_frame = 0;
		if (fh->wf_opcode >= WS_OP_CLOSE)
			ws_control(c);
		else if (ws->ws_gather)
			ws_gathered_frame(c);
		else if (ws->ws_chat != NULL)
			ws_chat_frame(c);
		else
			ws_echo(c);
		ws_throttle(c);
	}
}

/* Arm the idle timer for ms milliseconds, if idle_timeout is set. */
static void
ws_idle_arm(struct conn *c, long long ms)
{
	if (c->c_ws->ws_idle_ms == 0)
		return;
	conn_timer_set(c, ms);
}

/*
 * Send what is queued, and react to output that drained: read again once
 * it is down to the low-water mark, close once a close frame is out.
 * CONN_GONE or CONN_OK.
 */
static int
ws_send_out(struct conn *c)
{
	int rv;

	for (;;) {
		if (conn_flush(c) == CONN_GONE)
			return CONN_GONE;
		if ((rv = ws_written(c)) != 1)
			return rv;
	}
}

/*
 * The 101 response is sent: the connection speaks WebSocket from now on.
 * Frames the client sent right behind its handshake are handled now.
 */
static int
ws_start_common(struct conn *c, int chat)
{
	const struct config *cf = c->c_worker->w_cf;
	struct ws *ws;

	if ((ws = calloc(1, sizeof(*ws))) == NULL ||
	    (ws->ws_payload = evbuffer_new()) == NULL) {
		log_warn("websocket");
		free(ws);
		conn_close(c, "out of memory");
		return CONN_GONE;
	}
	c->c_ws = ws;
	c->c_in_max = WS_READ_MAX;
	ws->ws_pmd = c->c_deflate;
	ws->ws_idle_ms =
	    chat ? cf->cf_chat_idle_timeout : cf->cf_ws_idle_timeout;
	shm_count(&ws_counters(c)->sc_ws_upgrades, 1);
	shm_count(&ws_counters(c)->sc_ws_open, 1);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ws->ws_last_input);
	conn_read_update(c);
	ws_idle_arm(c, ws->ws_idle_ms);
	if (c->c_worker->w_draining)
		ws_close(c, WS_CLOSE_GOING_AWAY, "server shutting down");
	else if (chat && (ws->ws_chat = wschat_start(c)) == NULL)
		ws_close(c, WS_CLOSE_TRY_AGAIN, "the chat is overloaded");
	else
		ws_process(c);
	return ws_send_out(c);
}

/* The 101 response to the echo endpoint is sent. */
static int
ws_start(struct conn *c)
{
	return ws_start_common(c, 0);
}

/* The 101 response to the chat endpoint is sent. */
static int
ws_chat_start(struct conn *c)
{
	return ws_start_common(c, 1);
}

/* Input arrived on a WebSocket connection. */
static int
ws_readable(struct conn *c)
{
	/* Any byte shows the client is alive, even within a long frame. */
	c->c_ws->ws_pinged = 0;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &c->c_ws->ws_last_input);
	if (c->c_ws->ws_close_sent)
		/* Nothing more is answered; keep the kernel buffer empty. */
		buf_drain(&c->c_in, buf_len(&c->c_in));
	else
		ws_process(c);
	return ws_send_out(c);
}

/*
 * Output was sent: once it is down to the low-water mark, read again if
 * reading was paused; once a close frame (or the client's end of input)
 * ends the connection and the output is empty, close. 1 when frames were
 * handled (there may be more to send), else CONN_GONE or CONN_OK (the
 * connection may be lingering now: no longer a WebSocket).
 */
static int
ws_written(struct conn *c)
{
	struct ws *ws = c->c_ws;

	if (ws->ws_close_sent || c->c_eof) {
		if (conn_out_pending(c) == 0)
			return conn_linger(c, !ws->ws_peer_closed);
		return 0;
	}
	if (c->c_paused && conn_out_pending(c) <= WS_OUT_LOW) {
		c->c_paused = 0;
		conn_read_update(c);
		ws_process(c);
		return 1;
	}
	return 0;
}

/* Idle timer: ping a silent client, then close if it stays silent. */
static void
ws_idle(struct conn *c)
{
	struct ws *ws = c->c_ws;
	long long idle = ws->ws_idle_ms, quiet;
	struct timespec now;

	if (ws->ws_close_sent)
		return;
	/*
	 * Output still queued, here or in the kernel: the client is busy
	 * reading, or stops reading and send_timeout deals with it; either
	 * way it is not idle, and while throttled it is we who do not read.
	 */
	if (conn_output_queued(c)) {
		ws_idle_arm(c, idle);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	quiet = (now.tv_sec - ws->ws_last_input.tv_sec) * 1000LL +
	    (now.tv_nsec - ws->ws_last_input.tv_nsec) / 1000000;
	if (quiet < idle) {
		ws_idle_arm(c, idle - quiet); /* input came meanwhile */
		return;
	}
	if (!ws->ws_pinged) {
		/* The ping starts a new quiet period for the answer. */
		ws_send(c, 1, WS_OP_PING, "pfhttpd", 7, NULL);
		ws->ws_pinged = 1;
		ws->ws_last_input = now;
		ws_idle_arm(c, idle);
		return;
	}
	ws_close(c, WS_CLOSE_GOING_AWAY, "idle timeout");
}

/* The idle timer ran out. */
static int
ws_timer(struct conn *c)
{
	ws_idle(c);
	return ws_send_out(c);
}

/*
 * The client shut its side of the connection: send what is queued (a
 * frame is never cut short), then close.
 */
static int
ws_eof(struct conn *c)
{
	if (conn_out_pending(c) == 0) {
		conn_close(c, "client closed");
		return CONN_GONE;
	}
	/* Reading stopped with the end of input; ws_written() closes. */
	conn_timer_stop(c);
	return CONN_OK;
}

/* The worker stops: tell the client it is going away (1001). */
static int
ws_drain(struct conn *c)
{
	ws_close(c, WS_CLOSE_GOING_AWAY, "server shutting down");
	return ws_send_out(c);
}

/* Free a connection's WebSocket state and count how it closed. */
static void
ws_free(struct conn *c)
{
	struct shm_counters *sc = ws_counters(c);
	struct ws *ws = c->c_ws;
	int code;

	if (ws == NULL)
		return;
	/* No close frame from us (1006, abnormal) is counted as "other". */
	code = ws->ws_close_sent ? ws->ws_close_code : 0;
	shm_count(&sc->sc_ws_closes[wsproto_close_class((unsigned)code)], 1);
	shm_count(&sc->sc_ws_open, (uint64_t)-1);
	if (ws->ws_chat != NULL)
		wschat_free(ws->ws_chat);
	wsinflate_free(ws->ws_inflate);
	wsdeflate_free(ws->ws_deflate);
	evbuffer_free(ws->ws_payload);
	free(ws);
	c->c_ws = NULL;
}

const struct conn_kind ws_kind = {
    .kd_name = "websocket",
    .kd_start = ws_start,
    .kd_readable = ws_readable,
    .kd_writable = ws_send_out,
    .kd_timer = ws_timer,
    .kd_drain = ws_drain,
    .kd_eof = ws_eof,
    .kd_free = ws_free,
};

const struct conn_kind ws_chat_kind = {
    .kd_name = "chat websocket",
    .kd_start = ws_chat_start,
    .kd_readable = ws_readable,
    .kd_writable = ws_send_out,
    .kd_timer = ws_timer,
    .kd_drain = ws_drain,
    .kd_eof = ws_eof,
    .kd_free = ws_free,
};

/*
 * Hand a whole data frame of a chat connection to wschat.c: its opcode,
 * whether it ends its message, and its payload, unmasked and, for text,
 * valid so far.
 */
static void
ws_chat_frame(struct conn *c)
{
	struct ws *ws = c->c_ws;
	const struct ws_frame *fh = &ws->ws_frame;
	size_t len = (size_t)fh->wf_len;
	const void *p;

	if (fh->wf_fin && ws->ws_msg_text && !utf8_complete(ws->ws_utf8)) {
		ws_close(c, WS_CLOSE_INVALID_DATA, "text is not UTF-8");
		return;
	}
	if (len <= WS_SMALL)
		p = ws->ws_small;
	else if ((p = evbuffer_pullup(ws->ws_payload, -1)) == NULL) {
		ws_close(c, WS_CLOSE_INTERNAL, "out of memory");
		return;
	}
	shm_count(&ws_counters(c)->sc_ws_bytes_in, len);
	if (fh->wf_fin) {
		ws->ws_msg_open = 0;
		shm_count(&ws_counters(c)->sc_ws_messages_in, 1);
	}
	wschat_frame(ws->ws_chat, c, ws->ws_msg_text, p, len, fh->wf_fin);
	if (len > WS_SMALL)
		evbuffer_drain(ws->ws_payload, len);
}

/*
 * Answer a request for the echo endpoint: 101 and the switch to ws_kind
 * once it is sent (http.c makes it), or why not: 426 for a request that is
 * not an upgrade or asks for another version, 400 for a bad handshake,
 * 403 for an origin not allowed, 503 while the worker stops.
 */
void
ws_handshake(struct conn *c, const struct http_request *req)
{
	ws_handshake_kind(c, req, &ws_kind);
}

/* Answer a WebSocket handshake; the connection becomes kind once done. */
void
ws_handshake_kind(struct conn *c, const struct http_request *req,
    const struct conn_kind *kind)
{
	const struct config *cf = c->c_worker->w_cf;
	struct wsext_policy pol = {cf->cf_ws_compression,
	    (int)cf->cf_ws_compression_bits, kind == &ws_chat_kind};
	char accept[WS_ACCEPT_LEN], answer[WSEXT_ANSWER_MAX];
	char headers[128 + WSEXT_ANSWER_MAX];
	int status, n;

	if (http_header_find(req, "Upgrade") == NULL) {
		http_response_error(c, 426,
		    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Version: 13\r\n");
		return;
	}
	status = wsproto_handshake(req, cf->cf_ws_origins, accept);
	if (status == 426) {
		/* RFC 9110, 15.5.22: a 426 names the protocol to upgrade to. */
		http_response_error(c, 426,
		    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Version: 13\r\n");
		return;
	}
	if (status != 0) {
		http_response_error(c, status, NULL);
		return;
	}
	if (c->c_worker->w_draining) {
		http_response_error(c, 503, NULL);
		return;
	}
	n = snprintf(headers, sizeof(headers),
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n",
	    accept);
	/* Chat shares one compressor per broadcast: no server context. */
	if (wsext_negotiate(req, &pol, &c->c_deflate, answer))
		snprintf(headers + n, sizeof(headers) - (size_t)n,
		    "Sec-WebSocket-Extensions: %s\r\n", answer);
	c->c_close_after = 0;
	c->c_upgrade = kind;
	http_response_head(c, 101, NULL, -1, headers);
}
