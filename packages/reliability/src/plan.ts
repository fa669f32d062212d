import { createRng } from './rng.ts';

/** Where a job goes; each queue has its own idempotency store, so duplicates are counted per store. */
export type Lane = 'memory' | 'dynamodb' | 'postgres' | 'fifo';
export const LANES: readonly Lane[] = ['memory', 'dynamodb', 'postgres', 'fifo'];

/** The idempotency store each lane's workers use. FIFO jobs take the Postgres transactional path too. */
export const STORE_OF: Readonly<Record<Lane, 'memory' | 'dynamodb' | 'postgres-tx'>> = {
  memory: 'memory',
  dynamodb: 'dynamodb',
  postgres: 'postgres-tx',
  fifo: 'postgres-tx',
};

/**
 * What a job's handler does: `ok` succeeds; `transient` fails its first `fail` attempts; `permanent`
 * throws `PermanentJobError`; `exhaust` fails every attempt; `slow` takes `ms` before it succeeds.
 */
export type Fate = 'ok' | 'transient' | 'permanent' | 'exhaust' | 'slow';

/** The payload of a chaos job: everything the handler needs to act out its fate. */
export interface ChaosPayload {
  readonly fate: Fate;
  readonly fail?: number;
  readonly ms?: number;
  readonly group?: string;
  readonly seq?: number;
}

export interface PlannedJob {
  readonly id: string;
  readonly lane: Lane;
  readonly payload: ChaosPayload;
}

export interface FateMix {
  readonly transient: number;
  readonly permanent: number;
  readonly exhaust: number;
  readonly slow: number;
}

export interface PlanOptions {
  readonly jobs: number;
  readonly seed: number;
  readonly fates: FateMix;
  /** Share of jobs on the FIFO queue. */
  readonly fifoShare: number;
  readonly fifoGroups: number;
  /** Longest slow job, ms. */
  readonly slowMs: number;
  /** Attempts a job has (its transient failures stay below this). */
  readonly maxAttempts: number;
}

/** The jobs of a run, the same for the same options: ids, lanes, fates and FIFO sequence numbers. */
export function planJobs(options: PlanOptions): PlannedJob[] {
  const rng = createRng(options.seed);
  const seqs = new Map<string, number>();
  const standard: Lane[] = ['memory', 'dynamodb', 'postgres'];
  const jobs: PlannedJob[] = [];
  for (let n = 0; n < options.jobs; n++) {
    const lane: Lane = rng.chance(options.fifoShare) ? 'fifo' : rng.pick(standard);
    let r = rng.next();
    let fate: Fate = 'ok';
    for (const f of ['transient', 'permanent', 'exhaust', 'slow'] as const) {
      if (r < options.fates[f]) {
        fate = f;
        break;
      }
      r -= options.fates[f];
    }
    const payload: { -readonly [K in keyof ChaosPayload]: ChaosPayload[K] } = { fate };
    if (fate === 'transient') payload.fail = rng.int(1, Math.max(1, options.maxAttempts - 2));
    if (fate === 'slow') payload.ms = rng.int(Math.floor(options.slowMs / 4), options.slowMs);
    if (lane === 'fifo') {
      const group = `g${rng.int(0, options.fifoGroups - 1)}`;
      const seq = (seqs.get(group) ?? 0) + 1;
      seqs.set(group, seq);
      payload.group = group;
      payload.seq = seq;
    }
    jobs.push({ id: `job-${options.seed}-${n}`, lane, payload });
  }
  return jobs;
}
