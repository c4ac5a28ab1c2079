import { createHash } from 'node:crypto';
import type { Context } from 'koa';

/** Escapes text for HTML element content and double-quoted attribute values. */
function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Marks a string as already-safe HTML, so `html` does not escape it again. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString() {
    return this.value;
  }
}

/** Tagged template that escapes every interpolated value unless it is `SafeHtml` (or an array of them). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((value, index) => {
    const parts = Array.isArray(value) ? value : [value];
    out += parts.map((part) => (part instanceof SafeHtml ? part.value : escapeHtml(part))).join('');
    out += strings[index + 1]!;
  });
  return new SafeHtml(out);
}

// One small stylesheet inline, allowed by its hash: the pages need no external assets and the
// CSP can still forbid every inline script.
const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2129}
main{max-width:26rem;margin:3rem auto;padding:1.5rem 2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.4rem;margin:0 0 1rem}
label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;border:1px solid #8a8f98;border-radius:4px}
.actions{display:flex;gap:.75rem;margin-top:1.25rem}
button{font:inherit;padding:.5rem 1rem;border-radius:4px;border:1px solid #1a56db;background:#1a56db;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#1a56db}
.error{color:#9b1c1c;background:#fde8e8;padding:.5rem .75rem;border-radius:4px}
.hint{color:#555;font-size:.9rem}
dl{margin:0}dt{font-weight:600}dd{margin:0 0 .5rem}
`;
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

/**
 * Answers with a complete page of the dev provider. The security headers forbid scripts,
 * framing and external loads; `form-action` is left out on purpose, because browsers apply it
 * to the redirect chain after a form post, which here ends at the client's redirect_uri.
 */
export function sendPage(ctx: Context, title: string, body: SafeHtml, status = 200): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Security-Policy', `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; base-uri 'none'; frame-ancestors 'none'`);
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.body = html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Dev OpenID Provider</title>
<style>${new SafeHtml(STYLE)}</style>
</head>
<body>
<main>
<h1>${title}</h1>
${body}
<p class="hint">Development OpenID Provider. Not for production use.</p>
</main>
</body>
</html>
`.value;
}
