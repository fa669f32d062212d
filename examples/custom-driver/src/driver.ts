import type {
  DeadLetterInfo,
  Duration,
  OutgoingMessage,
  QueueDriver,
  QueueInfo,
  ReceivedMessage,
  SendResult,
} from '@glasswork/core';
import { ConfigurationError, GlassworkError, parseDuration } from '@glasswork/core';

/** What the driver needs of a database client; `pg`'s Pool and Client and PGlite all fit. */
export interface SqlClient {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

export interface PostgresQueueOptions {
  /** FIFO: groups in order, one group member in flight at a time. @default name ends in `.fifo` */
  fifo?: boolean;
  /** Receives before a message is moved to the dead letters without a reason. @default 10 */
  maxReceiveCount?: number;
  /** How long a received message stays invisible. @default '30s' */
  visibilityTimeout?: Duration;
}

export interface PostgresDriverOptions extends PostgresQueueOptions {
  db: SqlClient;
  /** Per-queue settings; other queues get the top-level ones. */
  queues?: Record<string, PostgresQueueOptions>;
  /** Largest message accepted. @default 1 MiB */
  maxMessageBytes?: number;
  /** The clock, epoch ms; tests pass a virtual one. @default Date.now */
  now?: () => number;
}

interface Row {
  id: number | string;
  message_id: string;
  body: string;
  attributes: Record<string, string> | string;
  group_id: string | null;
  sent_at: number;
  receive_count: number;
  received_at: number;
  receipt: string;
}

/**
 * A Glasswork driver for a Postgres table: receives use `FOR UPDATE SKIP LOCKED`, so any number of
 * workers share a queue; FIFO queues keep each group in order. Times are epoch milliseconds computed in
 * JavaScript, so one clock rules sends, receives and visibility.
 */
export function postgresQueueDriver(options: PostgresDriverOptions): QueueDriver {
  const { db } = options;
  if (!db || typeof db.query !== 'function') {
    throw new ConfigurationError('postgresQueueDriver needs db: a pg Pool, a pg Client or a PGlite instance');
  }
  const now = options.now ?? Date.now;
  const maxMessageBytes = options.maxMessageBytes ?? 1_048_576;

  const settings = (queue: string) => {
    const own = { ...options, ...options.queues?.[queue] };
    return {
      fifo: own.fifo ?? queue.endsWith('.fifo'),
      maxReceiveCount: own.maxReceiveCount ?? 10,
      visibilityMs: parseDuration(own.visibilityTimeout ?? '30s'),
    };
  };

  async function sendOne(queue: string, message: OutgoingMessage, fifo: boolean): Promise<SendResult> {
    if (message.bytes > maxMessageBytes) {
      return {
        ok: false,
        error: new GlassworkError(`message of ${message.bytes} bytes is over ${maxMessageBytes}`),
      };
    }
    const at = now();
    const dedupe = fifo ? (message.dedupeId ?? message.id) : null;
    const { rows } = await db.query<{ message_id: string }>(
      `INSERT INTO glasswork_messages (queue, message_id, body, attributes, group_id, dedupe_id, sent_at, visible_at)
       VALUES ($1, gen_random_uuid()::text, $2, $3::jsonb, $4, $5, $6, $7)
       ON CONFLICT (queue, dedupe_id) WHERE dedupe_id IS NOT NULL DO NOTHING
       RETURNING message_id`,
      [
        queue,
        message.body,
        JSON.stringify(message.attributes),
        message.groupId ?? null,
        dedupe,
        at,
        at + message.delaySeconds * 1000,
      ],
    );
    if (rows[0]) return { ok: true, messageId: rows[0].message_id };
    // A FIFO duplicate: accepted, as SQS does, with the id of the message already queued.
    const existing = await db.query<{ message_id: string }>(
      'SELECT message_id FROM glasswork_messages WHERE queue = $1 AND dedupe_id = $2',
      [queue, dedupe],
    );
    return { ok: true, messageId: existing.rows[0]?.message_id };
  }

  return {
    name: 'postgres',
    now,
    capabilities: {
      maxBatchSize: 100,
      maxBatchBytes: 10 * 1_048_576,
      maxDelaySeconds: 365 * 86_400,
      fifo: true,
      fifoDelay: true,
    },

    async describeQueue(queue): Promise<QueueInfo> {
      const { fifo, maxReceiveCount } = settings(queue);
      return { fifo, maxMessageBytes, maxReceiveCount };
    },

    async send(queue, messages) {
      const { fifo } = settings(queue);
      const results: SendResult[] = [];
      const failedGroups = new Set<string>();
      // One after another, so a FIFO group keeps its order; a failure stops only the rest of its group.
      for (const message of messages) {
        if (fifo && !message.groupId) {
          results.push({
            ok: false,
            error: new GlassworkError('a message group is required on FIFO queues'),
          });
          continue;
        }
        if (fifo && failedGroups.has(message.groupId as string)) {
          results.push({
            ok: false,
            error: new GlassworkError('not sent: an earlier message of its group failed'),
          });
          continue;
        }
        const result = await sendOne(queue, message, fifo).catch((error: Error) => ({
          ok: false as const,
          error,
        }));
        if (!result.ok && fifo) failedGroups.add(message.groupId as string);
        results.push(result);
      }
      return results;
    },

    async receive(queue, { maxMessages, visibilityTimeoutMs }) {
      const { fifo, maxReceiveCount, visibilityMs } = settings(queue);
      const at = now();
      // What the redrive policy moves: received maxReceiveCount times and visible again.
      await db.query(
        `WITH moved AS (
           DELETE FROM glasswork_messages
            WHERE queue = $1::text AND visible_at <= $2::float8 AND receive_count >= $3::int
           RETURNING message_id, body, attributes, receive_count)
         INSERT INTO glasswork_dead_letters (queue, message_id, body, attributes, receive_count, info, dead_at)
         SELECT $1::text, message_id, body, attributes, receive_count,
                jsonb_build_object('reason', 'moved by the redrive policy after ' || receive_count || ' receives'),
                $2::float8
         FROM moved`,
        [queue, at, maxReceiveCount],
      );
      // FIFO: a group with any invisible message is blocked; an advisory lock serialises FIFO receives
      // of one queue, since SKIP LOCKED could otherwise hand a later message of a group to a second worker.
      const { rows } = await db.query<Row>(
        `WITH lock AS (SELECT CASE WHEN $5::boolean THEN pg_advisory_xact_lock(hashtext($1::text)) END AS held)
         UPDATE glasswork_messages m
            SET receive_count = receive_count + 1, received_at = $2::float8,
                visible_at = $2::float8 + $3::float8, receipt = gen_random_uuid()::text
          WHERE id IN (
            SELECT c.id FROM glasswork_messages c, lock
             WHERE c.queue = $1::text AND c.visible_at <= $2::float8
               AND (NOT $5::boolean OR NOT EXISTS (
                 SELECT 1 FROM glasswork_messages b
                  WHERE b.queue = c.queue AND b.group_id = c.group_id AND b.visible_at > $2::float8))
             ORDER BY c.id LIMIT $4::int FOR UPDATE OF c SKIP LOCKED)
         RETURNING id, message_id, body, attributes, group_id, sent_at, receive_count, received_at, receipt`,
        [queue, at, visibilityTimeoutMs ?? visibilityMs, maxMessages, fifo],
      );
      // RETURNING has no order; the queue's order is the id's.
      rows.sort((a, b) => Number(a.id) - Number(b.id));
      return rows.map(
        (row): ReceivedMessage => ({
          messageId: row.message_id,
          body: row.body,
          receiveCount: Number(row.receive_count),
          queue,
          attributes: typeof row.attributes === 'string' ? JSON.parse(row.attributes) : row.attributes,
          groupId: row.group_id ?? undefined,
          sentAt: Number(row.sent_at),
          receivedAt: Number(row.received_at),
          maxReceiveCount,
          deadline: Number(row.received_at) + (visibilityTimeoutMs ?? visibilityMs),
          receipt: row.receipt,
        }),
      );
    },

    async ack(queue, messages) {
      if (messages.length === 0) return;
      await db.query('DELETE FROM glasswork_messages WHERE queue = $1 AND receipt = ANY($2::text[])', [
        queue,
        messages.map((m) => m.receipt),
      ]);
    },

    async release(queue, message, delaySeconds) {
      await db.query('UPDATE glasswork_messages SET visible_at = $3 WHERE queue = $1 AND receipt = $2', [
        queue,
        message.receipt,
        now() + delaySeconds * 1000,
      ]);
    },

    async deadLetter(queue, message, info: DeadLetterInfo) {
      const { rows } = await db.query(
        `WITH moved AS (DELETE FROM glasswork_messages WHERE queue = $1 AND receipt = $2
                        RETURNING message_id, body, attributes, receive_count)
         INSERT INTO glasswork_dead_letters (queue, message_id, body, attributes, receive_count, info, dead_at)
         SELECT $1, message_id, body, attributes, receive_count, $3::jsonb, $4 FROM moved
         RETURNING id`,
        [queue, message.receipt, JSON.stringify(info), now()],
      );
      if (rows.length === 0) {
        throw new GlassworkError(
          `message ${message.messageId} is no longer held by this receive (its visibility ran out)`,
        );
      }
    },
  };
}
