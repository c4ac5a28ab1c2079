import { BFF_PATHS } from '../../../shared/src/index.js';
import type { Deps } from '../deps.js';
import { describeError } from '../errors.js';
import { SESSION_ENDING_EVENTS } from './security-events.js';

const PUSH_METHOD = 'urn:ietf:rfc:8935';
/** How long a registration claim keeps other instances and workers from registering too. */
const CLAIM_MS = 60_000;

interface StreamConfiguration {
  stream_id?: string;
  delivery?: { method?: string; endpoint_url?: string };
}

/**
 * `SSF_STREAM=auto`: makes sure the transmitter pushes to this BFF (SSF 1.0 §8.1.1). When the
 * transmitter's configuration has a `configuration_endpoint`, the BFF lists the streams there and
 * creates one for `PUBLIC_URL/bff/ssf` (push delivery, the session-ending events, SSF_PUSH_TOKEN as
 * the authorization header to send) unless one exists. It authenticates with a client-credentials
 * token from its own provider. Never fatal: a failure is logged and the endpoint keeps working for
 * a stream made by hand (README, Shared Signals). Instances and workers starting together leave it
 * to the first that claims it (a minute, in Redis): two streams would deliver every SET twice.
 * Returns what it did, for the log and tests.
 */
export async function registerStream({
  config,
  transmitter,
  clientTokens,
  startupClaims,
  log,
}: Pick<Deps, 'config' | 'transmitter' | 'clientTokens' | 'startupClaims' | 'log'>): Promise<
  'created' | 'exists' | 'manual' | 'claimed elsewhere' | 'failed'
> {
  const settings = config.ssf!;
  const endpoint = new URL(BFF_PATHS.ssf, config.publicUrl).href;
  try {
    if (!(await startupClaims.claim(`ssf-stream:${endpoint}`, CLAIM_MS))) return 'claimed elsewhere';
    const { configuration_endpoint: streams } = await transmitter!.configuration();
    if (!streams) {
      log.warn(
        { event: 'ssf_stream_manual' },
        'SSF_STREAM=auto, but the transmitter offers no configuration_endpoint: register the stream by hand',
      );
      return 'manual';
    }
    const { accessToken } = await clientTokens.token(undefined);
    const call = (init: RequestInit = {}) =>
      fetch(streams, {
        ...init,
        redirect: 'error',
        signal: AbortSignal.timeout(config.oidcTimeoutMs),
        headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json', ...init.headers },
      });
    const listed = await call();
    if (!listed.ok) throw new Error(`listing streams answered ${listed.status}`);
    const body = (await listed.json()) as StreamConfiguration | StreamConfiguration[];
    const existing = (Array.isArray(body) ? body : [body]).find((stream) => stream?.delivery?.endpoint_url === endpoint);
    if (existing) {
      log.info({ event: 'ssf_stream_exists', streamId: existing.stream_id }, 'the transmitter already pushes to this BFF');
      return 'exists';
    }
    const created = await call({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        aud: settings.audience,
        delivery: { method: PUSH_METHOD, endpoint_url: endpoint, authorization_header: `Bearer ${settings.pushToken}` },
        events_requested: SESSION_ENDING_EVENTS,
        description: 'bff-kit: end BFF sessions on session and account events',
      }),
    });
    if (!created.ok) throw new Error(`creating the stream answered ${created.status}`);
    const stream = (await created.json().catch(() => ({}))) as StreamConfiguration;
    log.info({ event: 'ssf_stream_created', streamId: stream.stream_id }, 'registered the push stream at the transmitter');
    return 'created';
  } catch (error) {
    log.warn({ event: 'ssf_stream_failed', err: describeError(error) }, 'could not register the push stream at the transmitter');
    return 'failed';
  }
}
