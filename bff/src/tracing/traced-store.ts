import type { KeyValueStore } from '../session/kv.js';
import type { Tracing } from './tracing.js';

/**
 * A {@link KeyValueStore} whose commands become child spans of the request that sends them,
 * named by the Redis command (`redis GETEX`), with `db.system.name` and `db.operation.name` only:
 * keys name sessions and locks, values hold sealed tokens, so neither goes into a span. Used only
 * when tracing is on; without it the BFF holds the plain store, not a wrapper with a switch.
 * Subscriptions and start-up checks are not wrapped (they belong to no request).
 */
export function tracedStore(store: KeyValueStore, tracing: Tracing): KeyValueStore {
  /** The store's own method, run in a span named after the command it sends. */
  const span = <A extends unknown[], R>(command: string, method: (...args: A) => Promise<R>) => {
    const attributes = { 'db.system.name': 'redis', 'db.operation.name': command };
    const plain = method.bind(store);
    return (...args: A) => tracing.step(`redis ${command}`, () => plain(...args), attributes);
  };
  return {
    getAndTouch: span('GETEX', store.getAndTouch),
    get: span('GET', store.get),
    getWithExpiry: span('EVAL', store.getWithExpiry),
    set: span('SET', store.set),
    replace: span('SET', store.replace),
    take: span('GETDEL', store.take),
    del: span('DEL', store.del),
    delIfEquals: span('EVAL', store.delIfEquals),
    countInWindow: span('INCR', store.countInWindow),
    addToSet: span('SADD', store.addToSet),
    removeFromSet: span('SREM', store.removeFromSet),
    members: span('SMEMBERS', store.members),
    extendIfEquals: span('EVAL', store.extendIfEquals),
    publish: span('PUBLISH', store.publish),
    ping: span('PING', store.ping),
    subscribe: store.subscribe.bind(store),
    ready: store.ready.bind(store),
    close: store.close.bind(store),
  };
}
