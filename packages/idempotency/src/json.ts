import * as crypto from 'node:crypto';
import type { JsonValue } from './types.ts';

/**
 * SHA-256 of the value's JSON with object keys sorted, so `{ a, b }` and `{ b, a }` hash alike. The plugin
 * hashes the envelope's payload (the producer's input after its JSON round trip), not the schema's output:
 * a new default in the schema must not turn every in-flight duplicate into a mismatch.
 */
export function hashPayload(value: unknown): string {
  return sha256(canonicalJson(value));
}

// `crypto.hash` (Node 21.7+) hashes without a `Hash` object. Each of those holds a native handle that only
// a full garbage collection frees, so one per delivery filled the old generation and cost about 40% of a
// delivery's time in collections.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;
const sha256 = oneShot
  ? (text: string) => oneShot('sha256', text, 'hex')
  : (text: string) => crypto.createHash('sha256').update(text).digest('hex');

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The JSON form of a result, as a store keeps it: what a duplicate gets back. Undefined for `undefined`;
 * throws (a TypeError) for what JSON cannot hold, such as a BigInt or a cycle.
 */
export function toJson(value: unknown): JsonValue | undefined {
  if (value === undefined) return undefined;
  const text = JSON.stringify(value);
  return text === undefined ? undefined : (JSON.parse(text) as JsonValue);
}
