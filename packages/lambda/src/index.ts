export type {
  EventSourceMapping,
  EventSourceMappingOptions,
  EventSourceMappingStats,
  SqsLambdaHandler,
} from './event-source-mapping.ts';
export { runEventSourceMapping } from './event-source-mapping.ts';
export type { SqsHandlerOptions } from './handler.ts';
export { createSqsHandler, FullBatchFailureError } from './handler.ts';
export { queueNameOf, toDelivery } from './records.ts';
