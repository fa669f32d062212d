import type { LevelWithSilentOrString, Logger, redactOptions } from 'pino';

/** Options of `pinoPlugin`. */
export interface PinoPluginOptions {
  /** Your logger; the plugin logs through a child of it. */
  logger: Logger;
  /** Level of the plugin's lines and of `ctx.log` (`'silent'`, or a custom level of the logger). @default the logger's level */
  level?: LevelWithSilentOrString;
  /**
   * Paths to redact in the plugin's lines and in `ctx.log` (`'payload.card'`). As with any pino child,
   * these replace the logger's own `redact` paths for those lines: list every path they need.
   * @default the logger's own redaction
   */
  redact?: string[] | redactOptions;
  /**
   * Log the payload (the producer's input, as enqueued) on the `enqueued`, `start` and `dead` lines:
   * `true` for every job, or a function of the job name.
   * @default false
   */
  logPayload?: boolean | ((jobName: string) => boolean);
}

/** What the plugin adds to a handler's context. */
export interface PinoContext {
  /** A child of your logger bound to `jobId`, `jobName`, `attempt`, `queue` and `messageId`. */
  readonly log: Logger;
}
