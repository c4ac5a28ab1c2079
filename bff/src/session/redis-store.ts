import { Redis, Cluster, type ChainableCommander, type RedisOptions } from 'ioredis';
import { subscribeOnClusterNode } from './cluster-subscription.js';
import { StoreUnavailableError, type KeyValueStore } from './kv.js';

// Deletes the lock only if we still own it: a holder whose lock expired must not free another's.
const DEL_IF_EQUALS = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
// Extends the lock only if we still own it (a long refresh keeps its lock; a lost lock stays lost).
const EXTEND_IF_EQUALS = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
// Compare-and-set of a whole value, keeping the TTL.
const REPLACE_IF_EQUALS =
  "if redis.call('GET', KEYS[1]) == ARGV[2] then redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL') return 1 else return 0 end";

// GET with the remaining TTL, atomically and in one round trip; nil when the key is absent.
// The expiry from Redis's own clock (TIME + PTTL at the same instant), so it does not drift with ours.
const GET_WITH_EXPIRY =
  "local v = redis.call('GET', KEYS[1]) if not v then return nil end local ttl = redis.call('PTTL', KEYS[1]) if ttl < 0 then return {v, -1} end local t = redis.call('TIME') return {v, tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + ttl}";

/**
 * Connection options shared by every mode. Requests must fail fast while Redis is down (503,
 * then recovery without restart), so commands are not queued offline and never retried for long.
 */
const FAIL_FAST: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 2000,
  connectTimeout: 2000,
  retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  lazyConnect: false,
};

/** `user:password`, `:password` or `password` from a URL's userinfo (percent-decoded). */
function credentials(auth: string | undefined): { username?: string; password?: string } {
  if (!auth) return {};
  const colon = auth.indexOf(':');
  if (colon < 0) return { password: decodeURIComponent(auth) };
  const username = decodeURIComponent(auth.slice(0, colon));
  return { ...(username ? { username } : {}), password: decodeURIComponent(auth.slice(colon + 1)) };
}

/**
 * Opens Redis from a URL: `redis://` / `rediss://` (standalone), `redis+cluster://h1:p1,h2:p2`
 * (Cluster seed nodes) or `redis+sentinel://h1:p1,h2:p2/<master-name>` (Sentinel). `rediss+`
 * speaks TLS to every node (and, with Sentinel, to the Sentinels too), verified against Node's CA
 * store (add a private CA with NODE_EXTRA_CA_CERTS). `user:password@` is the ACL user of the data
 * nodes, as for `rediss://`; Sentinels are asked without credentials.
 */
