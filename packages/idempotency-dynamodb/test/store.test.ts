import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ConfigurationError } from '@glasswork/core';
import { storeTestSuite } from '@glasswork/idempotency';
import { dynamoDbStore } from '@glasswork/idempotency-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynamo } from './dynamo.ts';

let dynamo: Awaited<ReturnType<typeof startDynamo>>;
beforeAll(async () => {
  dynamo = await startDynamo();
});
afterAll(() => dynamo?.stop());

const T0 = Date.parse('2030-01-01T00:00:00Z');

storeTestSuite({ it, expect }, () => dynamoDbStore({ client: dynamo.client, table: dynamo.table }), {
  name: 'dynamodb store',
});

describe('dynamoDbStore on dynalite', () => {
  const item = async (key: string) =>
    (await dynamo.client.send(new GetItemCommand({ TableName: dynamo.table, Key: { id: { S: key } } }))).Item;

  it('writes the TTL attribute in epoch seconds: the lock end, then the retention end', async () => {
    const store = dynamoDbStore({ client: dynamo.client, table: dynamo.table });
    const claim = await store.claim('ttl-1', { now: T0, lockExpiresAt: T0 + 1500 });
    expect((await item('ttl-1'))?.expiration).toEqual({ N: String(T0 / 1000 + 2) });
    const token = (claim as { token: string }).token;
    await store.complete({ key: 'ttl-1', token }, { now: T0, expiresAt: T0 + 86_400_000 });
    expect((await item('ttl-1'))?.expiration).toEqual({ N: String(T0 / 1000 + 86_400) });
  });

  it('uses the configured attribute names', async () => {
    const store = dynamoDbStore({ client: dynamo.client, table: dynamo.table, ttlAttribute: 'ttl' });
    await store.claim('names-1', { now: T0, lockExpiresAt: T0 + 1000 });
    expect(await item('names-1')).toMatchObject({ id: { S: 'names-1' }, ttl: { N: String(T0 / 1000 + 1) } });
  });

  it('completes without the result when it is over maxResultBytes', async () => {
    const store = dynamoDbStore({ client: dynamo.client, table: dynamo.table, maxResultBytes: 100 });
    const claim = await store.claim('big-1', { now: T0, lockExpiresAt: T0 + 1000 });
    const lease = { key: 'big-1', token: (claim as { token: string }).token };
    expect(await store.complete(lease, { now: T0, expiresAt: T0 + 5000, result: 'x'.repeat(200) })).toBe(
      true,
    );
    expect(await store.get('big-1', { now: T0 })).toMatchObject({ status: 'completed', result: undefined });
  });

  // Real DynamoDB returns the conflicting item with the failure; dynalite does not, so that shape is added here.
  it('uses the item returned with a failed condition instead of reading it again', async () => {
    const store = dynamoDbStore({ client: dynamo.client, table: dynamo.table });
    await store.claim('held-1', { now: T0, lockExpiresAt: T0 + 60_000, hash: 'h' });
    const sent: string[] = [];
    const client = {
      async send(command: { constructor: { name: string } }) {
        sent.push(command.constructor.name);
        try {
          return await dynamo.client.send(command as never);
        } catch (error) {
          if (!(command instanceof PutItemCommand)) throw error;
          throw Object.assign(error as Error, { Item: await item('held-1') });
        }
      },
    } as unknown as DynamoDBClient;
    const claim = await dynamoDbStore({ client, table: dynamo.table }).claim('held-1', {
      now: T0 + 1,
      lockExpiresAt: T0 + 2,
    });
    expect(claim).toMatchObject({ status: 'in_progress', record: { hash: 'h', expiresAt: T0 + 60_000 } });
    expect(sent).toEqual(['PutItemCommand']);
  });

  it('takes its own claim back when the SDK retried a PutItem whose answer was lost', async () => {
    // The first PutItem succeeds but its response never arrives; the SDK sends it again with the same token,
    // and that second one fails the condition against the item the first one wrote.
    const client = {
      async send(command: unknown) {
        if (command instanceof PutItemCommand) await dynamo.client.send(command);
        return dynamo.client.send(command as never);
      },
    } as unknown as DynamoDBClient;
    const claim = await dynamoDbStore({ client, table: dynamo.table }).claim('retried-1', {
      now: T0,
      lockExpiresAt: T0 + 60_000,
    });
    expect(claim.status).toBe('acquired');
  });

  it('claims again when the record it lost to is gone by the time it reads', async () => {
    let failures = 1;
    const client = {
      send(command: unknown) {
        if (command instanceof PutItemCommand && failures-- > 0) {
          return Promise.reject(new ConditionalCheckFailedException({ message: 'raced', $metadata: {} }));
        }
        return dynamo.client.send(command as never);
      },
    } as unknown as DynamoDBClient;
    const claim = await dynamoDbStore({ client, table: dynamo.table }).claim('raced-1', {
      now: T0,
      lockExpiresAt: T0 + 1000,
    });
    expect(claim.status).toBe('acquired');
  });

  it('passes other DynamoDB errors through', async () => {
    const store = dynamoDbStore({ client: dynamo.client, table: 'no-such-table' });
    await expect(store.claim('k', { now: T0, lockExpiresAt: T0 + 1000 })).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('refuses options that cannot work', () => {
    expect(() => dynamoDbStore({ client: undefined as never, table: 't' })).toThrow(ConfigurationError);
    expect(() => dynamoDbStore({ client: dynamo.client, table: '' })).toThrow(/needs the table name/);
    expect(() => dynamoDbStore({ client: dynamo.client, table: 'tbl', keyAttribute: 'status' })).toThrow(
      /clashes with an attribute/,
    );
  });
});
