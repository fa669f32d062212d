import { PGlite } from '@electric-sql/pglite';
import { postgresStore } from '@glasswork/idempotency-postgres';
import type { LocalSqs } from '@glasswork/sqs/local';
import { startLocalSqs } from '@glasswork/sqs/local';
import { startDynamo } from './dynamo.ts';
import type { FaultMix, FaultProxy } from './fault-proxy.ts';
import { startFaultProxy } from './fault-proxy.ts';
import type { PgGate } from './pg-gate.ts';
import { startPgGate } from './pg-gate.ts';
import type { Lane } from './plan.ts';
import { LANES } from './plan.ts';

/** What a run talks to, all in this process on loopback: SQS behind the fault proxy, Postgres, DynamoDB. */
export interface Services {
  readonly sqs: LocalSqs;
  readonly proxy: FaultProxy;
  /** Queue names per lane (source queues; each has `<name>-dlq`). */
  readonly queueNames: Readonly<Record<Lane, string>>;
  readonly queueUrls: Readonly<Record<Lane, string>>;
  readonly dlqNames: Readonly<Record<Lane, string>>;
  readonly db: PGlite;
  readonly gate: PgGate;
  readonly dynamodb: { readonly endpoint: string; readonly table: string };
  stop(): Promise<void>;
}

export interface ServiceOptions {
  readonly faults: FaultMix;
  readonly seed: number;
  readonly visibilityTimeoutSeconds: number;
  readonly maxReceiveCount: number;
}

const EFFECTS = `CREATE TABLE effects (
  id bigserial PRIMARY KEY,
  job_id text NOT NULL,
  lane text NOT NULL,
  grp text,
  seq int,
  worker text NOT NULL,
  attempt int NOT NULL
)`;

export async function startServices(options: ServiceOptions): Promise<Services> {
  const sqs = await startLocalSqs();
  const queueNames = {} as Record<Lane, string>;
  const queueUrls = {} as Record<Lane, string>;
  const dlqNames = {} as Record<Lane, string>;
  for (const lane of LANES) {
    const fifo = lane === 'fifo';
    const queue = sqs.createQueue({
      name: fifo ? 'chaos-fifo.fifo' : `chaos-${lane}`,
      visibilityTimeout: options.visibilityTimeoutSeconds,
      maxReceiveCount: options.maxReceiveCount,
    });
    queueNames[lane] = queue.name;
    queueUrls[lane] = queue.url;
    dlqNames[lane] = queue.deadLetter!.name;
  }
  const proxy = await startFaultProxy({ target: sqs.endpoint, mix: options.faults, seed: options.seed });

  const db = await PGlite.create();
  await postgresStore({ pool: db }).migrate();
  await db.exec(EFFECTS);
  const gate = await startPgGate(db);

  // The table as the DynamoDB store's README describes it, on dynalite.
  const dynamo = await startDynamo();

  return {
    sqs,
    proxy,
    queueNames,
    queueUrls,
    dlqNames,
    db,
    gate,
    dynamodb: { endpoint: dynamo.endpoint, table: dynamo.table },
    async stop() {
      await proxy.stop();
      await gate.stop();
      await dynamo.stop();
      await sqs.stop();
      await db.close();
    },
  };
}
