import { randomUUID } from 'node:crypto';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ConfigurationError } from '@glasswork/core';
import type { ClaimResult, IdempotencyRecord, IdempotencyStore, JsonValue } from '@glasswork/idempotency';

/** The part of a `DynamoDBClient` the store uses. */
export type DynamoDbClientLike = Pick<DynamoDBClient, 'send'>;

/** Options of `dynamoDbStore`. */
export interface DynamoDbStoreOptions {
  /** Your client, configured with its region, credentials and (in tests) `endpoint`. */
  readonly client: DynamoDbClientLike;
  /** The table: a string partition key (`keyAttribute`) and no sort key. */
  readonly table: string;
  /** Name of the partition key attribute. @default 'id' */
  readonly keyAttribute?: string;
  /** Name of the attribute DynamoDB's TTL is enabled on (epoch seconds). @default 'expiration' */
  readonly ttlAttribute?: string;
  /**
   * Results whose JSON is larger than this are not stored (the record is still completed), so an item
   * stays under DynamoDB's 400 KB limit.
   * @default 350000
   */
  readonly maxResultBytes?: number;
}

/** The store, with the table it writes to. */
export interface DynamoDbStore extends IdempotencyStore {
  readonly table: string;
}

const STATUS = '#status';
const TOKEN = '#token';
const EXPIRES = '#expiresAt';
const CLAIM_TRIES = 5;

/**
 * An idempotency store on one DynamoDB table. Every operation is one conditional write on one item, so no
 * transactions are needed and the store works on any table class. An expired record counts as absent in
 * the conditions themselves, so DynamoDB's TTL (which deletes late, within days) only reclaims space.
 */
export function dynamoDbStore(options: DynamoDbStoreOptions): DynamoDbStore {
  const { client, table } = options;
  if (!client || typeof client.send !== 'function') {
    throw new ConfigurationError(
      'dynamoDbStore needs a client: pass { client: new DynamoDBClient({ region }) }',
    );
  }
  if (typeof table !== 'string' || table.length < 3) {
    throw new ConfigurationError(
      'dynamoDbStore needs the table name: pass { table: "glasswork-idempotency" }',
    );
  }
  const keyAttribute = options.keyAttribute ?? 'id';
  const ttlAttribute = options.ttlAttribute ?? 'expiration';
  const maxResultBytes = options.maxResultBytes ?? 350_000;
  const reserved = ['status', 'token', 'hash', 'result', 'expiresAt'];
  for (const [option, name] of [
    ['keyAttribute', keyAttribute],
    ['ttlAttribute', ttlAttribute],
  ] as const) {
    if (reserved.includes(name) || keyAttribute === ttlAttribute) {
      throw new ConfigurationError(
        `dynamoDbStore: ${option} "${name}" clashes with an attribute the store writes (${reserved.join(', ')}, and the other of keyAttribute and ttlAttribute): pick another name`,
      );
    }
  }
  const keyOf = (key: string) => ({ [keyAttribute]: { S: key } });

  const read = async (key: string): Promise<Record<string, AttributeValue> | undefined> => {
    const out = await client.send(
      new GetItemCommand({ TableName: table, Key: keyOf(key), ConsistentRead: true }),
    );
    return out.Item;
  };
  const live = (item: Record<string, AttributeValue> | undefined, key: string, now: number) => {
    const record = item && toRecord(item, key);
    return record && record.expiresAt > now ? record : undefined;
  };

  return {
    name: 'dynamodb',
    table,
    async claim(key, { now, lockExpiresAt, hash }): Promise<ClaimResult> {
      for (let attempt = 1; ; attempt++) {
        const token = randomUUID();
        try {
          await client.send(
            new PutItemCommand({
              TableName: table,
              Item: {
                ...keyOf(key),
                status: { S: 'in_progress' },
                token: { S: token },
                ...(hash === undefined ? {} : { hash: { S: hash } }),
                expiresAt: { N: String(lockExpiresAt) },
                [ttlAttribute]: { N: String(Math.ceil(lockExpiresAt / 1000)) },
              },
              ConditionExpression: `attribute_not_exists(#key) OR ${EXPIRES} <= :now`,
              ExpressionAttributeNames: { '#key': keyAttribute, [EXPIRES]: 'expiresAt' },
              ExpressionAttributeValues: { ':now': { N: String(now) } },
              // DynamoDB returns the item that failed the condition; emulators may not, hence the read below.
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          );
          return { status: 'acquired', token };
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
          const item = error.Item ?? (await read(key));
          // The SDK retried a PutItem that had succeeded (its answer was lost): the item is our own claim.
          if (item?.token?.S === token) return { status: 'acquired', token };
          const record = live(item, key, now);
          if (record) return { status: record.status, record };
          // Released or expired between the write and the read: try again.
          if (attempt >= CLAIM_TRIES) throw error;
        }
      }
    },
    async complete({ key, token }, { expiresAt, result }) {
      const json = result === undefined ? undefined : JSON.stringify(result);
      const keep = json !== undefined && Buffer.byteLength(json) <= maxResultBytes;
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: table,
            Key: keyOf(key),
            UpdateExpression: `SET ${STATUS} = :completed, ${EXPIRES} = :exp, #ttl = :ttl${keep ? ', #result = :result' : ''}`,
            ConditionExpression: `${TOKEN} = :token`,
            ExpressionAttributeNames: {
              [STATUS]: 'status',
              [EXPIRES]: 'expiresAt',
              [TOKEN]: 'token',
              '#ttl': ttlAttribute,
              ...(keep ? { '#result': 'result' } : {}),
            },
            ExpressionAttributeValues: {
              ':completed': { S: 'completed' },
              ':exp': { N: String(expiresAt) },
              ':ttl': { N: String(Math.ceil(expiresAt / 1000)) },
              ':token': { S: token },
              ...(keep ? { ':result': { S: json } } : {}),
            },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },
    async release({ key, token }) {
      try {
        await client.send(
          new DeleteItemCommand({
            TableName: table,
            Key: keyOf(key),
            ConditionExpression: `${TOKEN} = :token AND ${STATUS} = :inProgress`,
            ExpressionAttributeNames: { [TOKEN]: 'token', [STATUS]: 'status' },
            ExpressionAttributeValues: { ':token': { S: token }, ':inProgress': { S: 'in_progress' } },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },
    async get(key, { now }) {
      return live(await read(key), key, now);
    },
  };
}

function isConditionFailure(error: unknown): error is ConditionalCheckFailedException {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as { name?: unknown })?.name === 'ConditionalCheckFailedException'
  );
}

function toRecord(item: Record<string, AttributeValue>, key: string): IdempotencyRecord {
  const status = item.status?.S === 'completed' ? 'completed' : 'in_progress';
  const result = item.result?.S;
  return {
    key,
    status,
    hash: item.hash?.S,
    result: result === undefined ? undefined : (JSON.parse(result) as JsonValue),
    expiresAt: Number(item.expiresAt?.N ?? 0),
  };
}
