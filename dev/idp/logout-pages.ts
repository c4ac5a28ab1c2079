import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { alreadySignedOutPage } from './pages.js';

/**
 * Replaces the provider's self-submitting logout page (an inline script that posts the confirm
 * form, sent when nobody is signed in) with a plain one-button form. Runs after the provider,
 * which has by then stored the form's `xsrf` secret in the session.
 */
export function plainLogoutForms(): Middleware {
  return async (ctx, next) => {
    await next();
    const { oidc } = ctx as KoaContextWithOIDC;
    const xsrf = oidc?.session?.state?.secret;
    if (oidc?.route === 'end_session' && ctx.status === 200 && !oidc.session?.accountId && xsrf) {
      alreadySignedOutPage(ctx, { action: oidc.urlFor('end_session_confirm'), xsrf });
    }
  };
}
