import { describe, expect, it } from 'vitest';
import { formatHostile, runHostile } from '../src/hostile-suite.ts';

describe('hostile input', () => {
  it('dead-letters every poison message with its reason through worker.run, the poller and the Lambda adapter, completes the rest, and refuses bad enqueues before sending', async () => {
    const report = await runHostile();
    console.log(formatHostile(report));
    expect(report.failures).toEqual([]);
    expect(report.poller.goodTotal).toBeGreaterThan(0);
    expect(report.lambda.observations.size).toBe(report.poller.observations.size);
  }, 120_000);
});
