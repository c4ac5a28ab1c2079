import type { Adapter, AdapterPayload } from 'oidc-provider';

interface StoredRecord {
  payload: AdapterPayload;
  /** Epoch milliseconds; undefined means no expiry. */
  expiresAt: number | undefined;
}

/** The adapter factory oidc-provider takes, with what the demo needs of the store. */
export type MemoryAdapter = ((model: string) => Adapter) & {
  // demo:start
  sessionsOf?: (accountId: string) => Array<{ id: string; payload: AdapterPayload }>;
  destroySession?: (id: string) => void;
  // demo:end
};

/** How many writes between sweeps of expired records. */
const SWEEP_EVERY = 500;

/**
 * An in-memory store for one provider instance, as an oidc-provider adapter factory.
 *
 * Why not the library's built-in one: it warns on every start, and it is a 1000-entry LRU, so
 * a busy test or benchmark run could silently evict live sessions or refresh tokens. This one
 * has no size cap; expired records go on read and in a periodic sweep.
 */
export function createMemoryAdapter(): MemoryAdapter {
  const records = new Map<string, StoredRecord>();
  /** grantId -> keys of the tokens issued under it, for revokeByGrantId. */
  const grants = new Map<string, Set<string>>();
  /** Session uid -> session id, for findByUid. */
  const sessionUids = new Map<string, string>();
  /** Device flow user code -> id, for findByUserCode. */
  const userCodes = new Map<string, string>();
  let writes = 0;

  function unindex(key: string, id: string, payload: AdapterPayload) {
    if (payload.grantId) {
      const members = grants.get(payload.grantId);
      members?.delete(key);
      if (members?.size === 0) grants.delete(payload.grantId);
    }
    if (key.startsWith('Session:') && payload.uid && sessionUids.get(payload.uid) === id) sessionUids.delete(payload.uid);
    if (payload.userCode && userCodes.get(payload.userCode) === id) userCodes.delete(payload.userCode);
  }

  function remove(key: string, id: string) {
    const record = records.get(key);
    if (!record) return;
    records.delete(key);
    unindex(key, id, record.payload);
  }

  function read(key: string, id: string): AdapterPayload | undefined {
    const record = records.get(key);
    if (!record) return undefined;
    if (record.expiresAt !== undefined && record.expiresAt <= Date.now()) {
      remove(key, id);
      return undefined;
    }
    return record.payload;
  }

  function sweep() {
    const now = Date.now();
    for (const [key, record] of records) {
      if (record.expiresAt !== undefined && record.expiresAt <= now) remove(key, key.slice(key.indexOf(':') + 1));
    }
  }

  const factory: MemoryAdapter = (model: string): Adapter => {
    const keyOf = (id: string) => `${model}:${id}`;
    return {
      async upsert(id, payload, expiresIn) {
        const key = keyOf(id);
        remove(key, id);
        const stored = { ...payload };
        records.set(key, { payload: stored, expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined });
        if (stored.grantId) {
          const members = grants.get(stored.grantId) ?? new Set<string>();
          members.add(key);
          grants.set(stored.grantId, members);
        }
        if (model === 'Session' && stored.uid) sessionUids.set(stored.uid, id);
        if (stored.userCode) userCodes.set(stored.userCode, id);
        if (++writes % SWEEP_EVERY === 0) sweep();
      },
      async find(id) {
        return read(keyOf(id), id);
      },
      async findByUid(uid) {
        const id = sessionUids.get(uid);
        return id === undefined ? undefined : read(keyOf(id), id);
      },
      async findByUserCode(userCode) {
        const id = userCodes.get(userCode);
        return id === undefined ? undefined : read(keyOf(id), id);
      },
      async consume(id) {
        const payload = read(keyOf(id), id);
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id) {
        remove(keyOf(id), id);
      },
      async revokeByGrantId(grantId) {
        // The provider calls this once per token model, so only this model's tokens go.
        const prefix = `${model}:`;
        for (const key of [...(grants.get(grantId) ?? [])]) {
          if (key.startsWith(prefix)) remove(key, key.slice(prefix.length));
        }
      },
    };
  };
  // demo:start
  /** The live provider sessions of an account, with their ids (the demo's "end my other sessions at the provider"). */
  const sessionsOf = (accountId: string) =>
    [...records.keys()]
      .filter((key) => key.startsWith('Session:'))
      .map((key) => ({ id: key.slice('Session:'.length), payload: read(key, key.slice('Session:'.length)) }))
      .filter((entry): entry is { id: string; payload: AdapterPayload } => entry.payload?.accountId === accountId);
  const destroySession = (id: string) => remove(`Session:${id}`, id);
  Object.assign(factory, { sessionsOf, destroySession });
  // demo:end
  return factory;
}
