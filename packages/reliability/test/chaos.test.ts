import { describe, expect, it } from 'vitest';
import { DEFAULT_CHAOS, runChaos } from '../src/chaos.ts';
import { formatReport } from '../src/report.ts';
import { passed } from '../src/table.ts';

// The fault suite, smaller: 1,000 jobs, three SIGKILLs, the same fault mix as `pnpm test:chaos`.
describe('fault suite (1,000 jobs)', () => {
  it('loses nothing, dead-letters exactly what must die, and applies no Postgres-transactional effect twice', async () => {
    const report = await runChaos({
      ...DEFAULT_CHAOS,
      jobs: 1000,
      kills: 3,
      killEveryMs: 2000,
      maxRunMs: 150_000,
    });
    console.log(formatReport(report));
    expect(report.settled).toBe(true);
    expect(report.rows.filter((row) => !passed(row))).toEqual([]);
    expect(report.kills).toBe(3);
  }, 240_000);
});
