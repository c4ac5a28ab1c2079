import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { html, sendPage } from './html.js';

/**
 * The dev provider's second factor, for step-up (RFC 9470; docs/step-up.md): a sign-in that asks
 * for `acr_values` containing {@link MFA_ACR} while the user's provider session has only the
 * password gets one more step, a one-time code page. The page shows the demo code itself: this is
 * a stand-in for an authenticator app, so tests and the demo can step up without one.
 */

/** `acr` of a sign-in with password only. */
export const PASSWORD_ACR = 'urn:bff-kit:acr:pwd';
/** `acr` of a sign-in with password and one-time code. */
export const MFA_ACR = 'urn:bff-kit:acr:mfa';
/** The login prompt's reason when only the second factor is missing. */
export const SECOND_FACTOR_REASON = 'second_factor';

/** The interaction policy: the library's, with the login prompt also asked when the code is due. */
export function policyWithSecondFactor() {
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(
    new interactionPolicy.Check(SECOND_FACTOR_REASON, 'a second factor was asked for', (ctx: KoaContextWithOIDC) => {
      const asked = String(ctx.oidc.params?.acr_values ?? '').split(' ');
      const has = ctx.oidc.session?.acr;
      // Only a signed-in user can be asked for a code; without a session the password comes first.
      const due = Boolean(ctx.oidc.session?.accountId) && asked.includes(MFA_ACR) && !(has && asked.includes(has));
      return due ? interactionPolicy.Check.REQUEST_PROMPT : interactionPolicy.Check.NO_NEED_TO_PROMPT;
    }),
  );
  return policy;
}

const codeKey = randomBytes(32);

/** The demo code of an interaction: six digits, derived from its uid (no state to keep). */
export function demoCode(uid: string): string {
  const number = createHmac('sha256', codeKey).update(uid).digest().readUInt32BE(0) % 1_000_000;
  return String(number).padStart(6, '0');
}

/** Whether `typed` is the interaction's code (compared in constant time). */
export function checkCode(uid: string, typed: string): boolean {
  const expected = Buffer.from(demoCode(uid));
  const given = Buffer.from(typed.trim());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The code page: what is asked, the demo code shown, one field. */
export function codePage(ctx: Context, input: { uid: string; userName: string; error?: string }): void {
  const action = `/interaction/${encodeURIComponent(input.uid)}/code`;
  const abort = `/interaction/${encodeURIComponent(input.uid)}/abort`;
  const error = input.error ? html`<p class="error" role="alert" id="code-error">${input.error}</p>` : '';
  sendPage(
    ctx,
    'Confirm it is you',
    html`<p>The application asks for a second factor, <strong>${input.userName}</strong>. Enter the one-time code.</p>
${error}
<p class="hint">Demo code: <strong id="demo-code">${demoCode(input.uid)}</strong></p>
<form method="post" action="${action}" autocomplete="off">
<label for="code">One-time code</label>
<input type="text" id="code" name="code" inputmode="numeric" pattern="[0-9]{6}" required autofocus>
<div class="actions"><button type="submit">Confirm</button></div>
</form>
<form method="post" action="${abort}">
<div class="actions"><button type="submit" class="secondary">Cancel</button></div>
</form>`,
  );
}
