import { describe, expect, it } from 'vitest';
import type { Effect, Observed } from '../src/invariants.ts';
import { checkInvariants, reasonKind } from '../src/invariants.ts';
import type { PlannedJob } from '../src/plan.ts';
import { planJobs } from '../src/plan.ts';
import { passed } from '../src/table.ts';

const plan: PlannedJob[] = [
  { id: 'a', lane: 'memory', payload: { fate: 'ok' } },
  { id: 'b', lane: 'postgres', payload: { fate: 'permanent' } },
  { id: 'c', lane: 'fifo', payload: { fate: 'ok', group: 'g', seq: 1 } },
  { id: 'd', lane: 'fifo', payload: { fate: 'ok', group: 'g', seq: 2 } },
  { id: 'e', lane: 'dynamodb', payload: { fate: 'transient', fail: 1 } },
];
const effect = (
  jobId: string,
  lane: Effect['lane'],
  group: string | null = null,
  seq: number | null = null,
) => ({
  jobId,
  lane,
  group,
  seq,
});
const clean: Observed = {
  plan,
  accepted: new Set(plan.map((j) => j.id)),
  effects: [effect('a', 'memory'), effect('c', 'fifo', 'g', 1), effect('d', 'fifo', 'g', 2)],
  deadLetters: [
    { lane: 'postgres', jobId: 'b', reason: 'permanent failure: planned permanent failure' },
    { lane: 'dynamodb', jobId: 'e', reason: 'retries exhausted after 4 attempts: planned transient failure' },
  ],
  remaining: [],
};
const broken = (observed: Observed) =>
  checkInvariants(observed)
    .filter((row) => !passed(row))
    .map((row) => row.check);

describe('invariants of the fault suite', () => {
  it('hold for a run where everything settled once', () => {
    expect(broken(clean)).toEqual([]);
  });

  it('catch a lost job, a second Postgres-transactional effect and FIFO order broken', () => {
    const rows = broken({
      ...clean,
      effects: [
        effect('a', 'memory'),
        effect('d', 'fifo', 'g', 2),
        effect('c', 'fifo', 'g', 1),
        effect('c', 'fifo', 'g', 1),
      ],
      deadLetters: clean.deadLetters.filter((d) => d.jobId !== 'e'),
    });
    expect(rows).toEqual([
      'lost: neither completed nor in the DLQ',
      'side effects applied twice, postgres-tx store (jobs / extra effects)',
      'FIFO order per group (1 groups, effects in commit order)',
    ]);
  });

  it('catch a dead-letter copy without its reason, one dead for no good reason, and a job that must die completing', () => {
    const rows = broken({
      ...clean,
      effects: [...clean.effects, effect('b', 'postgres')],
      deadLetters: [
        { lane: 'memory', jobId: 'a', reason: 'incompatible for 3600s (limit 3600s): unknown job' },
        { lane: 'postgres', jobId: 'b', reason: undefined },
        ...clean.deadLetters,
      ],
    });
    expect(rows).toEqual([
      'DLQ ids = permanent ∪ always-failing ∪ exhausted: in the DLQ for another reason',
      'DLQ copies whose reason is neither permanent nor exhaustion',
      'side effects of jobs planned to fail',
      'DLQ copies a worker sent without a reason attribute, or without a job id',
      'completed and also dead-lettered, postgres-tx store',
    ]);
  });

  it('count a copy SQS’s redrive policy moved (no reason) as exhausted, apart from copies a worker sent bare', () => {
    const observed: Observed = {
      ...clean,
      deadLetters: [
        ...clean.deadLetters.filter((d) => d.jobId !== 'e'),
        { lane: 'dynamodb', jobId: 'e', reason: undefined, movedBySqs: true },
      ],
    };
    expect(broken(observed)).toEqual([]);
    const moved = checkInvariants(observed).find((row) => row.check.startsWith('DLQ copies moved by SQS'));
    expect(moved?.actual).toBe(1);
  });

  it('sorts dead-letter reasons by the words the core uses', () => {
    expect(reasonKind('permanent failure: x')).toBe('permanent');
    expect(reasonKind('arrived on attempt 6, past maxAttempts 5; not run')).toBe('exhausted');
    expect(reasonKind("boom, on receive 10 of the 10 the queue's redrive policy allows")).toBe('exhausted');
    expect(reasonKind('malformed: the body is not JSON')).toBe('other');
  });

  it('plans the same jobs for the same seed, FIFO sequence numbers rising per group', () => {
    const options = {
      jobs: 500,
      seed: 3,
      fates: { transient: 0.1, permanent: 0.1, exhaust: 0.1, slow: 0.1 },
      fifoShare: 0.3,
      fifoGroups: 4,
      slowMs: 100,
      maxAttempts: 4,
    };
    expect(planJobs(options)).toEqual(planJobs(options));
    const seqs = new Map<string, number[]>();
    for (const job of planJobs(options).filter((j) => j.lane === 'fifo')) {
      seqs.set(job.payload.group!, [...(seqs.get(job.payload.group!) ?? []), job.payload.seq!]);
    }
    for (const list of seqs.values()) expect(list).toEqual(list.map((_, i) => i + 1));
    expect(planJobs({ ...options, seed: 4 })).not.toEqual(planJobs(options));
  });
});
