import type { DeliveryProblem, Envelope } from './types.ts';

/** The message attribute that carries the job name beside the envelope. */
export const JOB_NAME_ATTRIBUTE = 'glasswork.job';

/** What `encodeEnvelope` needs; the payload arrives already as JSON (or undefined for none). */
export interface EnvelopeFields {
  readonly id: string;
  readonly name: string;
  readonly payloadJson: string | undefined;
  readonly enqueuedAt: string;
  readonly firstEnqueuedAt: string;
  readonly priorAttempts: number;
  readonly meta: Readonly<Record<string, string>>;
  /** ISO time the message becomes available, when enqueued with a delay. */
  readonly notBefore?: string | undefined;
}

// SQS rejects U+FFFE and U+FFFF in a body; JSON.stringify leaves them raw, so escape them.
const SQS_UNSAFE = /[\uFFFE\uFFFF]/g;
const escapeUnsafe = (c: string) => `\\u${c.charCodeAt(0).toString(16)}`;

/** Encodes a version 1 envelope without stringifying the payload twice. */
export function encodeEnvelope(fields: EnvelopeFields): string {
  const json =
    `{"v":1,"id":${JSON.stringify(fields.id)},"name":${JSON.stringify(fields.name)}` +
    (fields.payloadJson === undefined ? '' : `,"payload":${fields.payloadJson}`) +
    `,"enqueuedAt":"${fields.enqueuedAt}","firstEnqueuedAt":"${fields.firstEnqueuedAt}"` +
    `,"priorAttempts":${fields.priorAttempts},"meta":${JSON.stringify(fields.meta)}` +
    (fields.notBefore === undefined ? '}' : `,"notBefore":"${fields.notBefore}"}`);
  return SQS_UNSAFE.test(json) ? json.replace(SQS_UNSAFE, escapeUnsafe) : json;
}

export type DecodeResult =
  | { readonly ok: true; readonly envelope: Envelope }
  | { readonly ok: false; readonly problem: DeliveryProblem };

const malformed = (reason: string): DecodeResult => ({ ok: false, problem: { kind: 'malformed', reason } });

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// What our producer writes (Date#toISOString); anything else goes through the slower Date.parse.
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

function isTime(value: unknown): value is string {
  return typeof value === 'string' && (ISO_UTC.test(value) || !Number.isNaN(Date.parse(value)));
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(value)) return out;
  for (const key of Object.keys(value)) {
    const item = value[key];
    if (typeof item === 'string' && key !== '__proto__') out[key] = item;
  }
  return out;
}

/**
 * Decodes a message body. Bodies that no Glasswork producer would write are `malformed`; a
 * well-formed envelope of a version this code does not know is `incompatible` (a newer producer may be
 * rolling out). Glasswork 1 bodies (`{ jobName, payload, jobId, enqueuedAt, metadata }`) are accepted.
 */
export function decodeEnvelope(body: string): DecodeResult {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return malformed('the body is not JSON');
  }
  if (!isRecord(raw)) return malformed('the body is JSON but not an object');
  if ('v' in raw) {
    if (raw.v !== 1) {
      return {
        ok: false,
        problem: { kind: 'incompatible', reason: `unknown envelope version ${JSON.stringify(raw.v)}` },
      };
    }
    if (typeof raw.name !== 'string' || raw.name === '') return malformed('the envelope has no job name');
    if (typeof raw.id !== 'string' || raw.id === '') return malformed('the envelope has no job id');
    if (!isTime(raw.enqueuedAt)) return malformed('the envelope has no valid enqueuedAt');
    const prior = raw.priorAttempts ?? 0;
    if (typeof prior !== 'number' || !Number.isInteger(prior) || prior < 0) {
      return malformed('the envelope has an invalid priorAttempts');
    }
    return {
      ok: true,
      envelope: {
        v: 1,
        id: raw.id,
        name: raw.name,
        payload: raw.payload,
        enqueuedAt: raw.enqueuedAt,
        firstEnqueuedAt: isTime(raw.firstEnqueuedAt) ? raw.firstEnqueuedAt : raw.enqueuedAt,
        priorAttempts: prior,
        meta: stringMap(raw.meta),
        ...(isTime(raw.notBefore) ? { notBefore: raw.notBefore } : {}),
      },
    };
  }
  if ('jobName' in raw) return decodeVersion1(raw);
  return malformed('the body is not a Glasswork envelope');
}

/** Glasswork 1 wrote `{ jobName, payload, jobId, enqueuedAt, metadata }`, with `enqueuedAt` in ISO or epoch ms. */
function decodeVersion1(raw: Record<string, unknown>): DecodeResult {
  if (typeof raw.jobName !== 'string' || raw.jobName === '') return malformed('the body has no job name');
  if (typeof raw.jobId !== 'string' || raw.jobId === '') return malformed('the body has no job id');
  const at = typeof raw.enqueuedAt === 'number' ? new Date(raw.enqueuedAt) : new Date(String(raw.enqueuedAt));
  if (Number.isNaN(at.getTime())) return malformed('the body has no valid enqueuedAt');
  const enqueuedAt = at.toISOString();
  return {
    ok: true,
    envelope: {
      v: 1,
      id: raw.jobId,
      name: raw.jobName,
      payload: raw.payload,
      enqueuedAt,
      firstEnqueuedAt: enqueuedAt,
      priorAttempts: 0,
      meta: stringMap(raw.metadata),
    },
  };
}

/** UTF-8 bytes of a string, as SQS counts them. */
export function utf8Bytes(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

/** Bytes SQS counts for a message: the body plus, per attribute, its name, data type and value. */
export function messageBytes(body: string, attributes: Readonly<Record<string, string>>): number {
  let bytes = utf8Bytes(body);
  for (const name of Object.keys(attributes)) {
    bytes += utf8Bytes(name) + 'String'.length + utf8Bytes(attributes[name] as string);
  }
  return bytes;
}
