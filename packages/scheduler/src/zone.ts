import { ConfigurationError } from '@glasswork/core';

/** Year, month (1-12), day, hour, minute of a wall clock. */
export type Wall = [number, number, number, number, number];

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: timezone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
      });
    } catch {
      throw new ConfigurationError(
        `Unknown time zone ${JSON.stringify(timezone)}: use an IANA name such as 'Europe/Paris' or 'UTC'`,
      );
    }
    formatters.set(timezone, f);
  }
  return f;
}

/** Throws a `ConfigurationError` unless `timezone` is an IANA time zone this runtime knows. */
export function assertTimezone(timezone: string): void {
  formatter(timezone);
}

/** The wall-clock minute at `time` in `timezone`. */
export function wallClock(time: number, timezone: string): Wall {
  if (timezone === 'UTC') {
    const d = new Date(time);
    return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes()];
  }
  const out: Wall = [0, 0, 0, 0, 0];
  for (const part of formatter(timezone).formatToParts(time)) {
    const index = ['year', 'month', 'day', 'hour', 'minute'].indexOf(part.type);
    if (index >= 0) out[index] = Number(part.value);
  }
  return out;
}

/**
 * The instant a wall-clock minute happens in `timezone`: undefined when a daylight-saving change skips
 * it, the earlier instant when it happens twice.
 */
export function zonedTime(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  timezone: string,
): number | undefined {
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  if (timezone === 'UTC') return wall;
  // The offsets a day before and after cover both sides of any transition near this time.
  const candidates = new Set([
    wall - offset(wall - 86_400_000, timezone),
    wall - offset(wall + 86_400_000, timezone),
  ]);
  let best: number | undefined;
  for (const t of candidates) {
    const [cy, cmo, cd, ch, cmi] = wallClock(t, timezone);
    if (cy === y && cmo === mo && cd === d && ch === h && cmi === mi && (best === undefined || t < best))
      best = t;
  }
  return best;
}

/** Milliseconds the zone's wall clock is ahead of UTC at `time`. */
function offset(time: number, timezone: string): number {
  const minute = Math.floor(time / 60_000) * 60_000;
  const [y, mo, d, h, mi] = wallClock(minute, timezone);
  return Date.UTC(y, mo - 1, d, h, mi) - minute;
}

/** Formats a time as EventBridge writes `at()` and `<aws.scheduler.scheduled-time>`: UTC, whole seconds. */
export function isoSeconds(time: number): string {
  return new Date(Math.floor(time / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
