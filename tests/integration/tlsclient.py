"""TLS for the raw clients of the tests (wsclient.py, chatclient.py).

Those clients take a server object and call its connect() (and
connect_telnet()); TlsEndpoint is such an object for the server's TLS
ports, so that handshake(), WsChat and TelnetChat speak TLS unchanged.

  TlsEndpoint(server, context=, shared=,   connect(): the TLS listener,
              close_notify=)               connect_telnet(): the TLS chat
                                           port
  TlsSocket                                a TLS connection that one
                                           thread reads while another
                                           writes (what shared=True gives)

Why not an ssl.SSLSocket everywhere: OpenSSL lets one thread at a time
into an SSL object, and an SSLSocket enters it from whichever thread
reads or writes. WsChat and TelnetChat read in a thread of their own (on
a dup() of the socket, which an SSLSocket refuses anyway) while the test
writes. A TlsSocket keeps its SSL object on memory buffers under a lock
and does only the TCP reads and writes, which may block, outside it.
Without shared, connect() returns a plain SSLSocket (one thread only).
"""

import socket
import ssl
import threading

from conftest import IO_TIMEOUT


class TlsState:
    """What the handles of one TlsSocket connection share."""

    def __init__(self, context, hostname):
        self.lock = threading.Lock()  # the SSL object and its buffers
        self.send_lock = threading.Lock()  # records reach TCP in order
        self.incoming = ssl.MemoryBIO()  # from TCP, not yet decrypted
        self.outgoing = ssl.MemoryBIO()  # encrypted, not yet on TCP
        self.obj = context.wrap_bio(self.incoming, self.outgoing,
                                    server_hostname=hostname)


class TlsSocket:
    """A client TLS connection with the socket calls the test clients
    make: sendall, recv, settimeout, setsockopt, getsockname, dup,
    shutdown, close. The timeout is the TCP socket's, per handle."""

    def __init__(self, raw, state):
        self.raw = raw
        self.st = state

    @classmethod
    def connect(cls, port, context, timeout=IO_TIMEOUT, rcvbuf=None,
                hostname="localhost"):
        """Connect to 127.0.0.1:port and do the handshake."""
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if rcvbuf is not None:
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            raw.settimeout(timeout)
            raw.connect(("127.0.0.1", port))
            s = cls(raw, TlsState(context, hostname))
            s._handshake()
        except BaseException:
            raw.close()
            raise
        return s

    def _handshake(self):
        """Run the client's handshake to its end (or its SSLError)."""
        while True:
            with self.st.lock:
                try:
                    self.st.obj.do_handshake()
                    done = True
                except ssl.SSLWantReadError:
                    done = False
                out = self.st.outgoing.read()
            if out:
                self.raw.sendall(out)
            if done:
                return
            self._feed()

    def _feed(self):
        """Read from TCP into the SSL object's input (EOF included)."""
        data = self.raw.recv(1 << 16)
        with self.st.lock:
            if data:
                self.st.incoming.write(data)
            else:
                self.st.incoming.write_eof()

    def recv(self, n):
        """Up to n bytes of application data; b"" at the end of the
        stream, with or without the peer's close_notify."""
        while True:
            with self.st.lock:
                try:
                    return self.st.obj.read(n)
                except ssl.SSLWantReadError:
                    pass
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    return b""
            self._feed()

    def sendall(self, data):
        """Encrypt data and write every byte of it."""
        with self.st.send_lock:
            with self.st.lock:
                self.st.obj.write(data)
                out = self.st.outgoing.read()
            self.raw.sendall(out)

    def send(self, data):
        self.sendall(data)
        return len(data)

    def version(self):
        """The protocol version negotiated ("TLSv1.3")."""
        return self.st.obj.version()

    def settimeout(self, timeout):
        self.raw.settimeout(timeout)

    def setsockopt(self, *args):
        self.raw.setsockopt(*args)

    def getsockname(self):
        return self.raw.getsockname()

    def dup(self):
        """Another handle on the connection, with its own timeout."""
        return TlsSocket(self.raw.dup(), self.st)

    def shutdown(self, how):
        self.raw.shutdown(how)

    def close(self):
        self.raw.close()


class TlsEndpoint:
    """The TLS ports of a server (started with tls=True) in the shape of a
    server object: connect() and connect_telnet() return TLS connections
    (a TlsSocket with shared, else an ssl.SSLSocket), made with context
    (default: trusting the test CA, no client certificate).

    close_notify=True (not shared): the end of the stream must come with
    the server's close_notify alert, or reading it raises ssl.SSLError
    (reason UNEXPECTED_EOF_WHILE_READING). By default Python takes a bare
    TCP end for a clean one (OP_IGNORE_UNEXPECTED_EOF, suppress_ragged_eofs)
    as do the clients here.
    """

    def __init__(self, server, context=None, shared=True,
                 close_notify=False):
        self.server = server
        self.context = context if context is not None \
            else server.tls_context()
        self.shared = shared
        self.close_notify = close_notify
        if close_notify:
            assert not shared, "close_notify needs shared=False"
            self.context.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF
        self.port = server.tls_port

    def _open(self, port, timeout, rcvbuf):
        if self.shared:
            return TlsSocket.connect(port, self.context, timeout, rcvbuf)
        assert rcvbuf is None, "rcvbuf needs shared=True"
        raw = socket.create_connection(("127.0.0.1", port), timeout)
        try:
            return self.context.wrap_socket(
                raw, server_hostname="localhost",
                suppress_ragged_eofs=not self.close_notify)
        except BaseException:
            raw.close()
            raise

    def connect(self, timeout=IO_TIMEOUT, rcvbuf=None):
        """A connection to the TLS listener, handshake done."""
        return self._open(self.server.tls_port, timeout, rcvbuf)

    def connect_telnet(self, timeout=IO_TIMEOUT, rcvbuf=None):
        """A connection to the TLS chat port (telnet=True), handshake
        done."""
        assert self.server.chat_port is not None, "started without telnet"
        return self._open(self.server.chat_port, timeout, rcvbuf)
