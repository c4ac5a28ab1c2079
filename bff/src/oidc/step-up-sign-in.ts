import { STEP_UP_PARAMS } from '../../../shared/src/index.js';
import { badRequest } from '../errors.js';

/**
 * The sign-in side of step-up (docs/step-up.md): what `/bff/login` may ask the provider for, and
 * the callback's own check that the ID token brings it. A provider may ignore `acr_values` (they
 * are voluntary claims in OpenID Connect) or answer from an old session: the kit never trusts
 * that it was honoured, it reads the signed `acr` and `auth_time` itself.
 */

/** What a sign-in asked for; kept in its login transaction. */
export interface StepUpRequest {
  /** Acceptable `acr` values, space-separated as sent. */
  acrValues?: string;
  /** Seconds, as sent. */
  maxAge?: number;
  /** Epoch seconds when the sign-in began: `auth_time` must be at most `maxAge` before it. */
  startedAt?: number;
}

const ACR_VALUES = /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/;
const MAX_AGE = /^\d{1,9}$/;
/** Clock difference allowed between the provider and the BFF, in seconds. */
const CLOCK_TOLERANCE_S = 10;

/** `acr_values` and `max_age` from `/bff/login`'s query, checked (400 for a bad value); `{}` when neither. */
export function readStepUpRequest(query: Record<string, unknown>): StepUpRequest {
  const acrValues = query[STEP_UP_PARAMS.acrValues];
  const maxAge = query[STEP_UP_PARAMS.maxAge];
  const request: StepUpRequest = {};
  if (acrValues !== undefined) {
    if (typeof acrValues !== 'string' || acrValues.length > 512 || !ACR_VALUES.test(acrValues))
      throw badRequest('acr_values must be space-separated acr values.', 'Sign-in could not start');
    request.acrValues = acrValues;
  }
  if (maxAge !== undefined) {
    if (typeof maxAge !== 'string' || !MAX_AGE.test(maxAge))
      throw badRequest('max_age must be a whole number of seconds.', 'Sign-in could not start');
    request.maxAge = Number(maxAge);
    request.startedAt = Math.floor(Date.now() / 1000);
  }
  return request;
}

/** The authorization request parameters of a step-up (OpenID Connect Core §3.1.2.1). */
export function stepUpParameters(request: StepUpRequest): Record<string, string> {
  return {
    ...(request.acrValues === undefined ? {} : { [STEP_UP_PARAMS.acrValues]: request.acrValues }),
    ...(request.maxAge === undefined ? {} : { [STEP_UP_PARAMS.maxAge]: String(request.maxAge) }),
  };
}

/**
 * Why the ID token does not deliver what the sign-in asked for, or undefined when it does: its
 * `acr` must be one of those asked, and its `auth_time` no older than `max_age` before the
 * sign-in began (nor in the future).
 */
export function stepUpShortfall(request: StepUpRequest | undefined, claims: { acr?: unknown; auth_time?: unknown }): string | undefined {
  if (request?.acrValues !== undefined) {
    if (typeof claims.acr !== 'string' || !request.acrValues.split(' ').includes(claims.acr)) return 'acr';
  }
  if (request?.maxAge !== undefined) {
    const authTime = claims.auth_time;
    const now = Date.now() / 1000;
    if (typeof authTime !== 'number' || authTime > now + CLOCK_TOLERANCE_S) return 'auth_time';
    if (authTime < (request.startedAt ?? now) - request.maxAge - CLOCK_TOLERANCE_S) return 'auth_time';
  }
  return undefined;
}
