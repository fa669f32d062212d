export { pinoPlugin } from './plugin.ts';
export type { PinoContext, PinoPluginOptions } from './types.ts';
