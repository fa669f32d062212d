import type { Level, LoggerOptions } from 'pino';
import { pino } from 'pino';

/** A parsed log line. */
export type Line = Record<string, any> & { level: number; msg: string };

export const LEVEL: Record<Level, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
};

/** A real pino logger writing into memory; `lines` parses what it wrote. */
export function capture(options: LoggerOptions = { level: 'debug' }) {
  const written: string[] = [];
  const logger = pino(options, { write: (line: string) => void written.push(line) });
  return {
    logger,
    lines: (): Line[] => written.map((line) => JSON.parse(line) as Line),
    messages: (): string[] => written.map((line) => (JSON.parse(line) as Line).msg),
    raw: written,
  };
}
