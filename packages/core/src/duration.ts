import { ConfigurationError } from './errors.ts';

type Unit = 'ms' | 's' | 'm' | 'h' | 'd';

/** Milliseconds as a number, or a string such as `'500ms'`, `'30s'`, `'5m'`, `'2h'`, `'1d'`, `'1h30m'`. */
export type Duration = number | `${number}${Unit}` | `${number}${Unit}${number}${Unit}`;

const UNIT_MS: Record<Unit, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/** Converts a `Duration` to milliseconds; throws a `ConfigurationError` for anything else. */
export function parseDuration(value: Duration): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
    throw new ConfigurationError(
      `Invalid duration ${value}: use milliseconds >= 0 or a string such as '30s'`,
    );
  }
  if (typeof value === 'string' && value.length > 0) {
    let total = 0;
    PART.lastIndex = 0;
    while (PART.lastIndex < value.length) {
      const match = PART.exec(value);
      if (!match) break;
      total += Number(match[1]) * UNIT_MS[match[2] as Unit];
      if (PART.lastIndex === value.length) return total;
    }
  }
  throw new ConfigurationError(
    `Invalid duration ${JSON.stringify(value)}: use milliseconds or a string such as '500ms', '30s', '5m', '2h', '1d'`,
  );
}

/** The longest delay a Node timer holds (about 24.8 days); longer ones would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A duration used as a timer: at least 1 ms and at most `MAX_TIMER_MS`, else a `ConfigurationError`. */
export function parseTimeout(value: Duration, what: string): number {
  const ms = parseDuration(value);
  if (ms < 1 || ms > MAX_TIMER_MS) {
    throw new ConfigurationError(
      `${what} must be between 1ms and about 24 days (${MAX_TIMER_MS}ms), got ${ms}ms`,
    );
  }
  return ms;
}
