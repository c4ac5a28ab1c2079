/**
 * Where to send the browser after sign-in. Only a same-origin path is accepted: absolute URLs,
 * `//host`, backslashes, `javascript:` and their encoded or whitespace-obfuscated forms all
 * resolve to another origin under the WHATWG URL parser (the one browsers use) and fall back to `/`.
 */
export function safeReturnTo(value: unknown, publicUrl: URL): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return '/';
  // Only path-absolute input; reject backslashes and control characters before the parser "fixes" them.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what we refuse
  if (!value.startsWith('/') || /[\\\u0000-\u001f\u007f]/.test(value)) return '/';
  let resolved: URL;
  try {
    resolved = new URL(value, publicUrl);
  } catch {
    return '/';
  }
  if (resolved.origin !== publicUrl.origin) return '/';
  const path = `${resolved.pathname}${resolved.search}${resolved.hash}`;
  // A path starting with `//` or `/\` would be protocol-relative in a Location header.
  return /^\/[/\\]/.test(path) ? '/' : path;
}
