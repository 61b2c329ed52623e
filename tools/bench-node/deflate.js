// The permessage-deflate setting that echo.js and chat.js give ws: off
// (false), unless the environment has PERMESSAGE_DEFLATE=1. Then ws's
// defaults (ws 8), but for the threshold:
//  - zlib level Z_DEFAULT_COMPRESSION (6) and memLevel 8 (zlib's
//    defaults; pfhttpd's compression_level defaults to 1);
//  - 15-bit windows unless the client asks for less, context takeover
//    both ways unless the client asks for none (pfhttpd answers the same
//    on /echo; on /chat it always keeps no context, to compress once);
//  - the threshold, 256 bytes here (ws's default is 1024) to match
//    pfhttpd's compression_min_size default, for a fair comparison.
//    ws applies it only to what it sends without context takeover: with
//    context takeover it compresses every message, however small;
//  - at most 10 zlib calls at once (they run on libuv's thread pool).
'use strict';

const on = process.env.PERMESSAGE_DEFLATE === '1';

module.exports = {
  perMessageDeflate: on ? { threshold: 256 } : false,
};
