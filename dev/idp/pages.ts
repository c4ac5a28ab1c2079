import type { Context } from 'koa';
import { html, sendPage } from './html.js';

/** Paths of the interaction forms, relative to the issuer. */
const interactionPaths = (uid: string) => ({
  page: `/interaction/${encodeURIComponent(uid)}`,
  login: `/interaction/${encodeURIComponent(uid)}/login`,
  confirm: `/interaction/${encodeURIComponent(uid)}/confirm`,
  abort: `/interaction/${encodeURIComponent(uid)}/abort`,
});

/**
 * The sign-in form. After a failed attempt it is shown again (200, like any re-shown form) with
 * `error` above it and the username kept.
 */
export function loginPage(ctx: Context, input: { uid: string; clientName: string; username?: string; error?: string }): void {
  const paths = interactionPaths(input.uid);
  const error = input.error ? html`<p class="error" role="alert" id="login-error">${input.error}</p>` : '';
  sendPage(
    ctx,
    'Sign in',
    html`<p>Sign in to continue to <strong>${input.clientName}</strong>.</p>
${error}
<form method="post" action="${paths.login}" autocomplete="off">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="${input.username ?? ''}" required autofocus autocapitalize="none" spellcheck="false">
<label for="password">Password</label>
<input type="password" id="password" name="password" required>
<div class="actions"><button type="submit">Sign in</button></div>
</form>
<form method="post" action="${paths.abort}">
<div class="actions"><button type="submit" class="secondary">Cancel</button></div>
</form>
<p class="hint">Demo accounts: alice / alice-password-1, bob / bob-password-1.</p>`,
  );
}

/** The consent form: what the client asks for, with Allow and Deny. */
export function consentPage(
  ctx: Context,
  input: { uid: string; clientName: string; userName: string; scopes: string[]; audience?: string },
): void {
  const paths = interactionPaths(input.uid);
  const scopes = input.scopes.map((scope) => html`<li><code>${scope}</code></li>`);
  const audience = input.audience ? html`<dt>API</dt><dd><code>${input.audience}</code></dd>` : '';
  sendPage(
    ctx,
    'Allow access?',
    html`<p><strong>${input.clientName}</strong> asks to access your account, <strong>${input.userName}</strong>.</p>
<dl>
<dt>Requested scopes</dt><dd><ul>${scopes}</ul></dd>
${audience}
</dl>
<div class="actions">
<form method="post" action="${paths.confirm}"><button type="submit">Allow</button></form>
<form method="post" action="${paths.abort}"><button type="submit" class="secondary">Deny</button></form>
</div>`,
  );
}

/** The RP-initiated logout question, posting to the provider's end_session confirm endpoint. */
export function logoutPage(ctx: Context, input: { action: string; xsrf: string; userName?: string }): void {
  const who = input.userName ? html` as <strong>${input.userName}</strong>` : '';
  sendPage(
    ctx,
    'Sign out?',
    html`<p>You are signed in to the Dev OpenID Provider${who}. Do you want to sign out?</p>
<form method="post" action="${input.action}">
<input type="hidden" name="xsrf" value="${input.xsrf}">
<div class="actions">
<button type="submit" name="logout" value="yes">Yes, sign me out</button>
<button type="submit" class="secondary">No, stay signed in</button>
</div>
</form>`,
  );
}

/**
 * Logout when the provider has no signed-in session (already signed out, or cookie gone). The
 * library would send a self-submitting page with an inline script; this plain form needs one
 * click and no script.
 */
export function alreadySignedOutPage(ctx: Context, input: { action: string; xsrf: string }): void {
  sendPage(
    ctx,
    'Signed out',
    html`<p>You are not signed in to the Dev OpenID Provider.</p>
<form method="post" action="${input.action}">
<input type="hidden" name="xsrf" value="${input.xsrf}">
<input type="hidden" name="logout" value="yes">
<div class="actions"><button type="submit" autofocus>Continue</button></div>
</form>`,
  );
}

/** Shown after a logout without a (valid) post_logout_redirect_uri. */
export function signedOutPage(ctx: Context): void {
  sendPage(ctx, 'Signed out', html`<p>You have been signed out of the Dev OpenID Provider. You can close this page.</p>`);
}

/** Error page for the provider's own errors and for broken interactions. */
export function errorPage(ctx: Context, input: { error: string; description?: string }, status = 400): void {
  const description = input.description ? html`<p>${input.description}</p>` : '';
  sendPage(
    ctx,
    'Something went wrong',
    html`<p class="error" role="alert"><code>${input.error}</code></p>
${description}
<p>Go back to the application and start the sign-in again.</p>`,
    status,
  );
}