export function connectRedis(url: string): Redis | Cluster {
  const match = /^(rediss?)\+(cluster|sentinel):\/\/(?:([^@/]*)@)?([^/?#]+)(?:\/([^?#]*))?/.exec(url);
  if (!match) return new Redis(url, FAIL_FAST);
  const [, scheme, mode, auth, hostList, name] = match;
  const tls = scheme === 'rediss' ? {} : undefined;
  const nodes = hostList!.split(',').map((hostPort) => {
    const [host, port] = hostPort.split(':');
    return { host: host!, port: Number(port ?? (mode === 'sentinel' ? 26379 : 6379)) };
  });
  const redisOptions: RedisOptions = { ...FAIL_FAST, ...credentials(auth), ...(tls ? { tls } : {}) };
  if (mode === 'cluster') {
    return new Cluster(nodes, {
      redisOptions,
      enableOfflineQueue: false,
      clusterRetryStrategy: (n) => Math.min(n * 100, 1000),
      // Over TLS, keep host names as given: the certificate names them, not their addresses.
      ...(tls ? { dnsLookup: (address: string, callback: (error: null, address: string) => void) => callback(null, address) } : {}),
    });
  }
  return new Redis({
    ...redisOptions,
    sentinels: nodes,
    name: name || 'mymaster',
    ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
  });
}

const storeUnavailable = (error: unknown): never => {
  throw new StoreUnavailableError(error);
};

/** {@link KeyValueStore} on ioredis. Every failure becomes {@link StoreUnavailableError}. */
export class RedisStore implements KeyValueStore {
  constructor(readonly redis: Redis | Cluster) {
    // Without a listener ioredis reports connection errors as unhandled; readiness shows them instead.
    redis.on('error', () => {});
  }

  // Not an async function: the per-request GETEX passes through here, and one promise is enough.
  #run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return command().catch(storeUnavailable);
    } catch (error) {
      return Promise.reject(new StoreUnavailableError(error));
    }
  }

  /** Commands sent in one write (one round trip, not atomic): their results, or the first failure as an outage. */
  async #pipeline(build: (batch: ChainableCommander) => ChainableCommander): Promise<unknown[]> {
    const results = (await this.#run(() => build(this.redis.pipeline()).exec())) ?? [];
    const failed = results.find(([error]) => error)?.[0];
    if (failed) throw new StoreUnavailableError(failed);
    return results.map(([, result]) => result);
  }

  getAndTouch(key: string, ttlMs: number) {
    return this.#run(() => this.redis.getex(key, 'PX', ttlMs));
  }

  get(key: string) {
    return this.#run(() => this.redis.get(key));
  }

  async getWithExpiry(key: string) {
    const reply = (await this.#run(() => this.redis.eval(GET_WITH_EXPIRY, 1, key))) as [string, number] | null;
    return reply ? { value: reply[0], expiresAtMs: reply[1] < 0 ? null : reply[1] } : null;
  }

  async set(key: string, value: string, ttlMs: number, mode?: 'ifExists' | 'ifAbsent') {
    const reply = await this.#run(() =>
      mode === 'ifExists'
        ? this.redis.set(key, value, 'PX', ttlMs, 'XX')
        : mode === 'ifAbsent'
          ? this.redis.set(key, value, 'PX', ttlMs, 'NX')
          : this.redis.set(key, value, 'PX', ttlMs),
    );
    return reply === 'OK';
  }

  async replace(key: string, value: string, expected?: string) {
    if (expected !== undefined) return (await this.#run(() => this.redis.eval(REPLACE_IF_EQUALS, 1, key, value, expected))) === 1;
    return (await this.#run(() => this.redis.set(key, value, 'KEEPTTL', 'XX'))) === 'OK';
  }

  take(key: string) {
    return this.#run(() => this.redis.getdel(key));
  }

  async del(keys: string[]) {
    // One DEL per key: on a cluster the keys of different sessions live in different slots.
    await this.#run(() => Promise.all(keys.map((key) => this.redis.del(key))));
  }

  async delIfEquals(key: string, value: string) {
    return (await this.#run(() => this.redis.eval(DEL_IF_EQUALS, 1, key, value))) === 1;
  }

  async countInWindow(key: string, windowMs: number) {
    // SET NX PX first: the key never exists without its TTL, whatever happens between the two.
    const [, count] = await this.#pipeline((batch) => batch.set(key, '0', 'PX', windowMs, 'NX').incr(key));
    return count as number;
  }

  async addToSet(key: string, member: string, ttlMs: number) {
    // Two commands in one write and one round trip (a script that raised the TTL only when higher
    // cost EVAL + SADD + PTTL): callers pass a TTL no member outlives, so setting it outright is safe.
    await this.#pipeline((batch) => batch.sadd(key, member).pexpire(key, ttlMs));
  }

  async removeFromSet(key: string, member: string) {
    await this.#run(() => this.redis.srem(key, member));
  }

  async extendIfEquals(key: string, value: string, ttlMs: number) {
    return (await this.#run(() => this.redis.eval(EXTEND_IF_EQUALS, 1, key, value, ttlMs))) === 1;
  }

  members(key: string) {
    return this.#run(() => this.redis.smembers(key));
  }

  /**
   * Resolves once the first connection is up, or after `timeoutMs` regardless: commands are not
   * queued while disconnected, so starting to serve before Redis answers would turn the very first
   * requests into 503s. A Redis that stays down does not stop the start (readiness reports it).
   */
  async ready(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        await this.ping();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  async publish(channel: string, message: string) {
    await this.#run(() => this.redis.publish(channel, message));
  }

  async subscribe(channel: string, onMessage: (message: string) => void, onDown: () => void) {
    // On a Cluster, a connection to one node that reports every reconnect (see there).
    if (this.redis instanceof Cluster) return subscribeOnClusterNode(this.redis, channel, onMessage, onDown);
    // A connection of its own: a subscribed connection can do nothing else. It subscribes on every
    // 'ready' (first connect and each reconnect) rather than queueing commands while offline.
    const subscriber = this.redis.duplicate({ autoResubscribe: false });
    subscriber.on('error', () => {});
    subscriber.on('message', (from: string, message: string) => {
      if (from === channel) onMessage(message);
    });
    subscriber.on('ready', () => void subscriber.subscribe(channel).catch(onDown));
    subscriber.on('close', onDown);
    return async () => {
      await subscriber.quit().catch(() => subscriber.disconnect());
    };
  }

  /**
   * Answers when Redis does. On a Cluster every master must answer: a key's slot may live on any
   * of them, and a master whose connection is still being made (TLS, right after start) fails
   * commands at once (no offline queue), so one answering node is not "ready". And the Cluster
   * itself must be ready: until its own check (CLUSTER INFO) passed, it refuses every keyed command
   * ("Cluster isn't ready") although its masters answer PING, and a failed check drops and remakes
   * every connection; that window was the 503 at sign-in right after /readyz said ready.
   */
  async ping() {
    await this.#run(async () => {
      if (!(this.redis instanceof Cluster)) return void (await this.redis.ping());
      if (this.redis.status !== 'ready') throw new Error(`the Redis Cluster is not ready yet (${this.redis.status})`);
      const masters = this.redis.nodes('master');
      if (masters.length === 0) throw new Error('no Redis Cluster master known yet');
      await Promise.all(masters.map((master) => master.ping()));
    });
  }

  async close() {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
