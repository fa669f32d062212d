/**
 * Type tests: `pnpm test` runs `tsc` over this file first, so a wrong type fails the suite.
 */
import { createWorker, defineJob } from '@glasswork/core';
import type { Logger } from 'pino';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { pinoPlugin } from '../src/index.ts';
import { capture } from './capture.ts';

const job = defineJob<{ n: number }>({ name: 'count', queue: 'work' });

describe('types', () => {
  it('gives ctx.log only to handlers of workers with the plugin', () => {
    const { logger } = capture();
    createWorker({ plugins: [pinoPlugin({ logger })] }).handle(job, (_payload, ctx) => {
      expectTypeOf(ctx.log).toEqualTypeOf<Logger>();
      ctx.log.info({ n: 1 }, 'typed');
    });
    createWorker().handle(job, (_payload, ctx) => {
      // @ts-expect-error a worker without the pino plugin has no ctx.log
      void ctx.log;
    });
    expect(pinoPlugin({ logger }).name).toBe('pino');
  });
});
