import { styleText } from 'node:util';

/** A pino destination: one JSON line per `write`. */
export interface LineSink {
  write(line: string): void;
}

export interface PrettyOptions {
  /** Where the formatted lines go. */
  readonly print: (line: string) => void;
  /** ANSI colours. */
  readonly color: boolean;
  /** Jobs whose lines below `warn` are left out (the progress line counts them instead). */
  readonly quietJobs?: ReadonlySet<string>;
}

type Style = Parameters<typeof styleText>[0];

const LEVELS: Record<number, [string, Style]> = {
  10: ['TRACE', 'gray'],
  20: ['DEBUG', 'gray'],
  30: ['INFO ', 'green'],
  40: ['WARN ', 'yellow'],
  50: ['ERROR', 'red'],
  60: ['FATAL', 'red'],
};

// Fields every line has, or that the columns already show.
const HIDDEN = new Set([
  'level',
  'time',
  'pid',
  'hostname',
  'msg',
  'jobName',
  'jobId',
  'messageId',
  'queue',
  'span_id',
  'trace_id',
  'trace_flags',
  'err',
]);

/**
 * Pretty-prints pino's JSON lines in one compact line each: time, level, job, message, the fields that
 * matter, the error and the trace id. A dozen lines of formatting instead of a dependency.
 */
export function prettyLines(options: PrettyOptions): LineSink {
  const paint = (style: Style, text: string) =>
    options.color ? styleText(style, text, { validateStream: false }) : text;
  return {
    write(line: string) {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        options.print(line.trimEnd());
        return;
      }
      const level = Number(entry.level);
      const jobName = typeof entry.jobName === 'string' ? entry.jobName : undefined;
      if (level < 40 && jobName && options.quietJobs?.has(jobName)) return;
      const [label, style] = LEVELS[level] ?? ['LOG  ', 'white'];
      const time = new Date(Number(entry.time)).toISOString().slice(11, 23);
      const parts = [
        paint('dim', time),
        paint(style, label),
        paint('cyan', (jobName ?? '').padEnd(17)),
        String(entry.msg ?? ''),
      ];
      const fields = Object.entries(entry)
        .filter(([key, value]) => !HIDDEN.has(key) && value !== undefined)
        .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
      if (fields.length > 0) parts.push(paint('dim', fields.join(' ')));
      const err = entry.err as { type?: string; message?: string } | undefined;
      if (err) parts.push(paint(style, `${err.type ?? 'Error'}: ${err.message ?? ''}`));
      if (typeof entry.trace_id === 'string') parts.push(paint('dim', `trace ${entry.trace_id.slice(0, 8)}`));
      options.print(parts.join('  '));
    },
  };
}
