import type { Lane, PlannedJob } from './plan.ts';
import { LANES, STORE_OF } from './plan.ts';
import type { CheckRow } from './table.ts';

/** One side effect a handler committed, in commit order. */
export interface Effect {
  readonly jobId: string;
  readonly lane: Lane;
  readonly group: string | null;
  readonly seq: number | null;
}

/** One copy in a dead-letter queue. */
export interface DeadLetter {
  readonly lane: Lane;
  /** From the body (the envelope), which is the original byte for byte. */
  readonly jobId: string | undefined;
  /** From the `glasswork.dead-letter` attribute; undefined when it is missing. */
  readonly reason: string | undefined;
  /**
   * Moved by SQS's redrive policy rather than by a worker: it still has the original's attributes and no
   * reason. Happens when the last receive the policy allows was lost (a kill, a lost ReceiveMessage answer).
   */
  readonly movedBySqs?: boolean | undefined;
}

export interface Observed {
  readonly plan: readonly PlannedJob[];
  /** Job ids the producer was told SQS accepted. */
  readonly accepted: ReadonlySet<string>;
  readonly effects: readonly Effect[];
  readonly deadLetters: readonly DeadLetter[];
  /** Messages still in the source queues (ready, in flight or delayed). */
  readonly remaining: readonly {
    readonly lane: Lane;
    readonly jobId: string | undefined;
    /** When it becomes visible again, if it is in flight or delayed (epoch ms). */
    readonly visibleAt?: number | undefined;
  }[];
}

export type ReasonKind = 'permanent' | 'exhausted' | 'other';

/** Sorts a dead-letter reason (core's wording) into why the job died. */
export function reasonKind(reason: string): ReasonKind {
  if (reason.startsWith('permanent failure:')) return 'permanent';
  if (
    reason.startsWith('retries exhausted after') ||
    reason.startsWith('arrived on attempt') ||
    /on receive \d+ of the \d+ the queue's redrive policy allows$/.test(reason)
  ) {
    return 'exhausted';
  }
  return 'other';
}

const sample = (ids: Iterable<string>, n = 5) => {
  const list = [...ids];
  return list.length === 0 ? undefined : list.slice(0, n).join(', ') + (list.length > n ? ', …' : '');
};
const minus = <T>(a: Iterable<T>, b: ReadonlySet<T>) => [...a].filter((x) => !b.has(x));

/**
 * The invariants of a fault-suite run, as set equalities by job id with duplicates counted. Rows with an
 * `expected` value must match; rows without are measurements, explained in their note.
 */
