import {
  ConfigurationError,
  createClient,
  createWorker,
  defineJob,
  definePlugin,
  PermanentJobError,
} from '@glasswork/core';
import { mockDriver } from '@glasswork/mock';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { pinoPlugin } from '../src/index.ts';
import { capture, LEVEL } from './capture.ts';

const signup = defineJob({
  name: 'signup',
  queue: 'users',
  schema: v.object({ email: v.string(), card: v.optional(v.string()) }),
});

function setup(options: Omit<Parameters<typeof pinoPlugin>[0], 'logger'> = {}, level = 'debug' as const) {
  const out = capture({ level });
  const plugin = pinoPlugin({ logger: out.logger, ...options });
  const driver = mockDriver();
  const client = createClient({ driver, plugins: [plugin] });
  return { ...out, plugin, driver, client };
}

describe('pinoPlugin: one line per event', () => {
  it('logs enqueued and start at debug, success at info with the duration, all bound to the job', async () => {
    const { client, driver, plugin, lines } = setup();
    const { id } = await client.enqueue(signup, { email: 'a@example.com' });
    const worker = createWorker({ plugins: [plugin] }).handle(signup, () => {});
    await driver.drain(worker);

    const [enqueued, start, success] = lines();
    expect(lines()).toHaveLength(3);
    expect(enqueued).toMatchObject({
      level: LEVEL.debug,
      msg: 'job enqueued',
      jobId: id,
      jobName: 'signup',
      queue: 'users',
      messageId: driver.enqueued[0]?.messageId,
    });
    const bound = { jobId: id, jobName: 'signup', attempt: 1, queue: 'users', messageId: expect.any(String) };
    expect(start).toMatchObject({ level: LEVEL.debug, msg: 'job started', ...bound });
    expect(success).toMatchObject({ level: LEVEL.info, msg: 'job succeeded', ...bound });
    expect(success?.durationMs).toEqual(expect.any(Number));
  });

  it('gives handlers ctx.log, a child bound to the delivery', async () => {
    const { client, driver, plugin, lines } = setup();
    const { id } = await client.enqueue(signup, { email: 'a@example.com' });
    const worker = createWorker({ plugins: [plugin] }).handle(signup, ({ email }, ctx) => {
      ctx.log.info({ email }, 'sending the welcome mail');
    });
    await driver.drain(worker);
    expect(lines().find((l) => l.msg === 'sending the welcome mail')).toMatchObject({
      level: LEVEL.info,
      email: 'a@example.com',
      jobId: id,
      jobName: 'signup',
      attempt: 1,
      queue: 'users',
    });
  });

  it('logs a retry at warn with the delay and the error, then the next attempt with its number', async () => {
    const { client, driver, plugin, lines } = setup();
    await client.enqueue(signup, { email: 'a@example.com' });
    let calls = 0;
    const worker = createWorker({ plugins: [plugin] }).handle(
      signup,
      () => {
        if (++calls === 1) throw new Error('SMTP timeout');
      },
      { retry: { maxAttempts: 3, backoff: '30s' } },
    );
    await driver.drain(worker);

    const retry = lines().find((l) => l.level === LEVEL.warn);
    expect(retry).toMatchObject({
      msg: 'job failed, retrying in 30s',
      attempt: 1,
      delayMs: 30_000,
      err: { type: 'Error', message: 'SMTP timeout', stack: expect.stringContaining('SMTP timeout') },
    });
    expect(lines().find((l) => l.msg === 'job succeeded')?.attempt).toBe(2);
    expect(retry).not.toHaveProperty('blocksGroup');
  });

  it('says on a retry when a job that failed for good holds its FIFO group', async () => {
    const { client, driver, plugin, lines } = setup();
    const entry = defineJob<{ seq: number }>({ name: 'entry', queue: 'ledger.fifo', group: 'acct-1' });
    await client.enqueue(entry, { seq: 1 });
    let calls = 0;
    const worker = createWorker({ plugins: [plugin] }).handle(
      entry,
      () => {
        if (++calls === 1) throw new PermanentJobError('ledger closed');
      },
      { retry: { backoff: '1m', blockGroup: true } },
    );
    await driver.drain(worker);
    expect(lines().find((l) => l.level === LEVEL.warn)).toMatchObject({
      msg: 'job failed, retrying in 60s',
      blocksGroup: 'permanent failure: ledger closed; holding group "acct-1" (retry.blockGroup)',
    });
    expect(lines().find((l) => l.msg === 'job succeeded')?.attempt).toBe(2);
  });

  it('logs a dead-lettered job at error with the reason and the whole cause chain', async () => {
    const { client, driver, plugin, lines } = setup();
    await client.enqueue(signup, { email: 'a@example.com' });
    const worker = createWorker({ plugins: [plugin] }).handle(
      signup,
      () => {
        const io = new Error('connection reset');
        throw new Error('mail provider unavailable', { cause: io });
      },
      { retry: { maxAttempts: 2, backoff: '1s' } },
    );
    await driver.drain(worker);

    const dead = lines().find((l) => l.level === LEVEL.error);
    expect(dead).toMatchObject({
      msg: 'job dead-lettered',
      attempt: 2,
      reason: 'retries exhausted after 2 attempts: mail provider unavailable',
      err: {
        type: 'RetryExhaustedError',
        cause: {
          message: 'mail provider unavailable',
          cause: { message: 'connection reset' },
        },
      },
    });
    expect(driver.deadLetters).toHaveLength(1);
  });

  it('logs a discarded job at warn', async () => {
    const { client, driver, plugin, lines } = setup();
    await client.enqueue(signup, { email: 'a@example.com' });
    const worker = createWorker({ plugins: [plugin] }).handle(
      signup,
      () => {
        throw new PermanentJobError('no such user');
      },
      { retry: { dead: false } },
    );
    await driver.drain(worker);
    expect(lines().at(-1)).toMatchObject({
      level: LEVEL.warn,
      msg: 'job discarded',
      reason: 'permanent failure: no such user',
      err: { type: 'PermanentJobError', message: 'no such user' },
    });
  });

  it('logs deferrals and duplicates from execute hooks at info, without a start line', async () => {
    let deferred = false;
    const gate = definePlugin({
      name: 'gate',
      setup(hooks) {
        hooks.execute(async () => {
          if (!deferred) {
            deferred = true;
            return { type: 'defer', delayMs: 5000, reason: 'lock held elsewhere' };
          }
          return { type: 'duplicate', value: 'cached' };
        });
      },
    });
    const { client, driver, plugin, lines } = setup();
    await client.enqueue(signup, { email: 'a@example.com' });
    await driver.drain(createWorker({ plugins: [plugin, gate] }).handle(signup, () => {}));

    expect(lines().map((l) => [l.level, l.msg, l.attempt])).toEqual([
      [LEVEL.debug, 'job enqueued', undefined],
      [LEVEL.info, 'job deferred', 1],
      [LEVEL.info, 'job skipped: it already ran', 2],
    ]);
    expect(lines()[1]).toMatchObject({ reason: 'lock held elsewhere', delayMs: 5000 });
  });

  it('logs a poison message with what is known of it: no job, but the queue and message id', async () => {
    const { plugin, lines } = setup();
    const worker = createWorker({ plugins: [plugin] }).handle(signup, () => {});
    const run = await worker.run({ messageId: 'm-1', body: 'not json', receiveCount: 1, queue: 'users' });
    await run.settle();
    expect(lines()).toEqual([
      expect.objectContaining({
        level: LEVEL.error,
        msg: 'job dead-lettered',
        queue: 'users',
        messageId: 'm-1',
        attempt: 1,
        reason: 'malformed: the body is not JSON',
        err: expect.objectContaining({ type: 'MalformedMessageError' }),
      }),
    ]);
    expect(lines()[0]).not.toHaveProperty('jobId');
  });

  it('logs worker events: receive errors at warn, stopping and stopped at info', async () => {
    const { plugin, lines } = setup();
    const worker = createWorker({ plugins: [plugin] });
    await worker.emit('receiveError', { error: new Error('throttled'), queue: 'users' });
    await worker.emit('stopping', { reason: 'SIGTERM' });
    await worker.emit('stopped', {});
    expect(lines().map((l) => [l.level, l.msg])).toEqual([
      [LEVEL.warn, 'receive failed'],
      [LEVEL.info, 'worker stopping'],
      [LEVEL.info, 'worker stopped'],
    ]);
    expect(lines()[0]).toMatchObject({ queue: 'users', err: { message: 'throttled' } });
    expect(lines()[1]?.reason).toBe('SIGTERM');
  });

  it("reports other plugins' observer errors through the logger, and the job still succeeds", async () => {
    const broken = definePlugin({
      name: 'broken-metrics',
      setup(hooks) {
        hooks.on('success', () => {
          throw new Error('statsd is down');
        });
      },
    });
    const { client, driver, plugin, lines } = setup();
    await client.enqueue(signup, { email: 'a@example.com' });
    const report = await driver.drain(createWorker({ plugins: [broken, plugin] }).handle(signup, () => {}));
    expect(report.counts.ack).toBe(1);
    expect(lines().find((l) => l.level === LEVEL.error)).toMatchObject({
      msg: 'plugin "broken-metrics" failed in "success"',
      plugin: 'broken-metrics',
      event: 'success',
      err: { message: 'statsd is down' },
    });
  });

  it('honours level: below it, nothing is written', async () => {
    const { client, driver, plugin, lines } = setup({ level: 'info' });
    await client.enqueue(signup, { email: 'a@example.com' });
    await driver.drain(
      createWorker({ plugins: [plugin] }).handle(signup, (_p, ctx) => ctx.log.debug('hidden')),
    );
    expect(lines().map((l) => l.msg)).toEqual(['job succeeded']);
  });

  it('rejects what cannot work with a ConfigurationError that says what to pass', () => {
    const { logger } = capture();
    expect(() => pinoPlugin({} as never)).toThrow(ConfigurationError);
    expect(() => pinoPlugin({} as never)).toThrow(/pinoPlugin\(\{ logger: pino\(\) \}\)/);
    expect(() => pinoPlugin({ logger, level: 'verbose' })).toThrow(
      'pinoPlugin: unknown level "verbose"; use one of trace, debug, info, warn, error, fatal or silent',
    );
    expect(() => pinoPlugin({ logger, logPayload: 'yes' as never })).toThrow(ConfigurationError);
  });

  it("accepts 'silent', which writes nothing", async () => {
    const { client, driver, plugin, lines } = setup({ level: 'silent' });
    await client.enqueue(signup, { email: 'a@example.com' });
    await driver.drain(
      createWorker({ plugins: [plugin] }).handle(signup, (_p, ctx) => ctx.log.error('hidden')),
    );
    expect(lines()).toEqual([]);
  });
});

