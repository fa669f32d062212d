import type { WriteStream } from 'node:fs';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createClient, type EnqueueEntry, JOB_NAME_ATTRIBUTE } from '@glasswork/core';
import { DEAD_LETTER_ATTRIBUTE, sqsDriver } from '@glasswork/sqs';
import type { FaultKind, FaultMix } from './fault-proxy.ts';
import { NO_FAULTS } from './fault-proxy.ts';
import type { DeadLetter, Effect } from './invariants.ts';
import { checkInvariants, reasonKind } from './invariants.ts';
import { chaosJob } from './jobs.ts';
import type { FateMix, Lane, PlannedJob } from './plan.ts';
import { LANES, planJobs } from './plan.ts';
import { WorkerSlot } from './processes.ts';
import { createRng } from './rng.ts';
import type { Services } from './services.ts';
import { startServices } from './services.ts';
import type { CheckRow } from './table.ts';
import type { WorkerConfig } from './topology.ts';

export interface ChaosOptions {
  readonly jobs: number;
  readonly seed: number;
  /** Worker processes; even ones run pollers, odd ones the Lambda handler behind a mapping. */
  readonly processes: number;
  /** SIGKILLs over the run (each followed by a restart). */
  readonly kills: number;
  /** Mean time between kills, ms. */
  readonly killEveryMs: number;
  readonly restartDelayMs: number;
  readonly faults: FaultMix;
  readonly fates: FateMix;
  readonly fifoShare: number;
  readonly fifoGroups: number;
  readonly slowMs: number;
  readonly maxAttempts: number;
  readonly jobTimeoutMs: number;
  readonly retryDelayMs: number;
  readonly functionTimeoutMs: number;
  readonly visibilityTimeoutSeconds: number;
  readonly maxReceiveCount: number;
  /** Jobs at once per queue in each process. */
  readonly concurrency: number;
  /** Give up waiting for the queues to empty after this long, ms; what is left is reported. */
  readonly maxRunMs: number;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

export const DEFAULT_CHAOS: ChaosOptions = {
  jobs: 10_000,
  seed: 1,
  processes: 2,
  kills: 12,
  killEveryMs: 4000,
  restartDelayMs: 500,
  faults: {
    drop: 0.02,
    delay: 0.05,
    throttle: 0.03,
    serverError: 0.02,
    loseResponse: 0.02,
    delayMs: [50, 1500],
  },
  fates: { transient: 0.1, permanent: 0.03, exhaust: 0.02, slow: 0.05 },
  fifoShare: 0.2,
  fifoGroups: 20,
  slowMs: 2000,
  maxAttempts: 4,
  jobTimeoutMs: 5000,
  retryDelayMs: 1000,
  functionTimeoutMs: 10_000,
  visibilityTimeoutSeconds: 10,
  maxReceiveCount: 10,
  concurrency: 10,
  maxRunMs: 15 * 60_000,
};

export interface ChaosReport {
  readonly options: ChaosOptions;
  readonly rows: CheckRow[];
  /** Requests through the proxy by SQS action and what happened to them. */
  readonly faults: ReadonlyMap<string, Record<FaultKind, number>>;
  /** Dead-letter reasons, shortened, with counts. */
  readonly reasons: ReadonlyMap<string, number>;
  readonly kills: number;
  readonly starts: number;
  /** Process starts that failed and were tried again (setup requests lost to the faults). */
  readonly failedStarts: number;
  readonly settled: boolean;
  readonly durationMs: number;
  /** Where the worker processes' output went. */
  readonly logFile: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Enqueues every job through the proxy, sending again (same ids) what was not accepted, in order. */
async function produce(
  services: Services,
  plan: readonly PlannedJob[],
  accepted: Set<string>,
  log: (l: string) => void,
) {
  const client = new SQSClient({
    endpoint: services.proxy.endpoint,
    region: services.sqs.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const glass = createClient({
    driver: sqsDriver({ client, endpoint: services.proxy.endpoint, queues: services.queueUrls }),
  });
  let pending = [...plan];
  for (let round = 0; pending.length > 0 && round < 10_000; round++) {
    const batch = pending.slice(0, 500);
    const entries: EnqueueEntry[] = batch.map((job) => ({
      job: chaosJob,
      payload: job.payload,
      options: { id: job.id, queue: job.lane },
    }));
    const results = await glass.enqueueMany(entries);
    const failed = batch.filter((job, i) => {
      if (results[i]?.ok) accepted.add(job.id);
      return !results[i]?.ok;
    });
    // Failed entries go first again, so a FIFO group is sent in order.
    pending = [...failed, ...pending.slice(batch.length)];
    if (failed.length > 0) await sleep(100);
    if (round % 10 === 9) log(`produced ${accepted.size}/${plan.length}`);
  }
  client.destroy();
}

const jobIdOf = (body: string): string | undefined => {
  try {
    const id = (JSON.parse(body) as { id?: unknown }).id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
};

function allMessages(services: Services, name: string) {
  const q = services.sqs.server.inspectQueue(name);
  if (!q) return [];
  return [...q.messages.ready, ...q.messages.delayed, ...q.messages.inflight.map((e) => e.message)];
}

/**
 * Runs the fault suite: starts the services, plans the jobs, starts the worker processes, enqueues every
 * job through the fault proxy, kills workers with SIGKILL at random moments and restarts them, waits until
 * every queue is empty, then reads the side effects and the dead-letter queues and checks the invariants.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'glasswork-chaos-'));
  const logFile = join(dir, 'workers.log');
  const out: WriteStream = createWriteStream(logFile);
  const services = await startServices(options);
  const slots: WorkerSlot[] = [];
  try {
    const plan = planJobs(options);
    const base: Omit<WorkerConfig, 'mode' | 'label'> = {
      sqsEndpoint: services.proxy.endpoint,
      region: services.sqs.region,
      queues: services.queueUrls,
      postgres: { host: services.gate.host, port: services.gate.port },
      dynamodb: services.dynamodb,
      concurrency: options.concurrency,
      maxAttempts: options.maxAttempts,
      jobTimeoutMs: options.jobTimeoutMs,
      retryDelayMs: options.retryDelayMs,
      lockTimeoutMs: options.jobTimeoutMs + 3000,
      functionTimeoutMs: options.functionTimeoutMs,
    };
    for (let i = 0; i < options.processes; i++) {
      const mode = i % 2 === 0 ? 'poller' : 'lambda';
      slots.push(new WorkerSlot({ ...base, mode, label: `${mode}-${i}` }, out));
    }
    await Promise.all(slots.map((s) => s.supervise()));
    log(
      `${slots.length} worker processes up after ${Date.now() - started}ms; enqueueing ${plan.length} jobs`,
    );

    const accepted = new Set<string>();
    const producing = produce(services, plan, accepted, log);
    let produced = false;
    void producing.then(() => {
      produced = true;
    });

    // Kills at seeded moments, each followed by a restart.
    const rng = createRng(`${options.seed}:kills`);
    let killsLeft = options.kills;
    let nextKill = Date.now() + rng.int(options.killEveryMs / 2, (options.killEveryMs * 3) / 2);
    const restarts: Promise<void>[] = [];
    const sources = LANES.map((lane) => services.queueNames[lane]);
    let settled = false;
    let lastReport = 0;
    while (Date.now() - started < options.maxRunMs) {
      await sleep(200);
      const left = sources.reduce((n, name) => n + services.sqs.count(name), 0);
      if (killsLeft > 0 && Date.now() >= nextKill && (left > 0 || !produced)) {
        const slot = slots[rng.int(0, slots.length - 1)] as WorkerSlot;
        if (slot.running) {
          killsLeft--;
          await slot.kill();
          log(
            `killed ${slot.config.label} (${options.kills - killsLeft}/${options.kills}); ${left} messages left`,
          );
          restarts.push(
            sleep(options.restartDelayMs).then(() =>
              slot.supervise().catch((error) => log(`restart of ${slot.config.label} failed: ${error}`)),
            ),
          );
        }
        nextKill = Date.now() + rng.int(options.killEveryMs / 2, (options.killEveryMs * 3) / 2);
      }
      if (Date.now() - lastReport > 5000) {
        lastReport = Date.now();
        log(
          `${Math.round((Date.now() - started) / 1000)}s: ${accepted.size} accepted, ${left} in the queues (${LANES.map((l) => `${l} ${services.sqs.count(services.queueNames[l])}`).join(', ')})`,
        );
      }
      if (produced && left === 0) {
        settled = true;
        break;
      }
    }
    await producing;
    await Promise.all(restarts);

    // The end state is read without faults, after every worker has stopped.
    services.proxy.setMix(NO_FAULTS);
    await Promise.all(slots.map((s) => s.stop()));
    const rows = await services.gate.exclusive(() =>
      services.db.query<{ job_id: string; lane: Lane; grp: string | null; seq: number | null }>(
        'SELECT job_id, lane, grp, seq FROM effects ORDER BY id',
      ),
    );
    const effects: Effect[] = rows.rows.map((r) => ({
      jobId: r.job_id,
      lane: r.lane,
      group: r.grp,
      seq: r.seq,
    }));
    const deadLetters: DeadLetter[] = [];
    const reasons = new Map<string, number>();
    for (const lane of LANES) {
      for (const m of allMessages(services, services.dlqNames[lane])) {
        const attribute = m.messageAttributes[DEAD_LETTER_ATTRIBUTE]?.StringValue;
        let reason: string | undefined;
        try {
          reason = attribute ? (JSON.parse(attribute) as { reason?: string }).reason : undefined;
        } catch {
          reason = undefined;
        }
        const movedBySqs = !attribute && m.messageAttributes[JOB_NAME_ATTRIBUTE] !== undefined;
        deadLetters.push({ lane, jobId: jobIdOf(m.body), reason, movedBySqs });
        const key =
          reason !== undefined
            ? `${reasonKind(reason)}: ${shorten(reason)}`
            : movedBySqs
              ? '(moved by SQS’s redrive policy: no reason)'
              : '(no reason)';
        reasons.set(key, (reasons.get(key) ?? 0) + 1);
      }
    }
    const remaining = LANES.flatMap((lane) => {
      const q = services.sqs.server.inspectQueue(services.queueNames[lane]);
      if (!q) return [];
      return [
        ...q.messages.ready.map((m) => ({ lane, jobId: jobIdOf(m.body), visibleAt: undefined })),
        ...q.messages.delayed.map((m) => ({ lane, jobId: jobIdOf(m.body), visibleAt: m.delayUntil })),
        ...q.messages.inflight.map((e) => ({
          lane,
          jobId: jobIdOf(e.message.body),
          visibleAt: e.visibilityDeadline,
        })),
      ];
    });
    return {
      options,
      rows: checkInvariants({ plan, accepted, effects, deadLetters, remaining }),
      faults: services.proxy.counts,
      reasons,
      kills: slots.reduce((n, s) => n + s.kills, 0),
      starts: slots.reduce((n, s) => n + s.starts, 0),
      failedStarts: slots.reduce((n, s) => n + s.failedStarts, 0),
      settled,
      durationMs: Date.now() - started,
      logFile,
    };
  } finally {
    await Promise.all(slots.map((s) => s.kill({ count: false })));
    await services.stop();
    out.end();
  }
}

/** A reason without its numbers, so reasons of the same kind count together. */
function shorten(reason: string): string {
  return reason
    .replace(/\d+/g, 'N')
    .replace(/"[^"]*"/g, '"…"')
    .slice(0, 90);
}
