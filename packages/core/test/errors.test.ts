import { describe, expect, it } from 'vitest';
import {
  GlassworkError,
  isPermanentJobError,
  isTransientJobError,
  JobInterruptedError,
  PermanentJobError,
  RetryExhaustedError,
  serializeError,
  TransientJobError,
} from '../src/index.ts';

describe('errors', () => {
  it('recognises errors from another copy of the core by their brand', async () => {
    // A query string makes Vite load a second, independent instance of the module.
    // @ts-expect-error: TypeScript does not resolve the query string; Vite does.
    const copy = (await import('../src/errors.ts?copy')) as typeof import('../src/errors.ts');
    expect(copy.PermanentJobError).not.toBe(PermanentJobError);
    const foreign = new copy.PermanentJobError('from the other copy');
    expect(isPermanentJobError(foreign)).toBe(true);
    expect(foreign).toBeInstanceOf(PermanentJobError);
    expect(foreign).toBeInstanceOf(GlassworkError);
    expect(new PermanentJobError('x')).toBeInstanceOf(copy.PermanentJobError);
    expect(new TransientJobError('x')).not.toBeInstanceOf(copy.PermanentJobError);
  });

  it('makes an interruption a transient error, recognised across copies', async () => {
    // @ts-expect-error: TypeScript does not resolve the query string; Vite does.
    const copy = (await import('../src/errors.ts?interrupted')) as typeof import('../src/errors.ts');
    const foreign = new copy.JobInterruptedError('shutdown', 'stopping', { retryAfter: '1s' });
    expect(foreign).toBeInstanceOf(JobInterruptedError);
    expect(isTransientJobError(foreign)).toBe(true);
    expect(foreign).toMatchObject({ code: 'INTERRUPTED', interruption: 'shutdown', retryAfter: 1000 });
    expect(new JobInterruptedError('deadline', 'late').retryAfter).toBeUndefined();
    expect(new TransientJobError('x')).not.toBeInstanceOf(JobInterruptedError);
    expect(serializeError(new JobInterruptedError('deadline', 'late'))).toMatchObject({
      code: 'INTERRUPTED',
    });
  });

  it('keeps ordinary instanceof semantics for user subclasses', () => {
    class UserGone extends PermanentJobError {}
    expect(new UserGone('gone')).toBeInstanceOf(PermanentJobError);
    expect(new PermanentJobError('other')).not.toBeInstanceOf(UserGone);
    expect(isPermanentJobError(new UserGone('gone'))).toBe(true);
    expect(new UserGone('gone').name).toBe('UserGone');
  });

  it('serialises the cause chain without recursing forever', () => {
    const root = new Error('socket hang up');
    const error = new RetryExhaustedError('send-email', 3, {
      cause: new TransientJobError('smtp', { cause: root }),
    });
    expect(serializeError(error)).toEqual({
      name: 'RetryExhaustedError',
      message: 'Job "send-email" failed after 3 attempts',
      code: 'RETRY_EXHAUSTED',
      cause: {
        name: 'TransientJobError',
        message: 'smtp',
        code: 'TRANSIENT',
        cause: { name: 'Error', message: 'socket hang up' },
      },
    });
    const cyclic = new Error('a') as Error & { cause?: unknown };
    cyclic.cause = cyclic;
    expect(JSON.stringify(serializeError(cyclic))).toContain('[cause chain truncated]');
    expect(serializeError('plain string')).toEqual({ name: 'string', message: 'plain string' });
  });
});
