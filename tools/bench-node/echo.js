// The WebSocket echo server that tools/bench compares pfhttpd's echo with:
// Node.js and the `ws` package (the version in package-lock.json), one
// process, echoing every message on /echo back as it came (text or binary),
// without compression, with pfhttpd's default limit of 16 MiB a message.
// Other paths are refused; a plain HTTP request gets 426 Upgrade Required.
//
// usage: NODE_PATH=build/bench-node/node_modules node echo.js PORT
// (tools/bench installs ws there with npm ci and starts it on 127.0.0.1.)
'use strict';

const { WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write('usage: node echo.js PORT\n');
  process.exit(2);
}

const server = new WebSocketServer({
  host: '127.0.0.1',
  port,
  path: '/echo',
  perMessageDeflate: false,
  maxPayload: 16 * 1024 * 1024,
});

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
