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
