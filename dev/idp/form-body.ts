import type { Context } from 'koa';

/** Interaction forms are a few short fields; anything bigger is not one of ours. */
const LIMIT_BYTES = 8 * 1024;

/**
 * Reads an `application/x-www-form-urlencoded` request body. Only the interaction routes call
 * this: oidc-provider parses bodies itself and warns when something upstream already did.
 * Returns undefined for another content type or an oversized body.
 */
export async function readFormBody(ctx: Context): Promise<URLSearchParams | undefined> {
  if (!ctx.is('application/x-www-form-urlencoded')) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > LIMIT_BYTES) return undefined;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
