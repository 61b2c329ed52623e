// The WebSocket echo server that tools/bench compares pfhttpd's echo with:
// Node.js and the `ws` package (the version in package-lock.json), one
// process, echoing every message on /echo back as it came (text or binary),
// with pfhttpd's default limit of 16 MiB a message. Other paths are
// refused; a plain HTTP request gets 426 Upgrade Required.
//
// Compression: off, unless PERMESSAGE_DEFLATE=1 (deflate.js says what ws
// then does, and why its threshold is 256 bytes).
//
// With CERT and KEY (PEM files) it serves wss over TLS instead, through
// https.createServer: TLS 1.2 and 1.3, CIPHERS (an OpenSSL cipher list
// that may name TLS 1.3 suites too; default Node's), session tickets on
// (Node's default) and sessions kept for 5 minutes, as the bench sets for
// pfhttpd and nginx.
//
// usage: NODE_PATH=build/bench-node/node_modules [PERMESSAGE_DEFLATE=1]
//        node echo.js PORT [CERT KEY [CIPHERS]]
// (tools/bench installs ws there with npm ci and starts it on 127.0.0.1.)
'use strict';

const fs = require('fs');
const https = require('https');
const { WebSocketServer } = require('ws');
const { perMessageDeflate } = require('./deflate');

const [portArg, cert, key, ciphers] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || port < 1 || port > 65535 ||
    (cert === undefined) !== (key === undefined)) {
  process.stderr.write('usage: node echo.js PORT [CERT KEY [CIPHERS]]\n');
  process.exit(2);
}

const wsOptions = {
  path: '/echo',
  perMessageDeflate,
  maxPayload: 16 * 1024 * 1024,
};

// Plain: ws makes its own HTTP server. TLS: an HTTPS server that answers
// a request without an upgrade with 426, as ws's own does.
let server;
if (cert === undefined) {
  server = new WebSocketServer({ host: '127.0.0.1', port, ...wsOptions });
} else {
  const tls = https.createServer({
    cert: fs.readFileSync(cert),
    key: fs.readFileSync(key),
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    sessionTimeout: 300,
    ...(ciphers ? { ciphers } : {}),
  }, (req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain' });
    res.end('Upgrade Required');
  });
  server = new WebSocketServer({ server: tls, ...wsOptions });
  tls.on('error', (err) => server.emit('error', err));
  tls.listen(port, '127.0.0.1');
}

// Echo each message back on the connection it came from.
server.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => ws.terminate());
});

// A listen error (the port taken) ends the process with a message.
server.on('error', (err) => {
  process.stderr.write(`echo.js: ${err.message}\n`);
  process.exit(1);
});

// Stop on SIGTERM and SIGINT as a server should: close and exit.
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
