import { createClient, createWorker, defineJob } from '@glasswork/core';
import { mockDriver } from '@glasswork/mock';
import { describe, expect, it, vi } from 'vitest';
import { pinoPlugin } from '../src/index.ts';
import { capture } from './capture.ts';

// As if @opentelemetry/api were not installed: importing it fails.
const tried = vi.hoisted(() => ({ import: 0 }));
vi.mock('@opentelemetry/api', () => {
  tried.import++;
  throw new Error("Cannot find package '@opentelemetry/api'");
});

describe('pinoPlugin without @opentelemetry/api', () => {
  it('logs every line, without trace ids', async () => {
    const { logger, lines } = capture();
    const job = defineJob<{ n: number }>({ name: 'count', queue: 'work' });
    const plugin = pinoPlugin({ logger });
    const driver = mockDriver();
    await createClient({ driver, plugins: [plugin] }).enqueue(job, { n: 1 });
    await driver.drain(createWorker({ plugins: [plugin] }).handle(job, (_p, ctx) => ctx.log.info('hi')));
    expect(lines().map((l) => l.msg)).toEqual(['job enqueued', 'job started', 'hi', 'job succeeded']);
    expect(lines().some((l) => 'trace_id' in l)).toBe(false);
    expect(tried.import).toBe(1);
  });
});
