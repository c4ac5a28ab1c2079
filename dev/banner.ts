import type { ApiRoute } from '../bff/src/api-routes.js';
import type { Config } from '../bff/src/config.js';

/**
 * A Redis URL fit for a console: the password replaced by `***` (the ACL user name stays, it says
 * which account is in use). Works on Sentinel and Cluster URLs too, whose comma-separated host
 * lists the WHATWG URL parser refuses.
 */
export function redisUrlForDisplay(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@/i, (_, scheme: string, auth: string) => {
    const colon = auth.indexOf(':');
    return colon < 0 ? `${scheme}***@` : `${scheme}${auth.slice(0, colon)}:***@`;
  });
}

/** One line per route: prefix, upstream and what is not the default (token policy, resource, scope, WebSockets). */
function describeRoutes(routes: readonly ApiRoute[]): string[] {
  return routes.map((route) => {
    const notes = [
      route.token === 'user' ? '' : `token=${route.token}`,
      route.target?.resource ? `resource=${route.target.resource}` : '',
      route.target?.scope ? `scope=${route.target.scope}` : '',
      route.websocket ? 'websocket' : '',
    ].filter(Boolean);
    // Upstream URLs carry no credentials (API_ROUTES refuses them), so they are safe to print.
    return `${route.prefix} -> ${route.upstream.href.replace(/\/$/, '')}${notes.length ? ` (${notes.join(', ')})` : ''}`;
  });
}

/** What `npm start` prints: where to open, which provider, routes and store it uses. */
export interface BannerFacts {
  config: Config;
  /** Where the browser goes (the Vite dev server with `--dev`). */
  open: string;
  /** The dev provider's demo users; undefined when the configured provider is the team's own. */
  demoUsers?: string;
  /** Extra lines (profile, demo APIs, metrics, traces), already formatted as `label: value`. */
  extra?: [string, string][];
  /** The .env file that was read, if any. */
  envFile?: string;
}

/** The start banner. Never prints a secret: no client secret, no key, no Redis password. */
export function startBanner({ config, open, demoUsers, extra = [], envFile }: BannerFacts): string {
  const provider = demoUsers
    ? `${config.issuer.href.replace(/\/$/, '')} (the dev provider; set OIDC_ISSUER to use yours)`
    : `${config.issuer.href.replace(/\/$/, '')} as client "${config.clientId}" (yours: no dev provider started)`;
  const [firstRoute = '(none)', ...moreRoutes] = describeRoutes(config.apiRoutes);
  const rows: [string, string][] = [
    ['Open', open],
    ...(demoUsers
      ? [['Demo users', demoUsers] as [string, string]]
      : [['Redirect URI', `${config.publicUrl.origin}/bff/callback (register it at your provider)`] as [string, string]]),
    ['OpenID Provider', provider],
    ['API routes', [firstRoute, ...moreRoutes.map((line) => `${' '.repeat(21)}${line}`)].join('\n')],
    ['Sessions', config.redisUrl ? `Redis at ${redisUrlForDisplay(config.redisUrl)}` : 'in memory (set REDIS_URL to use Redis)'],
    ...extra,
    ...(envFile ? [['Settings from', `${envFile} (variables already in the environment win)`] as [string, string]] : []),
  ];
  const width = 17;
  return `\n  Browser + BFF kit is running.\n\n${rows.map(([label, value]) => `    ${`${label}:`.padEnd(width)}${value}`).join('\n')}\n\n  Press Ctrl+C to stop.\n`;
}
