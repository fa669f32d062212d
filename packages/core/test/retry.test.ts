import { describe, expect, it } from 'vitest';
import { ConfigurationError, parseDuration, resolveRetry } from '../src/index.ts';

describe('parseDuration', () => {
  it.each([
    [250, 250],
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
  ])('%j is %i ms', (input, ms) => {
    expect(parseDuration(input as never)).toBe(ms);
  });

  it.each(['', '5', 'five minutes', '5 m', '-1s', '1w'])('rejects %j with a hint', (input) => {
    expect(() => parseDuration(input as never)).toThrow(ConfigurationError);
    expect(() => parseDuration(input as never)).toThrow(/such as/);
  });

  it('rejects negative and non-finite numbers', () => {
    expect(() => parseDuration(-1)).toThrow(ConfigurationError);
    expect(() => parseDuration(Number.NaN)).toThrow(ConfigurationError);
  });
});

describe('retry policy', () => {
  it('defaults to 5 attempts, dead-lettered, exponential backoff with full jitter between 1s and the cap', () => {
    const policy = resolveRetry(undefined);
    expect(policy.maxAttempts).toBe(5);
    expect(policy.dead).toBe(true);
    for (let attempt = 1; attempt <= 30; attempt++) {
      const delay = policy.delay(attempt, new Error());
      expect(delay).toBeGreaterThanOrEqual(1000);
      expect(delay).toBeLessThanOrEqual(Math.min(900_000, 1000 * 2 ** (attempt - 1)) + 1000);
    }
  });

  it('spreads jittered delays rather than repeating one value', () => {
    const policy = resolveRetry({ backoff: { type: 'exponential', base: '10s', min: 0 } });
    const delays = new Set(Array.from({ length: 20 }, () => policy.delay(5, undefined)));
    expect(delays.size).toBeGreaterThan(10);
  });

  it('supports fixed, list, function and no-jitter exponential backoff', () => {
    expect(resolveRetry({ backoff: { type: 'fixed', delay: '30s' } }).delay(3, null)).toBe(30_000);
    expect(resolveRetry({ backoff: '2m' }).delay(1, null)).toBe(120_000);
    const list = resolveRetry({ backoff: ['1s', '10s'] });
    expect([1, 2, 3].map((a) => list.delay(a, null))).toEqual([1000, 10_000, 10_000]);
    const fn = resolveRetry({ backoff: (attempt) => `${attempt * 2}s` as const });
    expect(fn.delay(3, null)).toBe(6000);
    const exp = resolveRetry({ backoff: { type: 'exponential', base: '2s', max: '10s', jitter: 'none' } });
    expect([1, 2, 3, 4].map((a) => exp.delay(a, null))).toEqual([2000, 4000, 8000, 10_000]);
  });

  it('never returns a delay below one second', () => {
    expect(resolveRetry({ backoff: 0 }).delay(1, null)).toBe(1000);
    expect(resolveRetry({ backoff: () => 0 }).delay(1, null)).toBe(1000);
  });

  it('merges a job policy over the worker policy field by field', () => {
    const worker = resolveRetry({ maxAttempts: 8, backoff: '1m', dead: false });
    const job = resolveRetry({ backoff: '5s' }, worker);
    expect(job.maxAttempts).toBe(8);
    expect(job.dead).toBe(false);
    expect(job.delay(1, null)).toBe(5000);
    expect(resolveRetry(3, worker).delay(1, null)).toBe(60_000);
    expect(resolveRetry(false, worker).maxAttempts).toBe(1);
  });

  it('rejects nonsense with a clear error', () => {
    expect(() => resolveRetry(0)).toThrow(/maxAttempts must be a whole number >= 1/);
    expect(() => resolveRetry({ backoff: [] })).toThrow(/at least one delay/);
    expect(() => resolveRetry({ backoff: { type: 'linear' } as never })).toThrow(/Unknown backoff/);
  });
});
