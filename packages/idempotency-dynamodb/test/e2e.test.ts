import { dynamoDbStore } from '@glasswork/idempotency-dynamodb';
import { afterAll, beforeAll, describe } from 'vitest';
import { idempotencyScenarios, mockHarness } from '../../idempotency/test/scenarios.ts';
import { startDynamo } from './dynamo.ts';

let dynamo: Awaited<ReturnType<typeof startDynamo>>;
beforeAll(async () => {
  dynamo = await startDynamo();
});
afterAll(() => dynamo?.stop());

describe('idempotency end to end: dynamodb store on dynalite, mock drain', () => {
  idempotencyScenarios(mockHarness, () => dynamoDbStore({ client: dynamo.client, table: dynamo.table }));
});