export function checkInvariants(o: Observed): CheckRow[] {
  const planned = new Map(o.plan.map((j) => [j.id, j]));
  const ids = new Set(planned.keys());
  const effectCount = new Map<string, number>();
  for (const e of o.effects) effectCount.set(e.jobId, (effectCount.get(e.jobId) ?? 0) + 1);
  const completed = new Set(effectCount.keys());
  const dead = new Set<string>();
  const byReason = new Map<ReasonKind, Set<string>>([
    ['permanent', new Set()],
    ['exhausted', new Set()],
    ['other', new Set()],
  ]);
  const reasonOf = new Map<string, string>();
  let noReason = 0;
  let noJobId = 0;
  let moved = 0;
  for (const d of o.deadLetters) {
    if (d.jobId === undefined) {
      noJobId++;
      continue;
    }
    dead.add(d.jobId);
    if (d.reason !== undefined && !reasonOf.has(d.jobId)) reasonOf.set(d.jobId, d.reason);
    if (d.movedBySqs) {
      // The receives ran out: exhausted, though without a reason no code of ours could write.
      moved++;
      byReason.get('exhausted')?.add(d.jobId);
    } else if (d.reason === undefined) noReason++;
    else byReason.get(reasonKind(d.reason))?.add(d.jobId);
  }
  const fated = (fate: string) => o.plan.filter((j) => j.payload.fate === fate).map((j) => j.id);
  const mustDie = new Set([...fated('permanent'), ...fated('exhaust')]);
  const exhaustedOthers = [...(byReason.get('exhausted') as Set<string>)].filter((id) => !mustDie.has(id));
  const expectedDead = new Set([...mustDie, ...exhaustedOthers]);
  const settled = new Set([...completed, ...dead]);
  const lost = minus(ids, settled);
  const unknown = [...new Set([...minus(completed, ids), ...minus(dead, ids)])];

  const rows: CheckRow[] = [
    { check: 'jobs planned', expected: undefined, actual: ids.size },
    {
      check: 'jobs accepted by SQS (producer retried what failed, same ids)',
      expected: ids.size,
      actual: o.accepted.size,
      note: sample(minus(ids, o.accepted as ReadonlySet<string>)),
    },
    {
      check: 'lost: neither completed nor in the DLQ',
      expected: 0,
      actual: lost.length,
      note: sample(lost),
    },
    {
      check: 'messages left in the source queues',
      expected: 0,
      actual: o.remaining.length,
      note: remainingNote(o.remaining),
    },
    { check: 'ids seen that were never planned', expected: 0, actual: unknown.length, note: sample(unknown) },
    { check: 'completed (distinct job ids with a side effect)', expected: undefined, actual: completed.size },
    { check: 'dead-lettered (distinct job ids in the DLQs)', expected: undefined, actual: dead.size },
    {
      check: 'DLQ ids = permanent ∪ always-failing ∪ exhausted: missing from the DLQ',
      expected: 0,
      actual: minus(expectedDead, dead).length,
      note: sample(minus(expectedDead, dead)),
    },
    {
      check: 'DLQ ids = permanent ∪ always-failing ∪ exhausted: in the DLQ for another reason',
      expected: 0,
      actual: minus(dead, expectedDead).length,
      note: sample(minus(dead, expectedDead).map((id) => `${id} (${planned.get(id)?.payload.fate})`)),
    },
    {
      check: 'DLQ copies whose reason is neither permanent nor exhaustion',
      expected: 0,
      actual: (byReason.get('other') as Set<string>).size,
      note: sample(byReason.get('other') as Set<string>),
    },
    {
      check: '  of which exhausted though planned to succeed (kills and lost receives used their attempts)',
      expected: undefined,
      actual: exhaustedOthers.length,
    },
    {
      check: 'side effects of jobs planned to fail',
      expected: 0,
      actual: [...mustDie].filter((id) => completed.has(id)).length,
    },
    {
      check: 'DLQ copies a worker sent without a reason attribute, or without a job id',
      expected: 0,
      actual: noReason + noJobId,
    },
    {
      check: 'DLQ copies moved by SQS’s redrive policy (no reason)',
      expected: undefined,
      actual: moved,
      note:
        moved === 0
          ? undefined
          : 'the last receive the policy allows was lost (a SIGKILL, a lost ReceiveMessage answer), so SQS moved the message on the next one; no worker saw it',
    },
    {
      check: 'DLQ copies (duplicates: dead-lettering is at least once per job)',
      expected: undefined,
      actual: `${o.deadLetters.length} (${o.deadLetters.length - dead.size - noJobId} duplicate)`,
    },
  ];

  for (const store of ['memory', 'dynamodb', 'postgres-tx'] as const) {
    const lanes = LANES.filter((l) => STORE_OF[l] === store);
    const jobs = o.plan.filter((j) => lanes.includes(j.lane));
    const twice = jobs.filter((j) => (effectCount.get(j.id) ?? 0) > 1);
    const extra = twice.reduce((n, j) => n + (effectCount.get(j.id) as number) - 1, 0);
    const alsoDead = jobs.filter((j) => completed.has(j.id) && dead.has(j.id));
    const exact = store === 'postgres-tx';
    rows.push(
      {
        check: `side effects applied twice, ${store} store (jobs / extra effects)`,
        expected: exact ? '0 / 0' : undefined,
        actual: `${twice.length} / ${extra}`,
        note: exact ? sample(twice.map((j) => j.id)) : NOTES[store],
      },
      {
        check: `completed and also dead-lettered, ${store} store`,
        expected: exact ? 0 : undefined,
        actual: alsoDead.length,
        note: sample(
          alsoDead.map((j) => `${j.id} (${reasonOf.get(j.id)?.slice(0, 60)})`),
          3,
        ),
      },
    );
  }

  const order = fifoOrder(o.effects);
  rows.push({
    check: `FIFO order per group (${order.groups} groups, effects in commit order)`,
    expected: 0,
    actual: order.violations.length,
    note: sample(order.violations),
  });
  return rows;
}

function remainingNote(remaining: Observed['remaining']): string | undefined {
  if (remaining.length === 0) return undefined;
  const now = Date.now();
  return LANES.map((lane) => {
    const left = remaining.filter((r) => r.lane === lane);
    if (left.length === 0) return undefined;
    const latest = Math.max(...left.map((r) => (r.visibleAt ?? now) - now));
    return `${lane} ${left.length} (visible within ${Math.round(latest / 1000)} s)`;
  })
    .filter(Boolean)
    .join(', ');
}

const NOTES = {
  memory:
    'each worker process has its own memory store, lost when it is killed: a job whose process died after the effect, or that another process also received, runs again',
  dynamodb:
    'the record and the effect are two writes: a kill between the effect and the completion runs the job again once its lock ends',
} as const;

/** In each FIFO group, sequence numbers must rise in commit order (dead-lettered ones are skipped). */
export function fifoOrder(effects: readonly Effect[]): { groups: number; violations: string[] } {
  const last = new Map<string, number>();
  const violations: string[] = [];
  for (const e of effects) {
    if (e.group === null || e.seq === null) continue;
    const before = last.get(e.group) ?? 0;
    if (e.seq <= before) violations.push(`${e.group}: ${e.seq} after ${before}`);
    last.set(e.group, Math.max(before, e.seq));
  }
  return { groups: last.size, violations };
}
