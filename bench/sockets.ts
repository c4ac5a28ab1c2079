/**
 * "Many sockets" (issue 29): idle WebSockets held open through the BFF, 16 per signed-in session
 * (the per-session budget), and what they cost: BFF memory per socket, file descriptors, and the
 * echo round trip of one more socket while they are open. Each count runs on a fresh BFF (same
 * build and settings as the main rows), so one count's garbage does not weigh on the next.
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { Redis } from 'ioredis';
import WebSocket from 'ws';
import { echoRoundTrips } from './load.js';
import { processTree } from './processes.js';
import { sessionCopies } from './session-copies.js';
import type { Stack } from './stack.js';

/** Sockets per session: the live-connection budget of one session. */
const PER_SESSION = 16;
/** Handshakes in flight at once while the sockets are opened (a crowd arriving, not a stampede). */
const OPENING_AT_ONCE = 100;
/** Time the open sockets sit idle before memory is read: timers armed, buffers settled. */
const SETTLE_MS = 3000;

/** One sockets row. */
export interface SocketsFigures {
  sockets: number;
  perSession: number;
  /** Growth of the BFF processes' resident memory (all workers) over the idle sockets, per socket. */
  rssKiBPerSocket: number;
  /** Open file descriptors of the BFF processes with the sockets open (browser leg + upstream leg). */
  fds: number;
  /** Echo round trip of one more socket, one message at a time, while the others are open (µs). */
  echo: { p50: number; p99: number };
}

/** Resident memory (KiB) and open file descriptors summed over a process tree. */
function treeUsage(pid: number): { rssKiB: number; fds: number } {
  let rssKiB = 0;
  let fds = 0;
  for (const member of processTree(pid)) {
    try {
      rssKiB += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${member}/status`, 'utf8'))?.[1] ?? 0);
      fds += readdirSync(`/proc/${member}/fd`).length;
    } catch {
      // the process went away meanwhile
    }
  }
  return { rssKiB, fds };
}

/** Opens one WebSocket and resolves once it is open (rejects on a refused handshake). */
function openSocket(url: string, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket handshake answered ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

/** Opens `count` sockets at `url`, PER_SESSION on each session of `ids`, OPENING_AT_ONCE at a time. */
async function openMany(url: string, origin: string, ids: string[], count: number): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let next = 0; next < count;) {
    const batch = [];
    for (; batch.length < OPENING_AT_ONCE && next < count; next++) {
      const cookie = `bff=${ids[Math.floor(next / PER_SESSION)]}`;
      batch.push(openSocket(url, { cookie, origin }));
    }
    sockets.push(...(await Promise.all(batch)));
  }
  return sockets;
}

/** The sockets rows: `counts` idle sockets each, on a fresh BFF per count. */
export async function socketsGroup(
  stack: Stack,
  redis: Redis,
  templateId: string,
  headers: Record<string, string>,
  counts: number[],
  echoes: number,
): Promise<SocketsFigures[]> {
  const copies = await sessionCopies(redis, templateId);
  const rows: SocketsFigures[] = [];
  for (const count of counts) {
    const ids = readFileSync(await copies.upTo(Math.ceil(count / PER_SESSION)), 'utf8').split('\n');
    const bff = await stack.startBff();
    const url = `${bff.url.replace('http:', 'ws:')}/api/echo`;
    let sockets: WebSocket[] = [];
    try {
      // One socket's round trips first: code paths warmed, memory at its working size.
      await echoRoundTrips(url, { cookie: headers.cookie!, origin: bff.url }, echoes);
      const before = treeUsage(bff.pid);
      sockets = await openMany(url, bff.url, ids, count);
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const open = treeUsage(bff.pid);
      const echo = await echoRoundTrips(url, { cookie: headers.cookie!, origin: bff.url }, echoes);
      const stillOpen = sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length;
      if (stillOpen !== count) throw new Error(`${count - stillOpen} of ${count} idle sockets were closed while they were measured`);
      rows.push({
        sockets: count,
        perSession: PER_SESSION,
        rssKiBPerSocket: (open.rssKiB - before.rssKiB) / count,
        fds: open.fds,
        echo,
      });
    } finally {
      for (const ws of sockets) ws.terminate();
      await bff.stop();
    }
  }
  return rows;
}
