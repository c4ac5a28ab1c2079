import { LOGIN_ERROR_PARAM } from '../../shared/src/index.js';

const MESSAGES: Record<string, string> = {
  access_denied: 'You declined to share your account with this app, so you are not signed in.',
  login_required: 'You are not signed in at your identity provider. Please sign in.',
  consent_required: 'This app needs your consent before you can sign in.',
  interaction_required: 'Your identity provider needs you to complete sign-in interactively.',
  temporarily_unavailable: 'The sign-in service is temporarily unavailable. Please try again shortly.',
  server_error: 'The sign-in service had a problem. Please try again shortly.',
};

/** A readable sentence for a `login_error` code from the BFF; unknown codes get a generic one. */
export function loginErrorMessage(code: string): string {
  return MESSAGES[code] ?? 'Sign-in did not complete. Please try again.';
}

/**
 * Reads `?login_error=` from the current URL and removes it (so a reload does not show it again).
 * Returns the message to show, or undefined.
 */
export function takeLoginError(location: Location, history: History): string | undefined {
  const url = new URL(location.href);
  const code = url.searchParams.get(LOGIN_ERROR_PARAM);
  if (code === null) return undefined;
  url.searchParams.delete(LOGIN_ERROR_PARAM);
  history.replaceState(history.state, '', `${url.pathname}${url.search}${url.hash}`);
  return loginErrorMessage(code);
}
