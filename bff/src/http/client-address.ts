import type { IncomingMessage } from 'node:http';

/**
 * The client's address. Behind `hops` trusted proxies it is the entry that many places from the
 * right of X-Forwarded-For: each trusted proxy appended the address it saw, and everything to
 * the left of that was written by the client and proves nothing. Koa's `maxIpsCount` follows the
 * same rule; the rate limiter and the proxy both use this one function.
 */
export function clientAddress(req: IncomingMessage, hops: number): string {
  const socketAddress = req.socket.remoteAddress ?? '';
  if (hops === 0) return socketAddress;
  const header = req.headers['x-forwarded-for'];
  if (!header) return socketAddress;
  const entries = (Array.isArray(header) ? header.join(',') : header)
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  return entries.length === 0 ? socketAddress : entries[Math.max(0, entries.length - hops)]!;
}
