/**
 * The benchmark's upstream: answers `GET /items` with ~1 KB of JSON, counts requests that did
 * and did not carry a bearer token, and those that carried a DPoP-bound token with a proof
 * (`GET /__stats`), and echoes WebSocket messages on any path. Runs in its own process.
 */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const items = JSON.stringify(
  Array.from({ length: 12 }, (_, i) => ({ id: i + 1, name: `item-${i + 1}`, price: 10 + i, tags: ['bench', 'json'] })),
);
const stats = { withBearer: 0, withDpop: 0, withoutBearer: 0 };

const server = createServer((req, res) => {
  if (req.url === '/__stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(stats));
    return;
  }
  if (req.headers.authorization?.startsWith('Bearer ')) stats.withBearer++;
  else if (req.headers.authorization?.startsWith('DPoP ') && req.headers.dpop) stats.withDpop++;
  else stats.withoutBearer++;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(items) });
  res.end(items);
});
server.keepAliveTimeout = 60_000;
const echo = new WebSocketServer({ server });
echo.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