describe('pinoPlugin: payloads and redaction', () => {
  it('does not log the payload unless asked', async () => {
    const { client, driver, plugin, raw } = setup();
    await client.enqueue(signup, { email: 'secret@example.com' });
    await driver.drain(
      createWorker({ plugins: [plugin] }).handle(signup, () => {
        throw new PermanentJobError('no');
      }),
    );
    expect(raw.length).toBe(3);
    expect(raw.join('')).not.toContain('secret@example.com');
  });

  it('logs it on the enqueued, start and dead lines with logPayload', async () => {
    const { client, driver, plugin, lines } = setup({ logPayload: true });
    await client.enqueue(signup, { email: 'a@example.com' });
    await driver.drain(
      createWorker({ plugins: [plugin] }).handle(signup, () => {
        throw new PermanentJobError('no');
      }),
    );
    expect(lines().map((l) => [l.msg, l.payload])).toEqual([
      ['job enqueued', { email: 'a@example.com' }],
      ['job started', { email: 'a@example.com' }],
      ['job dead-lettered', { email: 'a@example.com' }],
    ]);
  });

  it('chooses by job name when logPayload is a function', async () => {
    const audit = defineJob<{ entry: string }>({ name: 'audit', queue: 'users' });
    const { client, plugin, lines } = setup({ logPayload: (job) => job === 'audit' });
    await client.enqueue(signup, { email: 'a@example.com' });
    await client.enqueue(audit, { entry: 'login' });
    expect(lines().map((l) => l.payload)).toEqual([undefined, { entry: 'login' }]);
    expect(plugin.name).toBe('pino');
  });

  it('leaves the payload out, and loses nothing, when the logPayload function throws', async () => {
    const { client, lines } = setup({
      logPayload: () => {
        throw new Error('bug in the choice');
      },
    });
    await client.enqueue(signup, { email: 'a@example.com' });
    expect(lines()).toEqual([expect.objectContaining({ msg: 'job enqueued' })]);
    expect(lines()[0]).not.toHaveProperty('payload');
  });

  it('honours redact paths in its lines and in ctx.log', async () => {
    const { client, driver, plugin, lines } = setup({ logPayload: true, redact: ['payload.card', 'card'] });
    await client.enqueue(signup, { email: 'a@example.com', card: '4242 4242 4242 4242' });
    await driver.drain(
      createWorker({ plugins: [plugin] }).handle(signup, ({ card }, ctx) =>
        ctx.log.info({ card }, 'charging'),
      ),
    );
    expect(lines().map((l) => [l.msg, l.payload?.card ?? l.card])).toEqual([
      ['job enqueued', '[Redacted]'],
      ['job started', '[Redacted]'],
      ['charging', '[Redacted]'],
      ['job succeeded', undefined],
    ]);
  });

  it("keeps the logger's own redaction when given none", async () => {
    const out = capture({ level: 'debug', redact: ['payload.email'] });
    const plugin = pinoPlugin({ logger: out.logger, logPayload: true });
    await createClient({ driver: mockDriver(), plugins: [plugin] }).enqueue(signup, {
      email: 'a@example.com',
    });
    expect(out.lines()[0]?.payload).toEqual({ email: '[Redacted]' });
  });
});
