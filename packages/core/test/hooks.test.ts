import { describe, expect, expectTypeOf, it } from 'vitest';
import type { DeliveryContext, ExecuteContext, Plugin } from '../src/index.ts';
import {
  ConfigurationError,
  createClient,
  createWorker,
  defineJob,
  definePlugin,
  PermanentJobError,
} from '../src/index.ts';
import { ALL_EVENTS, deliveryOf } from './helpers.ts';
import { memoryDriver } from './memory-driver.ts';

const ping = defineJob<{ n: number }>({ name: 'ping', queue: 'jobs' });

/**
 * A third-party plugin, written only against the public API: it adds `ctx.audit` to handlers, wraps
 * `deliver` and `execute`, and observes every event.
 */
function auditPlugin(trail: string[]) {
  return definePlugin({
    name: 'audit',
    setup(hooks) {
      hooks.build(async (ctx, next) => {
        ctx.meta.audit = 'yes';
        trail.push(`build:${ctx.job.name}`);
        return next();
      });
      hooks.send(async (ctx, next) => {
        trail.push(`send:${ctx.messages.length}`);
        return next();
      });
      hooks.deliver(async (ctx, next) => {
        trail.push(`deliver:before:${ctx.jobName}:${ctx.meta.audit}`);
        ctx.state.audit = { startedBy: 'audit' };
        const outcome = await next();
        trail.push(`deliver:after:${outcome.type}`);
        return outcome;
      });
      hooks.execute(async (ctx, next) => {
        trail.push(`execute:before:${JSON.stringify(ctx.payload)}`);
        const result = await next();
        trail.push(`execute:after:${result.type}`);
        return result;
      });
      for (const event of ALL_EVENTS) hooks.on(event, () => void trail.push(`event:${event}`));
    },
    context: (ctx) => ({
      audit: (note: string) => trail.push(`audit:${ctx.jobName}:${note}`),
    }),
  });
}

describe('a plugin from outside the repository', () => {
  it('adds a typed context field, wraps every stage and observes every event', async () => {
    const trail: string[] = [];
    const driver = memoryDriver();
    const client = createClient({ driver, plugins: [auditPlugin(trail)] });
    await client.enqueue(ping, { n: 1 });
    expect(trail).toEqual(['build:ping', 'send:1', 'event:enqueued']);

    trail.length = 0;
    const worker = createWorker({ plugins: [auditPlugin(trail)] }).handle(ping, (payload, ctx) => {
      expectTypeOf(ctx.audit).toEqualTypeOf<(note: string) => number>();
      ctx.audit(`n=${payload.n}`);
      return 'pong';
    });
    const result = await worker.run({ ...driver.sent[0]!, receiveCount: 1 });
    await result.settle();
    await worker.emit('receiveError', { error: new Error('network') });
    await worker.emit('stopping', {});
    await worker.emit('stopped', {});
    await worker.flush();
    expect(trail).toEqual([
      'deliver:before:ping:yes',
      'execute:before:{"n":1}',
      'event:start',
      'audit:ping:n=1',
      'execute:after:completed',
      'deliver:after:ack',
      'event:success',
      'event:receiveError',
      'event:stopping',
      'event:stopped',
      'event:flush',
    ]);
  });
});

describe('hook order', () => {
  function tracer(name: string, log: string[], enforce?: 'pre' | 'post'): Plugin {
    return definePlugin({
      name,
      enforce,
      setup(hooks) {
        hooks.deliver(async (_ctx, next) => {
          log.push(`${name}>`);
          const outcome = await next();
          log.push(`<${name}`);
          return outcome;
        });
        hooks.on('success', () => void log.push(`${name}:success`));
      },
    });
  }

  it('nests wrap hooks in registration order, pre plugins outermost and post innermost', async () => {
    const log: string[] = [];
    const worker = createWorker({
      plugins: [tracer('a', log), tracer('late', log, 'post'), tracer('b', log), tracer('early', log, 'pre')],
    }).handle(ping, () => void log.push('handler'));
    const result = await worker.run(deliveryOf(ping, { n: 1 }));
    await result.settle();
    expect(log).toEqual([
      'early>',
      'a>',
      'b>',
      'late>',
      'handler',
      '<late',
      '<b',
      '<a',
      '<early',
      'early:success',
      'a:success',
      'b:success',
      'late:success',
    ]);
  });

  it('rejects two plugins with the same name', () => {
    const log: string[] = [];
    expect(() => createWorker({ plugins: [tracer('x', log), tracer('x', log)] })).toThrow(ConfigurationError);
    expect(() =>
      createClient({ driver: memoryDriver(), plugins: [tracer('x', log), tracer('x', log)] }),
    ).toThrow(/registered twice/);
  });

  it('gives execute hooks the validated payload and the delivery context', async () => {
    let seen: ExecuteContext | undefined;
    const spy = definePlugin({
      name: 'spy',
      setup(hooks) {
        hooks.execute(async (ctx, next) => {
          seen = ctx;
          return next();
        });
      },
    });
    const worker = createWorker({ plugins: [spy] }).handle(ping, () => {});
    await worker.run(deliveryOf(ping, { n: 5 }, { id: 'job-77' }));
    expect(seen?.payload).toEqual({ n: 5 });
    expect(seen?.jobId).toBe('job-77');
    expect(seen?.delivery.jobName).toBe('ping');
  });

  it('shows deliver hooks a poison message too, with its problem', async () => {
    let seen: DeliveryContext | undefined;
    const spy = definePlugin({
      name: 'spy',
      setup(hooks) {
        hooks.deliver(async (ctx, next) => {
          seen = ctx;
          return next();
        });
      },
    });
    const worker = createWorker({ plugins: [spy] }).handle(ping, () => {});
    const result = await worker.run({ messageId: 'm', body: 'garbage', receiveCount: 1, queue: 'jobs' });
    expect(result.outcome.type).toBe('dead');
    expect(seen?.problem).toEqual({ kind: 'malformed', reason: 'the body is not JSON' });
    expect(seen?.job).toBeUndefined();
  });
});

