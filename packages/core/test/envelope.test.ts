import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope, messageBytes } from '../src/index.ts';

const fields = {
  id: 'j1',
  name: 'send-email',
  payloadJson: '{"userId":"u1"}',
  enqueuedAt: '2026-11-28T10:00:00.000Z',
  firstEnqueuedAt: '2026-11-27T10:00:00.000Z',
  priorAttempts: 2,
  meta: { traceparent: '00-abc-def-01' },
};

describe('envelope', () => {
  it('round-trips a v1 envelope', () => {
    const body = encodeEnvelope(fields);
    expect(JSON.parse(body)).toEqual({
      v: 1,
      id: 'j1',
      name: 'send-email',
      payload: { userId: 'u1' },
      enqueuedAt: fields.enqueuedAt,
      firstEnqueuedAt: fields.firstEnqueuedAt,
      priorAttempts: 2,
      meta: fields.meta,
    });
    expect(decodeEnvelope(body)).toEqual({ ok: true, envelope: JSON.parse(body) });
  });

  it('decodes Glasswork 1 bodies so in-flight messages drain after an upgrade', () => {
    const decoded = decodeEnvelope(
      JSON.stringify({
        jobName: 'send-email',
        jobId: 'old-1',
        payload: { userId: 'u' },
        enqueuedAt: 1_764_000_000_000,
        metadata: { traceparent: 'x', count: 3 },
      }),
    );
    expect(decoded).toEqual({
      ok: true,
      envelope: {
        v: 1,
        id: 'old-1',
        name: 'send-email',
        payload: { userId: 'u' },
        enqueuedAt: new Date(1_764_000_000_000).toISOString(),
        firstEnqueuedAt: new Date(1_764_000_000_000).toISOString(),
        priorAttempts: 0,
        meta: { traceparent: 'x' },
      },
    });
  });

  it.each([
    ['', 'the body is not JSON'],
    ['{"v":1', 'the body is not JSON'],
    ['null', 'the body is JSON but not an object'],
    ['"text"', 'the body is JSON but not an object'],
    ['[]', 'the body is JSON but not an object'],
    ['{}', 'the body is not a Glasswork envelope'],
    ['{"v":1,"id":"a","name":"","enqueuedAt":"2026-01-01T00:00:00Z"}', 'the envelope has no job name'],
    ['{"v":1,"name":"x","enqueuedAt":"2026-01-01T00:00:00Z"}', 'the envelope has no job id'],
    ['{"v":1,"id":"a","name":"x","enqueuedAt":"yesterday"}', 'the envelope has no valid enqueuedAt'],
    [
      '{"v":1,"id":"a","name":"x","enqueuedAt":"2026-01-01T00:00:00Z","priorAttempts":-1}',
      'the envelope has an invalid priorAttempts',
    ],
    ['{"jobName":"x","jobId":"a","enqueuedAt":"never"}', 'the body has no valid enqueuedAt'],
  ])('calls %j malformed', (body, reason) => {
    expect(decodeEnvelope(body)).toEqual({ ok: false, problem: { kind: 'malformed', reason } });
  });

  it('calls an unknown version incompatible, not malformed', () => {
    expect(decodeEnvelope('{"v":2,"anything":true}')).toEqual({
      ok: false,
      problem: { kind: 'incompatible', reason: 'unknown envelope version 2' },
    });
  });

  it('keeps only string meta and cannot be used for prototype pollution', () => {
    const body =
      '{"v":1,"id":"a","name":"x","enqueuedAt":"2026-01-01T00:00:00Z","payload":{"__proto__":{"polluted":true}},' +
      '"meta":{"__proto__":"p","constructor":"c","ok":"yes","n":1}}';
    const decoded = decodeEnvelope(body);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.envelope.meta).toEqual({ constructor: 'c', ok: 'yes' });
    expect(Object.getPrototypeOf(decoded.envelope.meta)).toBe(Object.prototype);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('decodes a deeply nested payload without overflowing', () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const body = `{"v":1,"id":"a","name":"x","enqueuedAt":"2026-01-01T00:00:00Z","payload":${deep}}`;
    expect(decodeEnvelope(body).ok).toBe(true);
  });

  it('counts bytes the way SQS does: UTF-8 body plus attribute name, type and value', () => {
    expect(messageBytes('{"a":"é"}', { 'glasswork.job': 'x' })).toBe(10 + 13 + 6 + 1);
    expect(messageBytes('😀', {})).toBe(4);
  });
});
