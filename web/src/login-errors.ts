import { LOGIN_ERROR_PARAM } from '../../shared/src/index.js';

/** Readable sentences for the `login_error` codes the BFF passes on (OAuth 2 / OpenID Connect error codes). */
const MESSAGES: Record<string, string> = {
  access_denied: 'You declined to share your account with this app, so you are not signed in. Sign in again whenever you like.',
  login_required: 'You are not signed in at your identity provider. Please sign in.',
  consent_required: 'This app needs your consent before you can sign in.',
  interaction_required: 'Your identity provider needs you to finish signing in there. Please sign in again.',
  account_selection_required: 'Please choose an account at your identity provider to sign in.',
  invalid_request: 'Sign-in could not be started or completed. Please try again.',
  invalid_scope: 'This app asked for access your identity provider does not allow. Please contact the app team.',
  unauthorized_client: 'This app is not allowed to sign you in. Please contact the app team.',
  unsupported_response_type: 'This app is not set up correctly for your identity provider. Please contact the app team.',
  temporarily_unavailable: 'The sign-in service is temporarily unavailable. Please try again in a moment.',
  server_error: 'The sign-in service had a problem. Please try again in a moment.',
};

export const GENERIC_LOGIN_ERROR = 'Sign-in did not complete. Please try again.';

/** A readable sentence for a `login_error` code; unknown codes (or anything odd) get a generic one. */
export function loginErrorMessage(code: string): string {
  return Object.hasOwn(MESSAGES, code) ? MESSAGES[code]! : GENERIC_LOGIN_ERROR;
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
  return loginErrorMessage(code);
}
