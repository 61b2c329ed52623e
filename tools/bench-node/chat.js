// The chat room server that tools/bench compares pfhttpd's chat with:
// Node.js and the `ws` package (the version in package-lock.json), one
// process, behaving as pfhttpd's chat does for the benchmark. A client
// connects to /chat/ROOM?nick=NICK (each a name of 1 to 32 of A-Za-z0-9_-;
// anything else is refused with 400) and gets, in order: a welcome,
//   {"type":"welcome","room":R,"nick":N,"seq":S}
// with S the room's last sequence number, the room's history (its last
// HISTORY events, each with "history":true), then its own join event,
// which every client of the room gets. Each text message a client sends
// gets the room's next sequence number and goes to every client of the
// room, the sender included, as
//   {"type":"message","room":R,"seq":S,"time":T,"nick":N,"text":X}
// with T the time in RFC 3339 UTC with milliseconds; a client that leaves
// is a leave event. No commands, no rate limit; binary messages are
// ignored. A plain HTTP request gets 426 Upgrade Required. Compression:
// off, unless PERMESSAGE_DEFLATE=1 (deflate.js says what ws then does:
// each event is compressed for each client that agreed to it, with that
// client's own context, since ws has no way to compress once for many).
//
// usage: NODE_PATH=build/bench-node/node_modules [PERMESSAGE_DEFLATE=1]
//        node chat.js PORT
// (tools/bench installs ws there with npm ci and starts it on 127.0.0.1.)
'use strict';

const http = require('http');
const { WebSocketServer, WebSocket } = require('ws');
const { perMessageDeflate } = require('./deflate');

const HISTORY = 100;
const NAME = /^[A-Za-z0-9_-]{1,32}$/;

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write('usage: node chat.js PORT\n');
  process.exit(2);
}

// Each room by name: its clients, last sequence number and history.
const rooms = new Map();

// Return the room named name, created empty if it is new.
function room(name) {
  let r = rooms.get(name);
  if (!r) {
    r = { name, clients: new Set(), seq: 0, history: [] };
    rooms.set(name, r);
  }
  return r;
}

// Return the JSON of event ev, with "history":true if history.
function render(ev, history) {
  const out = { type: ev.type, room: ev.room, seq: ev.seq, time: ev.time,
                nick: ev.nick };
  if (ev.text !== undefined) out.text = ev.text;
  if (history) out.history = true;
  return JSON.stringify(out);
}

// Give ev the next sequence number of room r, keep it in the history, and
// send it to every client of the room, rendered once.
function publish(r, ev) {
  r.seq += 1;
  ev.seq = r.seq;
  ev.room = r.name;
  ev.time = new Date().toISOString();
  r.history.push(ev);
  if (r.history.length > HISTORY) r.history.shift();
  const data = Buffer.from(render(ev, false));
  for (const client of r.clients) {
    if (client.readyState === WebSocket.OPEN) {
      client.send(data, { binary: false });
    }
  }
}

const server = http.createServer((req, res) => {
  res.writeHead(426, { 'Content-Type': 'text/plain' });
  res.end('Upgrade Required\n');
});

const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate,
  maxPayload: 16 * 1024 * 1024,
});

// Upgrade /chat/ROOM?nick=NICK with valid names; refuse anything else.
server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://localhost');
  const m = /^\/chat\/([^/]+)$/.exec(url.pathname);
  const nick = url.searchParams.get('nick') || '';
  if (!m || !NAME.test(m[1]) || !NAME.test(nick)) {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => join(ws, room(m[1]), nick));
});

// Welcome ws to room r as nick: welcome, history, then its join for all.
function join(ws, r, nick) {
  ws.send(JSON.stringify({ type: 'welcome', room: r.name, nick, seq: r.seq }));
  for (const ev of r.history) ws.send(render(ev, true));
  r.clients.add(ws);
  publish(r, { type: 'join', nick });
  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      publish(r, { type: 'message', nick, text: data.toString() });
    }
  });
  ws.on('close', () => {
    r.clients.delete(ws);
    publish(r, { type: 'leave', nick });
  });
  ws.on('error', () => ws.terminate());
}

// A listen error (the port taken) ends the process with a message.
server.on('error', (err) => {
  process.stderr.write(`chat.js: ${err.message}\n`);
  process.exit(1);
});

server.listen(port, '127.0.0.1');

// Stop on SIGTERM and SIGINT as a server should: close and exit.
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
