/**
 * What a Security Event Token (RFC 8417) from a Shared Signals transmitter means for the BFF:
 * which event types end sessions, and whose. Pure functions over the verified claims.
 */

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';

/**
 * The event types that end every session of their subject (or the one provider session a complex
 * subject names): the session or the credential behind it is no longer good, or the account is gone.
 */
export const SESSION_ENDING_EVENTS: readonly string[] = [
  `${CAEP}session-revoked`,
  `${CAEP}credential-change`,
  `${RISC}account-disabled`,
  `${RISC}account-purged`,
  `${RISC}sessions-revoked`,
];

/** Whose sessions an event names: the user (`sub` at `iss`), and with `sid` only that provider session. */
export interface EventSubject {
  iss: string;
  sub: string;
  sid?: string;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown) => (typeof value === 'string' && value.length > 0 && value.length <= 1024 ? value : undefined);

/** An RFC 9493 `iss_sub` identifier, or undefined. */
function issSub(identifier: unknown): EventSubject | undefined {
  if (!isObject(identifier) || identifier.format !== 'iss_sub') return undefined;
  const [iss, sub] = [text(identifier.iss), text(identifier.sub)];
  return iss && sub ? { iss, sub } : undefined;
}

/**
 * The subject of a session-ending event: SSF 1.0's `sub_id` claim, or the event's own `subject`
 * (CAEP before SSF 1.0). Either an `iss_sub` identifier, or a `complex` one whose `user` is
 * `iss_sub` and whose optional `session` (an `opaque` identifier) is the provider's `sid`.
 * Undefined: no subject this BFF can match (another format, or a malformed one).
 */
export function eventSubject(claims: Json, event: Json): EventSubject | undefined {
  const identifier = claims.sub_id ?? event.subject;
  if (!isObject(identifier)) return undefined;
  if (identifier.format === 'iss_sub') return issSub(identifier);
  if (identifier.format !== 'complex') return undefined;
  const user = issSub(identifier.user);
  if (!user) return undefined;
  if (identifier.session === undefined) return user;
  const session = identifier.session;
  const sid = isObject(session) && session.format === 'opaque' ? text(session.id) : undefined;
  // A session named in a form we cannot match must not widen into every session of the user.
  return sid ? { ...user, sid } : undefined;
}

/** The session-ending events of a SET's `events` claim, with their payloads (other types are ignored). */
export function sessionEndingEvents(events: unknown): Array<[type: string, payload: Json]> {
  if (!isObject(events)) return [];
  return SESSION_ENDING_EVENTS.flatMap((type) => (isObject(events[type]) ? [[type, events[type]] as [string, Json]] : []));
}

/** Whether two issuer identifiers name the same issuer (URL-normalised: a trailing slash on the origin is no difference). */
export function sameIssuer(a: string, b: string): boolean {
  if (a === b) return true;
  return URL.canParse(a) && URL.canParse(b) && new URL(a).href === new URL(b).href;
}
