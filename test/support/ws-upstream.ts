import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** One WebSocket handshake as the upstream saw it. */
export interface Handshake {
  url: string;
  headers: IncomingHttpHeaders;
}

/**
 * A real WebSocket upstream that records handshakes and echoes every message (text stays text,
 * binary stays binary). `/refuse` answers the handshake with 403 and a JSON body instead, `/slow`
 * answers it after 300 ms; the
 * message `close:<code>` makes it close with that code. It picks the first subprotocol offered.
 */
export async function startWebSocketUpstream() {
  const handshakes: Handshake[] = [];
  const closes: { code: number; reason: string }[] = [];
  const sockets = new Set<WebSocket>();
  const server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end('upgrade required');
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 * 1024, handleProtocols: (offered) => [...offered][0] ?? false });
  server.on('upgrade', (req, socket, head) => {
    handshakes.push({ url: req.url!, headers: req.headers });
    if (req.url!.startsWith('/refuse')) {
      const body = JSON.stringify({ error: 'refused_by_upstream' });
      socket.end(
        `HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nSet-Cookie: upstream=1\r\n\r\n${body}`,
      );
      return;
    }
    // `/slow` answers the handshake after 300 ms (a browser may leave meanwhile).
    const delay = req.url!.startsWith('/slow') ? 300 : 0;
    setTimeout(() => accept(req, socket, head), delay);
  });
  function accept(req: Parameters<typeof wss.handleUpgrade>[0], socket: Parameters<typeof wss.handleUpgrade>[1], head: Buffer) {
    if (socket.destroyed) return;
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('message', (data, isBinary) => {
        const text = isBinary ? '' : data.toString();
        if (text.startsWith('close:')) return ws.close(Number(text.slice(6)), 'upstream closes');
        ws.send(data, { binary: isBinary });
      });
      ws.on('close', (code, reason) => {
        sockets.delete(ws);
        closes.push({ code, reason: reason.toString() });
      });
      ws.on('error', () => ws.terminate());
    });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    handshakes,
    closes,
    /** Sockets open right now. */
    get open() {
      return sockets.size;
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
