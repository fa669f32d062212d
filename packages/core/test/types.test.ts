/**
 * Type tests: `pnpm test` runs `tsc` over this file first, so a wrong type fails the suite. The runtime
 * assertions only keep vitest from reporting an empty file.
 */
import * as v from 'valibot';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { JobContext, JobInput, JobOutput } from '../src/index.ts';
import { createClient, createWorker, defineJob, definePlugin } from '../src/index.ts';
import { memoryDriver } from './memory-driver.ts';

const withSchema = defineJob({
  name: 'with-schema',
  queue: 'q',
  schema: v.object({ userId: v.string(), count: v.optional(v.number(), 1) }),
});
const withParam = defineJob<{ orderId: number }>({ name: 'with-param', queue: 'q' });
const noPayload = defineJob<void>({ name: 'no-payload', queue: 'q' });

const logPlugin = definePlugin({
  name: 'log',
  context: () => ({ log: { info: (message: string) => message.length } }),
});
const clockPlugin = definePlugin({ name: 'clock', context: () => ({ clock: () => Date.now() }) });
const bare = definePlugin({ name: 'bare', setup() {} });

describe('types', () => {
  it('infers payload types from the schema, else from the type parameter', () => {
    expectTypeOf<JobInput<typeof withSchema>>().toEqualTypeOf<{
      userId: string;
      count?: number | undefined;
    }>();
    expectTypeOf<JobOutput<typeof withSchema>>().toEqualTypeOf<{ userId: string; count: number }>();
    expectTypeOf<JobInput<typeof withParam>>().toEqualTypeOf<{ orderId: number }>();
    expect(withSchema.name).toBe('with-schema');
  });

  it('checks enqueue payloads and options', () => {
    const client = createClient({ driver: memoryDriver() });
    const check = () => {
      void client.enqueue(withSchema, { userId: 'u' });
      void client.enqueue(withParam, { orderId: 1 }, { delay: '5m' });
      void client.enqueue(noPayload);
      // @ts-expect-error the payload is required
      void client.enqueue(withParam);
      // @ts-expect-error wrong payload type
      void client.enqueue(withParam, { orderId: '1' });
      // @ts-expect-error delay and at exclude each other
      void client.enqueue(withParam, { orderId: 1 }, { delay: '5m', at: new Date() });
      // @ts-expect-error not a duration
      void client.enqueueIn(withParam, '5 minutes', { orderId: 1 });
      void client.enqueueMany([
        { job: withParam, payload: { orderId: 1 } },
        { job: withSchema, payload: { userId: 'u' }, options: { delay: '1m' } },
      ]);
      void client.enqueueMany([1, 2].map((orderId) => ({ job: withParam, payload: { orderId } })));
      void client.enqueueMany([
        { job: withParam, payload: { orderId: 1 } },
        // @ts-expect-error each entry's payload is checked against its own job
        { job: withSchema, payload: { userId: 1 } },
      ]);
    };
    expect(typeof check).toBe('function');
  });

  it('types the handler context by exactly the plugins of the worker', () => {
    createWorker({ plugins: [logPlugin, clockPlugin, bare] }).handle(withSchema, (payload, ctx) => {
      expectTypeOf(payload).toEqualTypeOf<{ userId: string; count: number }>();
      expectTypeOf(ctx.log.info).toEqualTypeOf<(message: string) => number>();
      expectTypeOf(ctx.clock).toEqualTypeOf<() => number>();
      expectTypeOf(ctx).toMatchTypeOf<JobContext>();
    });

    createWorker({ plugins: [clockPlugin] }).handle(withParam, (payload, ctx) => {
      expectTypeOf(payload).toEqualTypeOf<{ orderId: number }>();
      // @ts-expect-error this worker has no logging plugin, so no ctx.log
      void ctx.log;
      return ctx.clock();
    });

    createWorker().handle(withParam, (_payload, ctx) => {
      expectTypeOf(ctx).toEqualTypeOf<JobContext>();
      // @ts-expect-error no plugins, no extra fields
      void ctx.clock;
    });
    expect(true).toBe(true);
  });
});
