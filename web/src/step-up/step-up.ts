import { BFF_PATHS, ERROR_CODES, STEP_UP_PARAMS } from '../../../shared/src/index.js';
import { strings } from '../strings.js';

/**
 * Step-up in the SPA (docs/step-up.md): a call answered 401 `step_up_required` does not mean the
 * session ended; it means the route wants a stronger or more recent sign-in. The BFF client reports
 * it here instead of to the signed-out listeners, and the step-up prompt asks the user.
 */

/** What the sign-in must bring, as the BFF said. */
export interface StepUpAsk {
  /** Space-separated acceptable `acr` values. */
  acrValues?: string;
  /** Seconds. */
  maxAge?: number;
}

/** The ask in a `step_up_required` body, or undefined when the body is not one. */
export function readStepUpAsk(body: { error?: unknown; acr_values?: unknown; max_age?: unknown }): StepUpAsk | undefined {
  if (body.error !== ERROR_CODES.stepUpRequired) return undefined;
  const ask: StepUpAsk = {};
  if (typeof body.acr_values === 'string' && body.acr_values !== '') ask.acrValues = body.acr_values;
  if (typeof body.max_age === 'number' && Number.isSafeInteger(body.max_age) && body.max_age >= 0) ask.maxAge = body.max_age;
  return ask;
}

export type StepUpListener = (ask: StepUpAsk) => void;
const listeners = new Set<StepUpListener>();

/** Subscribes to step-up requests from any call; returns the unsubscribe function. */
export function onStepUpRequired(listener: StepUpListener): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

/** Tells every listener that a call needs a step-up. */
export function reportStepUpRequired(ask: StepUpAsk): void {
  for (const listener of [...listeners]) listener(ask);
}

let stepUpFailed = false;

/** The page loaded after a step-up the provider did not deliver (`login_error=step_up_failed`). */
export function noteStepUpFailed(): void {
  stepUpFailed = true;
}

/** Whether the page loaded after a failed step-up; true only for the first caller. */
export function takeStepUpFailed(): boolean {
  const failed = stepUpFailed;
  stepUpFailed = false;
  return failed;
}

/** The sign-in that brings what is asked, back to `returnTo` (the current view). */
export function stepUpLoginUrl(ask: StepUpAsk, returnTo: string): string {
  const query = new URLSearchParams();
  if (ask.acrValues !== undefined) query.set(STEP_UP_PARAMS.acrValues, ask.acrValues);
  if (ask.maxAge !== undefined) query.set(STEP_UP_PARAMS.maxAge, String(ask.maxAge));
  query.set('returnTo', returnTo);
  return `${BFF_PATHS.login}?${query}`;
}

/** A sentence naming what is asked: a second factor, a stronger sign-in, and/or a recent one. */
export function describeAsk(ask: StepUpAsk): string {
  const text = strings.stepUp;
  const parts: string[] = [];
  if (ask.acrValues !== undefined) {
    parts.push(ask.acrValues.split(' ').some((acr) => /(^|[:/])mfa$/i.test(acr)) ? text.secondFactor : text.strongerSignIn);
  }
  if (ask.maxAge !== undefined) parts.push(text.recentSignIn(ask.maxAge));
  return text.asks(parts.length ? parts : [text.signInAgain]);
}
