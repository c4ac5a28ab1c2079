/**
 * The benchmark's upstream: answers `GET /items` with ~1 KB of JSON, counts requests that did
 * and did not carry a bearer token (`GET /__stats`). Runs in its own process.
 */
import { createServer } from 'node:http';

const items = JSON.stringify(
  Array.from({ length: 12 }, (_, i) => ({ id: i + 1, name: `item-${i + 1}`, price: 10 + i, tags: ['bench', 'json'] })),
);
const stats = { withBearer: 0, withoutBearer: 0 };

const server = createServer((req, res) => {
  if (req.url === '/__stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(stats));
    return;
  }
  if (req.headers.authorization?.startsWith('Bearer ')) stats.withBearer++;
  else stats.withoutBearer++;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(items) });
  res.end(items);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
