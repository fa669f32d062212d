export { otelPlugin } from './plugin.ts';
export type { OtelPluginOptions } from './types.ts';
