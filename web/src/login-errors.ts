import { LOGIN_ERROR_PARAM, STEP_UP_FAILED } from '../../shared/src/index.js';
import { noteStepUpFailed } from './step-up/step-up.js';
import { strings } from './strings.js';

/** A readable sentence for a `login_error` code; unknown codes (or anything odd) get a generic one. */
export function loginErrorMessage(code: string): string {
  return Object.hasOwn(strings.loginErrors, code) ? strings.loginErrors[code]! : strings.loginErrorGeneric;
}

/**
 * Reads `?login_error=` from the current URL and removes it with `history.replaceState` (so a
 * reload or a shared link does not show it again). Returns the message to show, or undefined.
 */
export function takeLoginError(location: Pick<Location, 'href'>, history: Pick<History, 'state' | 'replaceState'>): string | undefined {
  const url = new URL(location.href);
  const code = url.searchParams.get(LOGIN_ERROR_PARAM);
  if (code === null) return undefined;
  url.searchParams.delete(LOGIN_ERROR_PARAM);
  history.replaceState(history.state, '', `${url.pathname}${url.search}${url.hash}`);
  // The page is still signed in after a failed step-up: the step-up prompt says so.
  if (code === STEP_UP_FAILED) noteStepUpFailed();
  return loginErrorMessage(code);
}