describe('observers never change an outcome', () => {
  it('reports a throwing observer and keeps the outcome', async () => {
    const reported: unknown[] = [];
    const bad = definePlugin({
      name: 'bad',
      setup(hooks) {
        hooks.on('success', () => {
          throw new Error('observer bug');
        });
      },
    });
    const reporter = definePlugin({
      name: 'reporter',
      setup(hooks) {
        hooks.on('observerError', (e) => void reported.push([e.plugin, e.event, (e.error as Error).message]));
      },
    });
    const worker = createWorker({ plugins: [bad, reporter] }).handle(ping, () => 'ok');
    const result = await worker.run(deliveryOf(ping, { n: 1 }));
    await result.settle();
    expect(result.outcome.type).toBe('ack');
    expect(reported).toEqual([['bad', 'success', 'observer bug']]);
  });

  it('stops waiting for a slow observer after observerTimeout and reports it', async () => {
    const reported: string[] = [];
    const slow = definePlugin({
      name: 'slow',
      setup(hooks) {
        hooks.on('success', () => new Promise(() => {}));
      },
    });
    const worker = createWorker({
      plugins: [slow],
      observerTimeout: 20,
      onObserverError: (error, info) =>
        reported.push(`${info.plugin}:${info.event}:${(error as Error).message}`),
    }).handle(ping, () => 'ok');
    const result = await worker.run(deliveryOf(ping, { n: 1 }));
    await result.settle();
    expect(reported).toEqual(['slow:success:observer did not settle within 20ms']);
  });

  it('keeps a decided outcome when a deliver hook throws after next()', async () => {
    const reported: string[] = [];
    let runs = 0;
    const broken = definePlugin({
      name: 'broken',
      setup(hooks) {
        hooks.deliver(async (_ctx, next) => {
          await next();
          throw new Error('after');
        });
      },
    });
    const worker = createWorker({
      plugins: [broken],
      onObserverError: (e) => reported.push((e as Error).message),
    });
    worker.handle(ping, () => {
      runs++;
      return 'done';
    });
    const result = await worker.run(deliveryOf(ping, { n: 1 }));
    expect(result.outcome).toEqual({ type: 'ack', result: 'done' });
    expect(runs).toBe(1);
    expect(reported).toEqual(['after']);
  });

  it('counts a deliver hook that throws before next() as a failed attempt, so nothing is lost', async () => {
    const broken = definePlugin({
      name: 'broken',
      setup(hooks) {
        hooks.deliver(async () => {
          throw new Error('before');
        });
      },
    });
    const worker = createWorker({ plugins: [broken], onObserverError: () => {} }).handle(ping, () => {});
    const result = await worker.run(deliveryOf(ping, { n: 1 }));
    expect(result.outcome.type).toBe('retry');
  });

  it('passes handler errors through execute hooks unchanged', async () => {
    const passthrough = definePlugin({
      name: 'pass',
      setup(hooks) {
        hooks.execute((_ctx, next) => next());
      },
    });
    const worker = createWorker({ plugins: [passthrough] }).handle(ping, () => {
      throw new PermanentJobError('gone');
    });
    expect((await worker.run(deliveryOf(ping, { n: 1 }))).outcome.type).toBe('dead');
  });
});

describe('async plugin setup', () => {
  it('retries a failed setup on the next run instead of caching the failure', async () => {
    let attempts = 0;
    const flaky = definePlugin({
      name: 'flaky',
      async setup() {
        attempts++;
        if (attempts === 1) throw new Error('secrets not reachable');
      },
    });
    const worker = createWorker({ plugins: [flaky] }).handle(ping, () => 'ok');
    const first = await worker.run(deliveryOf(ping, { n: 1 }));
    expect(first.outcome.type).toBe('retry');
    await expect(worker.ready()).resolves.toBeUndefined();
    const second = await worker.run(deliveryOf(ping, { n: 1 }));
    expect(second.outcome.type).toBe('ack');
    expect(attempts).toBe(2);
  });

  it('runs setup once however many deliveries arrive at the same time', async () => {
    let setups = 0;
    const counted = definePlugin({
      name: 'counted',
      async setup() {
        setups++;
        await new Promise((r) => setTimeout(r, 5));
      },
    });
    const worker = createWorker({ plugins: [counted] }).handle(ping, () => {});
    await Promise.all(Array.from({ length: 5 }, () => worker.run(deliveryOf(ping, { n: 1 }))));
    expect(setups).toBe(1);
  });
});
