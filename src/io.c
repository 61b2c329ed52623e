/*
 * How a connection's bytes move over a plain TCP socket: the struct
 * conn_io that every connection starts with. conn.c reads and writes
 * through c->c_io and nothing else, so a TLS connection differs only in
 * the table it is given.
 */

#include <sys/sendfile.h>
#include <sys/socket.h>

#include <string.h>
#include <unistd.h>

#include "pfhttpd.h"

/* Read up to len bytes from the socket. */
static ssize_t
io_plain_read(struct conn *c, void *buf, size_t len)
{
	return read(c->c_fd, buf, len);
}

/* Send len bytes; with more, the kernel may hold them for what follows. */
static ssize_t
io_plain_send(struct conn *c, const void *buf, size_t len, int more)
{
	return send(c->c_fd, buf, len, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
}

/* Send the buffers of iov in order, as one write. */
static ssize_t
io_plain_sendv(struct conn *c, const struct iovec *iov, int iovcnt)
{
	struct msghdr msg;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = (struct iovec *)(uintptr_t)iov;
	msg.msg_iovlen = (size_t)iovcnt;
	return sendmsg(c->c_fd, &msg, MSG_NOSIGNAL);
}

/* Send len bytes of the file fd from *off, in the kernel. */
static ssize_t
io_plain_sendfile(struct conn *c, int fd, off_t *off, size_t len)
{
	return sendfile(c->c_fd, fd, off, len);
}

/* Send a FIN: the client sees the end of our output. */
static int
io_plain_shutdown(struct conn *c)
{
	return shutdown(c->c_fd, SHUT_WR);
}

const struct conn_io io_plain = {
    .ci_read = io_plain_read,
    .ci_send = io_plain_send,
    .ci_sendv = io_plain_sendv,
    .ci_sendfile = io_plain_sendfile,
    .ci_shutdown = io_plain_shutdown,
};
