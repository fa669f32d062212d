import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { JobContext } from '@glasswork/core';
import { createWorker, PermanentJobError, TransientJobError } from '@glasswork/core';
import type { IdempotencyContext, IdempotencyStore } from '@glasswork/idempotency';
import { idempotencyPlugin, memoryStore } from '@glasswork/idempotency';
import { dynamoDbStore } from '@glasswork/idempotency-dynamodb';
import { postgresStore } from '@glasswork/idempotency-postgres';
import { createSqsHandler, runEventSourceMapping } from '@glasswork/lambda';
import { createPoller, sqsDriver } from '@glasswork/sqs';
import pg from 'pg';
import { chaosJob } from './jobs.ts';
import type { ChaosPayload, Lane } from './plan.ts';
import { LANES, STORE_OF } from './plan.ts';
import type { WorkerConfig, WorkerMessage } from './topology.ts';
import { CONFIG_ENV } from './topology.ts';

// A worker process of the fault suite: one worker per queue (each with its queue's idempotency store), run
// by pollers or by the Lambda handler behind a local event source mapping. The parent kills it with
// SIGKILL at random moments; its side effects land in Postgres, outside this process.

const config = JSON.parse(process.env[CONFIG_ENV] ?? 'null') as WorkerConfig;
if (!config) throw new Error(`${CONFIG_ENV} is not set: this file is started by the chaos runner`);
const tell = (message: WorkerMessage) => process.send?.(message);
// Orphans must not outlive the run.
process.on('disconnect', () => process.exit(0));

const sqs = new SQSClient({
  endpoint: config.sqsEndpoint,
  region: config.region,
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
const pool = new pg.Pool({ ...config.postgres, user: 'postgres', database: 'postgres', max: 4 });
pool.on('error', () => {});
const pgStore = postgresStore({ pool });

function storeFor(lane: Lane): IdempotencyStore {
  switch (STORE_OF[lane]) {
    case 'memory':
      return memoryStore();
    case 'dynamodb':
      return dynamoDbStore({
        client: new DynamoDBClient({
          endpoint: config.dynamodb.endpoint,
          region: config.region,
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        }),
        table: config.dynamodb.table,
      });
    case 'postgres-tx':
      return pgStore;
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

const INSERT =
  'INSERT INTO effects (job_id, lane, grp, seq, worker, attempt) VALUES ($1, $2, $3, $4, $5, $6)';

function handlerFor(lane: Lane) {
  const transactional = STORE_OF[lane] === 'postgres-tx';
  return async (payload: ChaosPayload, ctx: JobContext & { idempotency: IdempotencyContext }) => {
    if (payload.fate === 'permanent') throw new PermanentJobError('planned permanent failure');
    if (payload.fate === 'exhaust') throw new Error(`planned failure on every attempt (${ctx.attempt})`);
    if (payload.fate === 'transient' && ctx.attempt <= (payload.fail ?? 0)) {
      throw new TransientJobError(`planned transient failure ${ctx.attempt} of ${payload.fail}`);
    }
    if (payload.ms) await sleep(payload.ms, ctx.signal);
    const values = [ctx.jobId, lane, payload.group ?? null, payload.seq ?? null, config.label, ctx.attempt];
    if (!transactional) {
      await pool.query(INSERT, values);
      return;
    }
    // The side effect and the idempotency record commit together, or not at all.
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(INSERT, values);
      await pgStore.completeInTransaction(client, ctx.idempotency.lease);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  };
}

function workerFor(lane: Lane) {
  const plugin = idempotencyPlugin({
    store: storeFor(lane),
    lockTimeout: config.lockTimeoutMs,
    onError: () => {}, // store failures that cannot change an outcome: the invariants count what matters
  });
  return createWorker({ plugins: [plugin] }).handle(chaosJob, handlerFor(lane), {
    retry: { maxAttempts: config.maxAttempts, backoff: { type: 'fixed', delay: config.retryDelayMs } },
    timeout: config.jobTimeoutMs,
  });
}

const driver = sqsDriver({ client: sqs, endpoint: config.sqsEndpoint, queues: config.queues });
const stops: (() => Promise<void>)[] = [];
try {
  for (const lane of LANES) {
    const worker = workerFor(lane);
    if (config.mode === 'poller') {
      const poller = createPoller({
        worker,
        driver,
        queue: lane,
        concurrency: config.concurrency,
        waitTime: '1s',
        gracePeriod: '2s',
        handleSignals: false,
      });
      await poller.start();
      stops.push(() => poller.stop());
    } else {
      const mapping = runEventSourceMapping({
        client: sqs,
        queueUrl: config.queues[lane],
        handler: createSqsHandler(worker, { driver, deadlineMargin: '2s' }),
        timeout: config.functionTimeoutMs,
        waitTime: '1s',
        concurrency: Math.max(1, Math.ceil(config.concurrency / 10)),
      });
      stops.push(() => mapping.stop());
    }
  }
  tell({ type: 'ready' });
} catch (error) {
  tell({ type: 'error', error: String((error as Error)?.stack ?? error) });
  process.exit(1);
}

process.once('SIGTERM', async () => {
  await Promise.all(stops.map((stop) => stop().catch(() => {})));
  await pool.end().catch(() => {});
  process.exit(0);
});
