import type { IdempotencyRecord, IdempotencyStore, JsonValue } from './types.ts';

/** Options of `memoryStore`. */
export interface MemoryStoreOptions {
  /** Every this many claims, up to twice as many records are checked and the expired ones dropped. @default 1000 */
  readonly sweepEvery?: number;
}

/** A store in this process's memory, with a way to look inside for tests. */
export interface MemoryStore extends IdempotencyStore {
  /** Records held, expired ones not yet swept included. */
  readonly size: number;
  /** Forgets every record. */
  clear(): void;
}

interface Entry {
  status: 'in_progress' | 'completed';
  token: string;
  hash: string | undefined;
  /** JSON text, so callers never share objects with the store. */
  result: string | undefined;
  expiresAt: number;
}

/**
 * A store in memory: for tests, the mock driver and single-process workers. Every operation is synchronous
 * inside one tick, so claims are atomic within the process; records do not survive a restart and are not
 * shared between processes or Lambda sandboxes.
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const entries = new Map<string, Entry>();
  const sweepEvery = options.sweepEvery ?? 1000;
  let claims = 0;
  // Fencing tokens only need to differ between the claims of this store: a counter. (A `randomUUID()` is
  // held by V8 as a tree of some twenty string pieces, 488 bytes a record, most of this store's memory.)
  let tokens = 0;

  const live = (key: string, now: number): Entry | undefined => {
    const entry = entries.get(key);
    return entry && entry.expiresAt > now ? entry : undefined;
  };
  const toRecord = (key: string, entry: Entry): IdempotencyRecord => ({
    key,
    status: entry.status,
    hash: entry.hash,
    result: entry.result === undefined ? undefined : (JSON.parse(entry.result) as JsonValue),
    expiresAt: entry.expiresAt,
  });
  // Sweeps a bounded slice per call, resuming where the last one stopped (Map iterators stay valid as
  // entries come and go): amortised constant work per claim, where a full scan grew with the store.
  let cursor: MapIterator<[string, Entry]> | undefined;
  const sweep = (now: number) => {
    for (let checked = 0; checked < sweepEvery * 2; checked++) {
      cursor ??= entries.entries();
      const next = cursor.next();
      if (next.done) {
        cursor = undefined;
        return;
      }
      const [key, entry] = next.value;
      if (entry.expiresAt <= now) entries.delete(key);
    }
  };

  return {
    name: 'memory',
    get size() {
      return entries.size;
    },
    clear: () => {
      entries.clear();
      cursor = undefined;
    },
    async claim(key, { now, lockExpiresAt, hash }) {
      if (++claims % sweepEvery === 0) sweep(now);
      const entry = live(key, now);
      if (entry) return { status: entry.status, record: toRecord(key, entry) };
      const token = `m${(++tokens).toString(36)}`;
      entries.set(key, { status: 'in_progress', token, hash, result: undefined, expiresAt: lockExpiresAt });
      return { status: 'acquired', token };
    },
    async complete({ key, token }, { expiresAt, result }) {
      const entry = entries.get(key);
      if (!entry || entry.token !== token) return false;
      entry.status = 'completed';
      entry.expiresAt = expiresAt;
      if (result !== undefined) entry.result = JSON.stringify(result);
      return true;
    },
    async release({ key, token }) {
      const entry = entries.get(key);
      if (!entry || entry.token !== token || entry.status !== 'in_progress') return false;
      entries.delete(key);
      return true;
    },
    async get(key, { now }) {
      const entry = live(key, now);
      return entry ? toRecord(key, entry) : undefined;
    },
  };
}
