import { Router } from '@koa/router';
import type { Context } from 'koa';
import type { Interaction, InteractionResults, Provider } from 'oidc-provider';
import { readFormBody } from './form-body.js';
import { consentPage, errorPage, loginPage } from './pages.js';
import { MFA_ACR, PASSWORD_ACR, SECOND_FACTOR_REASON, checkCode, codePage } from './second-factor.js';
import { checkCredentials, userBySub } from './users.js';

/**
 * The provider's own sign-in and consent pages (devInteractions is off):
 *
 * - `GET  /interaction/:uid`          shows the login or the consent page, whichever is due
 * - `POST /interaction/:uid/login`    fields `username`, `password`
 * - `POST /interaction/:uid/code`     field `code`: the second factor, when a step-up asked for it
 * - `POST /interaction/:uid/confirm`  grants what the client asked for
 * - `POST /interaction/:uid/abort`    ends the request with `access_denied` (Deny / Cancel)
 *
 * Each answer of the provider to a finished step is a 303 back to its authorization endpoint,
 * which then either asks for the next step or redirects to the client.
 */
export function createInteractionRouter(provider: Provider, apiAudience: string): Router {
  const router = new Router({ prefix: '/interaction' });

  /** The interaction behind the cookie, if it is the one named in the URL. */
  async function current(ctx: Context, uid: string | undefined): Promise<Interaction | undefined> {
    let interaction: Interaction;
    try {
      interaction = await provider.interactionDetails(ctx.req, ctx.res);
    } catch {
      errorPage(ctx, { error: 'Sign-in expired', description: 'This sign-in request is unknown or has expired.' });
      return undefined;
    }
    // A stale tab could post for an older request than the one in the cookie; refuse it.
    if (interaction.uid !== uid) {
      errorPage(ctx, { error: 'Sign-in out of date', description: 'This page belongs to an older sign-in request.' });
      return undefined;
    }
    return interaction;
  }

  async function finish(ctx: Context, result: InteractionResults, merge = true) {
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
    // 303 so the browser follows with GET after our POST.
    ctx.status = 303;
    ctx.redirect(returnTo);
  }

  const clientName = (interaction: Interaction) => String(interaction.params.client_id);

  router.get('/:uid', async (ctx) => {
    const interaction = await current(ctx, ctx.params.uid);
    if (!interaction) return;
    const accountId = interaction.session?.accountId;
    if (secondFactorDue(interaction) && accountId) {
      codePage(ctx, { uid: interaction.uid, userName: userBySub(accountId)?.name ?? 'unknown user' });
      return;
    }
    if (interaction.prompt.name === 'login') {
      loginPage(ctx, { uid: interaction.uid, clientName: clientName(interaction) });
      return;
    }
    consentPage(ctx, {
      uid: interaction.uid,
      clientName: clientName(interaction),
      userName: (accountId && userBySub(accountId)?.name) || 'unknown user',
      scopes: String(interaction.params.scope ?? '')
        .split(' ')
        .filter(Boolean),
      audience: apiAudience,
    });
  });

  router.post('/:uid/login', async (ctx) => {
    const interaction = await current(ctx, ctx.params.uid);
    if (!interaction) return;
    if (interaction.prompt.name !== 'login') {
      errorPage(ctx, { error: 'Unexpected sign-in step', description: 'You are already signed in for this request.' });
      return;
    }
    const form = await readFormBody(ctx);
    const username = form?.get('username') ?? '';
    const user = checkCredentials(username, form?.get('password') ?? '');
    if (!user) {
      loginPage(ctx, { uid: interaction.uid, clientName: clientName(interaction), username, error: 'Wrong username or password.' });
      return;
    }
    await finish(ctx, { login: { accountId: user.sub, acr: PASSWORD_ACR, amr: ['pwd'] } });
  });

  router.post('/:uid/code', async (ctx) => {
    const interaction = await current(ctx, ctx.params.uid);
    if (!interaction) return;
    const accountId = interaction.session?.accountId;
    if (!secondFactorDue(interaction) || !accountId) {
      errorPage(ctx, { error: 'Unexpected sign-in step', description: 'No one-time code was asked for.' });
      return;
    }
    const form = await readFormBody(ctx);
    if (!checkCode(interaction.uid, form?.get('code') ?? '')) {
      codePage(ctx, { uid: interaction.uid, userName: userBySub(accountId)?.name ?? 'unknown user', error: 'Wrong code.' });
      return;
    }
    await finish(ctx, { login: { accountId, acr: MFA_ACR, amr: ['pwd', 'otp'] } });
  });

  router.post('/:uid/confirm', async (ctx) => {
    const interaction = await current(ctx, ctx.params.uid);
    if (!interaction) return;
    const accountId = interaction.session?.accountId;
    if (interaction.prompt.name !== 'consent' || !accountId) {
      errorPage(ctx, { error: 'Unexpected sign-in step', description: 'Sign in before allowing access.' });
      return;
    }
    // Extend the existing grant of this session and client, or start one; then add exactly
    // what the consent check found missing (OIDC scopes, claims, and API scopes per resource).
    const existing = interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined;
    const grant = existing ?? new provider.Grant({ accountId, clientId: String(interaction.params.client_id) });
    const { details } = interaction.prompt;
    if (details.missingOIDCScope?.length) grant.addOIDCScope(details.missingOIDCScope.join(' '));
    if (details.missingOIDCClaims?.length) grant.addOIDCClaims(details.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
      grant.addResourceScope(resource, scopes.join(' '));
    }
    const grantId = await grant.save();
    await finish(ctx, { consent: existing ? {} : { grantId } });
  });

  router.post('/:uid/abort', async (ctx) => {
    const interaction = await current(ctx, ctx.params.uid);
    if (!interaction) return;
    // No merge: an error result replaces whatever earlier steps recorded.
    await finish(ctx, { error: 'access_denied', error_description: 'The user denied the request.' }, false);
  });

  return router;
}

/** Only the second factor is missing (a password sign-in comes first when it is due too). */
const secondFactorDue = (interaction: Interaction) =>
  interaction.prompt.name === 'login' &&
  interaction.prompt.reasons.length > 0 &&
  interaction.prompt.reasons.every((r) => r === SECOND_FACTOR_REASON);
