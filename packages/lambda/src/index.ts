export type {
  EventSourceMapping,
  EventSourceMappingOptions,
  EventSourceMappingStats,
  SqsLambdaHandler,
} from './event-source-mapping.ts';
export { runEventSourceMapping } from './event-source-mapping.ts';
