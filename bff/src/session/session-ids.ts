import { randomBytes } from 'node:crypto';

const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A new opaque session id (the cookie value): 256 random bits. */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

/** A new public name for a session ("Your sessions"): 128 random bits, unrelated to its id. */
export function newPublicId(): string {
  return randomBytes(16).toString('base64url');
}

/** Whether `value` could be a session id (malformed cookies never reach Redis). */
export function isSessionId(value: string | undefined): value is string {
  return value !== undefined && ID_PATTERN.test(value);
}

/**
 * A copy of `id` that holds no memory of the string it was cut from. A cookie value sliced out of
 * a Cookie header is, in V8, a view that keeps the whole header alive: kept as a key of a
 * long-lived map, each entry would hold its request's header (up to 16 KiB) instead of 43 bytes.
 */
export function detachedCopy(id: string): string {
  return Buffer.from(id, 'utf16le').toString('utf16le');
}
