import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';

/** One request as the upstream saw it. */
export interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  bodyBytes: number;
  bodySha256: string;
  /** The BFF's side of the TCP connection: equal ports mean a reused keep-alive connection. */
  remotePort: number;
}

/**
 * A real HTTP upstream that records what it receives. Special paths: `/slow?ms=N` answers after
 * N ms; `/big?bytes=N` answers N bytes with backpressure; `/set-cookie` answers with a Set-Cookie header; `/events?count=N&gapMs=M` is an event stream; `/stall?ms=N` stalls its body; `/slow-read?ms=N` reads a request body only after N ms; `/refuse-token` answers 401
 * invalid_token whatever the token (an upstream that refuses every token); a token in
 * `rejectTokens` gets that answer anywhere; everything else echoes the request as JSON.
 * With `dpopNonce.value` set, a request whose DPoP proof lacks that nonce gets the RFC 9449 §9
 * challenge (401 `use_dpop_nonce` with `DPoP-Nonce`), as a resource server that wants nonces does.
 */
export async function startRecordingUpstream() {
  const requests: Recorded[] = [];
  const state = { rejectTokens: new Set<string>(), unfinished: 0, openStreams: 0, inFlight: 0, peakInFlight: 0 };
  const dpopNonce: { value: string | undefined; challenges: number } = { value: undefined, challenges: 0 };
  const server = createServer((req, res) => {
    // Requests begun and not yet answered or aborted: what the BFF holds of this upstream.
    state.peakInFlight = Math.max(state.peakInFlight, ++state.inFlight);
    res.once('close', () => state.inFlight--);
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    // `/slow-read?ms=N`: reads nothing of the body for N ms (backpressure all the way to the browser).
    const slowRead = /\/slow-read\?ms=(\d+)/.exec(req.url!);
    if (slowRead) {
      req.pause();
      setTimeout(() => req.resume(), Number(slowRead[1]));
    }
    req.on('end', () => {
      const record: Recorded = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        bodyBytes: bytes,
        bodySha256: hash.digest('hex'),
        remotePort: req.socket.remotePort!,
      };
      requests.push(record);
      route(record, res);
    });
  });
  function route(record: Recorded, res: ServerResponse) {
    const url = new URL(record.url, 'http://upstream');
    if (url.pathname.endsWith('/slow')) {
      setTimeout(() => json(res, 200, { slow: true }), Number(url.searchParams.get('ms') ?? 1000));
      return;
    }
    if (url.pathname.endsWith('/big')) {
      // A large answer written with backpressure; `unfinished` counts answers whose reader went away.
      const total = Number(url.searchParams.get('bytes') ?? 1_000_000);
      const chunk = Buffer.alloc(64 * 1024, 0x63);
      let sent = 0;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
      res.on('close', () => {
        if (!res.writableFinished) state.unfinished++;
      });
      const pump = () => {
        while (sent < total) {
          const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
          sent += piece.length;
          if (!res.write(piece)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    if (url.pathname.endsWith('/stall')) {
      // Headers at once, then nothing for `ms` (a body that stalls).
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":');
      setTimeout(() => res.end('true}'), Number(url.searchParams.get('ms') ?? 1000));
      return;
    }
    if (url.pathname.endsWith('/events')) {
      // An event stream: `count` events `gapMs` apart (then it ends), or for ever without `count`.
      const count = Number(url.searchParams.get('count') ?? Number.POSITIVE_INFINITY);
      const gapMs = Number(url.searchParams.get('gapMs') ?? 100);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let sent = 0;
      state.openStreams++;
      const next = () => {
        if (res.destroyed) return;
        res.write(`id: ${sent}\ndata: event ${sent}\n\n`);
        if (++sent >= count) return void res.end();
        timer = setTimeout(next, gapMs);
      };
      let timer = setTimeout(next, 0);
      res.on('close', () => {
        clearTimeout(timer);
        state.openStreams--;
      });
      return;
    }
    if (url.pathname.endsWith('/set-cookie')) {
      res.setHeader('Set-Cookie', 'upstream=1; Path=/');
      json(res, 200, { cookie: 'set' });
      return;
    }
    const proof = record.headers.dpop;
    if (dpopNonce.value !== undefined && typeof proof === 'string' && proofNonce(proof) !== dpopNonce.value) {
      dpopNonce.challenges++;
      res.setHeader('WWW-Authenticate', 'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"');
      res.setHeader('DPoP-Nonce', dpopNonce.value);
      json(res, 401, { error: 'use_dpop_nonce' });
      return;
    }
    const token = record.headers.authorization?.replace(/^(Bearer|DPoP) /, '');
    if (token && (state.rejectTokens.has(token) || url.pathname.endsWith('/refuse-token'))) {
      res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
      json(res, 401, { error: 'invalid_token' });
      return;
    }
    json(res, 200, { method: record.method, url: record.url, bodyBytes: record.bodyBytes, bodySha256: record.bodySha256 });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Tokens the upstream refuses with `401 invalid_token`. */
    rejectTokens: state.rejectTokens,
    /** Set `value` to demand that DPoP nonce; `challenges` counts the use_dpop_nonce answers. */
    dpopNonce,
    /** Event streams (`/events`) open right now. */
    get openStreams() {
      return state.openStreams;
    },
    /** Requests in progress right now, and the most there were at once since `resetPeak()`. */
    get inFlight() {
      return state.inFlight;
    },
    get peakInFlight() {
      return state.peakInFlight;
    },
    resetPeak() {
      state.peakInFlight = state.inFlight;
    },
    /** How many `/big` answers ended before they were complete (the reader went away). */
    get unfinishedAnswers() {
      return state.unfinished;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The `nonce` claim of a DPoP proof (read, not verified: the demo API verifies proofs). */
function proofNonce(proof: string): unknown {
  try {
    return (JSON.parse(Buffer.from(proof.split('.')[1] ?? '', 'base64url').toString('utf8')) as { nonce?: unknown }).nonce;
  } catch {
    return undefined;
  }
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
