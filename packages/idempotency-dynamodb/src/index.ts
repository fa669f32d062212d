export type { DynamoDbClientLike, DynamoDbStore, DynamoDbStoreOptions } from './store.ts';
export { dynamoDbStore } from './store.ts';
