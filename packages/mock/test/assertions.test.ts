import { AssertionError } from 'node:assert';
import { createClient, defineJob } from '@glasswork/core';
import { describe, expect, it } from 'vitest';
import { expectEnqueued, expectNotEnqueued, expectNothingEnqueued, mockDriver } from '../src/index.ts';

const welcome = defineJob<{ userId: string; locale: string; tags: string[] }>({
  name: 'welcome',
  queue: 'emails',
});
const invoice = defineJob<{ orderId: number }>({ name: 'invoice', queue: 'billing' });

describe('assertions', () => {
  async function setup() {
    const driver = mockDriver();
    const client = createClient({ driver });
    await client.enqueue(welcome, { userId: 'u1', locale: 'en', tags: ['new'] });
    await client.enqueueIn(welcome, '1m', { userId: 'u2', locale: 'de', tags: [] });
    return driver;
  }

  it('matches by partial payload, predicate or vitest asymmetric matcher', async () => {
    const driver = await setup();
    expect(expectEnqueued(driver, welcome)).toHaveLength(2);
    expect(expectEnqueued(driver, welcome, { userId: 'u1' })).toHaveLength(1);
    expectEnqueued(driver, welcome, (p) => p.locale === 'de');
    expectEnqueued(driver, welcome, { userId: expect.stringMatching(/^u/), tags: ['new'] });
    expectEnqueued(driver, welcome, undefined, { times: 2 });
    const [delayed] = expectEnqueued(driver, welcome, { userId: 'u2' });
    expect(delayed?.delaySeconds).toBe(60);
    expect(driver.payloads(welcome).map((p) => p.userId)).toEqual(['u1', 'u2']);
  });

  it('fails with a message that lists what was enqueued', async () => {
    const driver = await setup();
    let error: unknown;
    try {
      expectEnqueued(driver, welcome, { userId: 'u3' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AssertionError);
    expect((error as Error).message).toContain(
      'Expected job "welcome" with a matching payload to be enqueued at least once, found 0',
    );
    expect((error as Error).message).toContain('welcome {"userId":"u1","locale":"en","tags":["new"]}');
    expect(() => expectEnqueued(driver, welcome, { tags: [] }, { times: 2 })).toThrow(/found 1/);
    expect(() => expectEnqueued(driver, invoice)).toThrow(AssertionError);
  });

  it('asserts absence', async () => {
    const driver = await setup();
    expectNotEnqueued(driver, invoice);
    expectNotEnqueued(driver, welcome, { userId: 'nobody' });
    expect(() => expectNotEnqueued(driver, welcome, { locale: 'en' })).toThrow(/not to be enqueued, found 1/);
    expect(() => expectNothingEnqueued(driver)).toThrow(AssertionError);
    driver.clear();
    expectNothingEnqueued(driver);
  });
});
