/**
 * The benchmark's yardstick: the least a Node proxy on the kit's own parts can do per call.
 * It reads the session value with one GETEX (ioredis), parses it, and relays `GET /items` from
 * the upstream with a bearer token through undici's `dispatch()`: the same packages, sockets and
 * worker count as the BFF, without anything that makes it safe (no cookie or CSRF check, no
 * decryption, no refresh, no header filtering, no metrics, no error handling).
 * What the BFF costs above this line is the price of its logic; what this line costs is the
 * price of Node, undici, ioredis and the machine. Never use this as a proxy.
 *
 * Usage: floor.ts <port> <upstream origin> <redis url> <session key> <workers>; prints `{"port":n}`.
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { Pool, type Dispatcher } from 'undici';

const [port, upstream, redisUrl, sessionKey, workers] = process.argv.slice(2) as [string, string, string, string, string];

if (cluster.isPrimary) {
  for (let i = 0; i < Number(workers); i++) cluster.fork();
  let listening = 0;
  cluster.on('listening', () => {
    if (++listening === Number(workers)) process.stdout.write(`${JSON.stringify({ port: Number(port) })}\n`);
  });
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
} else {
  process.on('SIGTERM', () => process.exit(0));
  const redis = new Redis(redisUrl);
  const pool = new Pool(upstream, { connections: 128, keepAliveTimeout: 30_000 });
  createServer((_req, res) => {
    redis.getex(sessionKey, 'PX', 60_000).then(
      (value) => {
        // A stand-in bearer of the size of a real access token, from the session value.
        const record = JSON.parse(value!) as { sealedTokens: string };
        const handler: Dispatcher.DispatchHandler = {
          onRequestStart: () => {}, // its presence tells undici this handler speaks the current API
          onResponseStart: (_controller, statusCode, headers) => {
            res.writeHead(statusCode, headers as Record<string, string>);
            res.cork(); // as the BFF does: head and body in one write
            process.nextTick(() => res.uncork());
          },
          onResponseData: (_controller, chunk) => void res.write(chunk),
          onResponseEnd: () => res.end(),
          onResponseError: () => res.destroy(),
        };
        pool.dispatch(
          { path: '/items', method: 'GET', headers: { authorization: `Bearer ${record.sealedTokens.slice(0, 900)}` } },
          handler,
        );
      },
      () => res.destroy(),
    );
  }).listen(Number(port), '127.0.0.1');
}
