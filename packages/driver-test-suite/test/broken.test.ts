import type { QueueDriver } from '@glasswork/core';
import type { MockDriverOptions } from '@glasswork/mock';
import { mockDriver } from '@glasswork/mock';
import { describe, expect, it } from 'vitest';
import type { DriverFixture } from '../src/index.ts';
import { queueDriverTestSuite } from '../src/index.ts';

/** Runs the whole suite against a driver and returns the names of the tests that failed. */
async function failures(
  options: MockDriverOptions,
  breakIt: (driver: ReturnType<typeof mockDriver>) => Partial<QueueDriver>,
): Promise<string[]> {
  const tests: { name: string; fn: () => Promise<void> }[] = [];
  queueDriverTestSuite(
    { it: (name, fn) => void tests.push({ name, fn }), expect },
    (): DriverFixture => {
      const mock = mockDriver(options);
      return {
        driver: { ...mock, ...breakIt(mock), capabilities: mock.capabilities },
        queues: { standard: 'jobs', fifo: 'jobs.fifo' },
        deadLetters: async (queue) =>
          mock.deadLetters.filter((d) => d.queue === queue).map((d) => ({ body: d.body, reason: d.reason })),
      };
    },
    { advance: (ms, driver) => (driver as ReturnType<typeof mockDriver>).advance(ms), timeout: 5000 },
  );
  const failed: string[] = [];
  for (const test of tests) await test.fn().catch(() => failed.push(test.name.split(':')[0] ?? test.name));
  return failed;
}

describe('the suite catches broken drivers', () => {
  it('passes the mock driver as it is', async () => {
    expect(await failures({}, () => ({}))).toEqual([]);
  });

  it('a driver whose release ignores the delay fails the retry and defer tests', async () => {
    const failed = await failures({}, (mock) => ({
      release: (queue, message) => mock.release!(queue, message, 0),
    }));
    expect(failed).toEqual(expect.arrayContaining(['retry', 'defer']));
  });

  it('a driver that drops dead letters fails the dead-letter tests', async () => {
    const failed = await failures({}, (mock) => ({
      deadLetter: (queue, message) => mock.ack!(queue, [message]),
    }));
    expect(failed).toEqual(expect.arrayContaining(['dead-letter', 'retries exhausted']));
  });

  it('a driver that reports every entry sent fails the per-entry results test', async () => {
    const failed = await failures({}, (mock) => ({
      send: async (queue, messages) => {
        await mock.send(queue, messages);
        return messages.map(() => ({ ok: true as const }));
      },
    }));
    expect(failed).toContain('reports a rejected message per entry without failing the rest of its batch');
  });

  it('a driver without FIFO order fails the capability and FIFO tests', async () => {
    const failed = await failures({ queues: { 'jobs.fifo': { fifo: false } } }, () => ({}));
    expect(failed).toEqual(expect.arrayContaining(['declares sane capabilities', 'FIFO']));
  });
});
