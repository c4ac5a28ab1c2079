import type { IncomingMessage } from 'node:http';
import { bodyStalled, bodyTooLarge } from '../errors.js';

/** Small server-to-server bodies (a logout token, a Security Event Token): room for large keys and subjects, nothing more. */
export const SMALL_BODY_BYTES = 64 * 1024;
/** The longest such a body may take to arrive once its headers did (API_BODY_TIMEOUT_MS, when shorter). */
export const SMALL_BODY_DEADLINE_MS = 10_000;

/**
 * A small request body read whole as text: at most SMALL_BODY_BYTES (413), in by `deadlineMs`
 * after the headers (408; no byte resets it, so a trickle ends too). A caller that sends its
 * headers and then nothing holds the request, and whatever admission it took, no longer than that.
 */
export function readBodyText(req: IncomingMessage, deadlineMs: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > SMALL_BODY_BYTES) return Promise.reject(bodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (error: unknown, body?: string) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', finish).off('aborted', onAborted);
      if (error) {
        req.pause();
        reject(error);
      } else resolve(body!);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > SMALL_BODY_BYTES) finish(bodyTooLarge());
      else chunks.push(chunk);
    };
    const onEnd = () => finish(undefined, Buffer.concat(chunks).toString('utf8'));
    const onAborted = () => finish(new Error('the client closed the request'));
    const timer = setTimeout(() => finish(bodyStalled()), deadlineMs);
    req.on('data', onData).on('end', onEnd).on('error', finish).on('aborted', onAborted);
  });
}
