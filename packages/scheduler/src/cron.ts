import { InvalidScheduleExpressionError } from './errors.ts';
import { wallClock, zonedTime } from './zone.ts';

/** A parsed `cron(...)` expression: EventBridge's six fields, evaluated in a time zone. */
export interface CronSchedule {
  readonly kind: 'cron';
  readonly expression: string;
  /** @internal */ readonly minutes: readonly number[];
  /** @internal */ readonly hours: readonly number[];
  /** @internal */ readonly months: ReadonlySet<number>;
  /** @internal */ readonly years: ReadonlySet<number>;
  /** @internal Undefined when the field is `?`. */ readonly dayOfMonth: DayOfMonth | undefined;
  /** @internal Undefined when the field is `?`. */ readonly dayOfWeek: DayOfWeek | undefined;
}

/** A parsed `rate(value unit)` expression. */
export interface RateSchedule {
  readonly kind: 'rate';
  readonly expression: string;
  /** The interval in milliseconds (a day is 24 hours, as EventBridge counts it). */
  readonly intervalMs: number;
}

/** A parsed `at(yyyy-mm-ddThh:mm:ss)` expression: one time, read in the schedule's time zone. */
export interface AtSchedule {
  readonly kind: 'at';
  readonly expression: string;
  /** @internal Wall-clock fields: year, month (1-12), day, hour, minute, second. */
  readonly wall: readonly [number, number, number, number, number, number];
}

export type ParsedSchedule = CronSchedule | RateSchedule | AtSchedule;

interface DayOfMonth {
  readonly days: ReadonlySet<number>;
  readonly last: boolean;
  readonly lastWeekday: boolean;
  readonly nearestWeekday: readonly number[];
}

interface DayOfWeek {
  /** 1 = Sunday ... 7 = Saturday. */
  readonly days: ReadonlySet<number>;
  /** `5L`: the last Thursday of the month. */
  readonly last: readonly number[];
  /** `3#2`: the second Tuesday of the month. */
  readonly nth: { readonly day: number; readonly n: number } | undefined;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const MIN_YEAR = 1970;
const MAX_YEAR = 2199;

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Whether `a-b` with a > b wraps around (hours 20-2), as EventBridge's examples use. */
  readonly wraps: boolean;
}

const FIELDS = {
  minutes: { name: 'Minutes', min: 0, max: 59, wraps: true },
  hours: { name: 'Hours', min: 0, max: 23, wraps: true },
  dayOfMonth: { name: 'Day-of-month', min: 1, max: 31, wraps: true },
  month: { name: 'Month', min: 1, max: 12, names: MONTHS, wraps: true },
  dayOfWeek: { name: 'Day-of-week', min: 1, max: 7, names: DAYS, wraps: true },
  year: { name: 'Year', min: MIN_YEAR, max: MAX_YEAR, wraps: false },
} satisfies Record<string, FieldSpec>;

/**
 * Parses an EventBridge schedule expression: `cron(min hour day-of-month month day-of-week year)`,
 * `rate(value unit)` or `at(yyyy-mm-ddThh:mm:ss)`. Throws `InvalidScheduleExpressionError` naming the field.
 */
export function parseSchedule(expression: string): ParsedSchedule {
  if (typeof expression !== 'string')
    throw new InvalidScheduleExpressionError(String(expression), 'not a string');
  const match = /^(cron|rate|at)\((.*)\)$/.exec(expression.trim());
  if (!match) {
    throw new InvalidScheduleExpressionError(
      expression,
      "use 'cron(fields)', 'rate(value unit)' or 'at(time)'",
    );
  }
  const body = (match[2] as string).trim();
  if (match[1] === 'rate') return parseRate(expression, body);
  if (match[1] === 'at') return parseAt(expression, body);
  return parseCron(expression, body);
}

function parseRate(expression: string, body: string): RateSchedule {
  const m = /^(\d+)\s+(minute|minutes|hour|hours|day|days)$/.exec(body);
  if (!m)
    throw new InvalidScheduleExpressionError(
      expression,
      "a rate is 'rate(value unit)' with unit minutes, hours or days",
    );
  const value = Number(m[1]);
  const unit = m[2] as string;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidScheduleExpressionError(expression, 'the rate value must be a positive whole number');
  }
  // EventBridge's own rule: singular unit for 1, plural for more.
  if ((value === 1) !== !unit.endsWith('s')) {
    throw new InvalidScheduleExpressionError(
      expression,
      value === 1
        ? `use the singular unit: rate(1 ${unit.replace(/s$/, '')})`
        : `use the plural unit: rate(${value} ${unit}s)`,
    );
  }
  const unitMs = unit.startsWith('minute') ? 60_000 : unit.startsWith('hour') ? 3_600_000 : 86_400_000;
  return { kind: 'rate', expression, intervalMs: value * unitMs };
}

function parseAt(expression: string, body: string): AtSchedule {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body);
  if (!m)
    throw new InvalidScheduleExpressionError(expression, "a one-time schedule is 'at(yyyy-mm-ddThh:mm:ss)'");
  const wall = m.slice(1).map(Number) as unknown as [number, number, number, number, number, number];
  const [y, mo, d, h, mi, s] = wall;
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) {
    throw new InvalidScheduleExpressionError(expression, 'the date or time does not exist');
  }
  return { kind: 'at', expression, wall };
}

function parseCron(expression: string, body: string): CronSchedule {
  const parts = body.split(/\s+/);
  if (parts.length !== 6) {
    throw new InvalidScheduleExpressionError(
      expression,
      `a cron expression has six fields (minutes hours day-of-month month day-of-week year), got ${parts.length}`,
    );
  }
  const [min, hour, dom, month, dow, year] = parts as [string, string, string, string, string, string];
  // One of the day fields says "any" (?), the other decides: EventBridge rejects both or neither.
  if ((dom === '?') === (dow === '?')) {
    throw new InvalidScheduleExpressionError(
      expression,
      'use ? in exactly one of Day-of-month and Day-of-week, e.g. cron(0 8 * * ? *) or cron(0 8 ? * MON *)',
    );
  }
  return {
    kind: 'cron',
    expression,
    minutes: [...values(expression, min, FIELDS.minutes)].sort((a, b) => a - b),
    hours: [...values(expression, hour, FIELDS.hours)].sort((a, b) => a - b),
    months: values(expression, month, FIELDS.month),
    years: values(expression, year, FIELDS.year),
    dayOfMonth: dom === '?' ? undefined : parseDayOfMonth(expression, dom),
    dayOfWeek: dow === '?' ? undefined : parseDayOfWeek(expression, dow),
  };
}

function parseDayOfMonth(expression: string, field: string): DayOfMonth {
  const days = new Set<number>();
  let last = false;
  let lastWeekday = false;
  const nearestWeekday: number[] = [];
  for (const item of field.split(',')) {
    if (item === 'L') last = true;
    else if (item === 'LW') lastWeekday = true;
    else if (/^\d+W$/.test(item))
      nearestWeekday.push(number(expression, item.slice(0, -1), FIELDS.dayOfMonth));
    else for (const v of values(expression, item, FIELDS.dayOfMonth)) days.add(v);
  }
  return { days, last, lastWeekday, nearestWeekday };
}

function parseDayOfWeek(expression: string, field: string): DayOfWeek {
  const items = field.split(',');
  if (field.includes('#')) {
    // EventBridge reads "3#1,6#3" as two expressions and rejects it.
    if (items.length !== 1) {
      throw new InvalidScheduleExpressionError(
        expression,
        'with #, Day-of-week holds a single expression, e.g. 3#2',
      );
    }
    const [day, n] = field.split('#') as [string, string];
    const nth = /^[1-5]$/.test(n) ? Number(n) : Number.NaN;
    if (Number.isNaN(nth))
      throw new InvalidScheduleExpressionError(expression, `Day-of-week: "${field}" needs #1 to #5`);
    return { days: new Set(), last: [], nth: { day: number(expression, day, FIELDS.dayOfWeek), n: nth } };
  }
  const days = new Set<number>();
  const last: number[] = [];
  for (const item of items) {
    // A lone L in Day-of-week is its last day, Saturday; "6L" is the last Friday of the month.
    if (item === 'L') days.add(7);
    else if (/^[^L]+L$/.test(item)) last.push(number(expression, item.slice(0, -1), FIELDS.dayOfWeek));
    else for (const v of values(expression, item, FIELDS.dayOfWeek)) days.add(v);
  }
  return { days, last, nth: undefined };
}

/** The values of a field with `,`, `-`, `*` and `/`. */
function values(expression: string, field: string, spec: FieldSpec): Set<number> {
  const out = new Set<number>();
  for (const item of field.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(item);
    if (!m) throw bad(expression, spec, item);
    const range = m[1] as string;
    const step = m[2] === undefined ? undefined : Number(m[2]);
    if (step !== undefined && step < 1) throw bad(expression, spec, item, 'the increment must be at least 1');
    let from: number;
    let to: number;
    if (range === '*') {
      from = spec.min;
      to = spec.max;
    } else if (range.includes('-')) {
      const [a, b, ...rest] = range.split('-');
      if (rest.length > 0 || a === undefined || b === undefined) throw bad(expression, spec, item);
      from = number(expression, a, spec);
      to = number(expression, b, spec);
      if (from > to && !spec.wraps) throw bad(expression, spec, item, 'the range runs backwards');
    } else {
      from = number(expression, range, spec);
      // "0/15" runs from 0 to the end of the field; a lone value is just itself.
      to = step === undefined ? from : spec.max;
    }
    const span = spec.max - spec.min + 1;
    const length = from <= to ? to - from + 1 : to - from + 1 + span;
    for (let i = 0; i < length; i += step ?? 1) out.add(((from - spec.min + i) % span) + spec.min);
  }
  return out;
}

function number(expression: string, text: string, spec: FieldSpec): number {
  const upper = text.toUpperCase();
  const named = spec.names?.indexOf(upper) ?? -1;
  const value = named >= 0 ? named + 1 : /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= spec.min && value <= spec.max)) {
    throw bad(
      expression,
      spec,
      text,
      `expected ${spec.min}-${spec.max}${spec.names ? ` or ${spec.names[0]}-${spec.names.at(-1)}` : ''}`,
    );
  }
  return value;
}

function bad(
  expression: string,
  spec: FieldSpec,
  item: string,
  why?: string,
): InvalidScheduleExpressionError {
  return new InvalidScheduleExpressionError(
    expression,
    `${spec.name}: "${item}" is not valid${why ? ` (${why})` : ''}`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------------------

/**
 * The first time the cron schedule fires strictly after `after`, evaluated in `timezone` as EventBridge
 * Scheduler does: a wall-clock time skipped by a daylight-saving change does not fire, and a repeated one
 * fires once. Undefined when the schedule never fires again (its years are over).
 */
export function nextCronTime(schedule: CronSchedule, after: number, timezone = 'UTC'): number | undefined {
  const start = wallClock(after, timezone);
  let [y, mo, d, h, mi] = start;
  while (y <= MAX_YEAR) {
    if (!schedule.years.has(y)) {
      [y, mo, d, h, mi] = [y + 1, 1, 1, 0, 0];
      continue;
    }
    if (!schedule.months.has(mo) || d > daysInMonth(y, mo)) {
      [y, mo, d, h, mi] = mo === 12 ? [y + 1, 1, 1, 0, 0] : [y, mo + 1, 1, 0, 0];
      continue;
    }
    if (dayMatches(schedule, y, mo, d)) {
      for (const hour of schedule.hours) {
        if (hour < h) continue;
        for (const minute of schedule.minutes) {
          if (hour === h && minute < mi) continue;
          const at = zonedTime(y, mo, d, hour, minute, timezone);
          if (at !== undefined && at > after) return at;
        }
      }
    }
    [d, h, mi] = [d + 1, 0, 0];
  }
  return undefined;
}

function dayMatches(schedule: CronSchedule, y: number, mo: number, d: number): boolean {
  const dom = schedule.dayOfMonth;
  const dow = schedule.dayOfWeek;
  const lastDay = daysInMonth(y, mo);
  if (dom) {
    if (dom.days.has(d)) return true;
    if (dom.last && d === lastDay) return true;
    if (dom.lastWeekday && d === nearestWeekday(y, mo, lastDay)) return true;
    return dom.nearestWeekday.some((n) => n <= lastDay && nearestWeekday(y, mo, n) === d);
  }
  if (dow) {
    const weekday = new Date(Date.UTC(y, mo - 1, d)).getUTCDay() + 1;
    if (dow.days.has(weekday)) return true;
    if (dow.last.includes(weekday) && d + 7 > lastDay) return true;
    return dow.nth !== undefined && dow.nth.day === weekday && Math.ceil(d / 7) === dow.nth.n;
  }
  return false;
}

/** The weekday closest to day `n` of the month, never leaving the month (as Quartz's `W`). */
function nearestWeekday(y: number, mo: number, n: number): number {
  const weekday = new Date(Date.UTC(y, mo - 1, n)).getUTCDay();
  const lastDay = daysInMonth(y, mo);
  if (weekday === 6) return n === 1 ? 3 : n - 1;
  if (weekday === 0) return n === lastDay ? n - 2 : n + 1;
  return n;
}

export function daysInMonth(y: number, mo: number): number {
  return new Date(Date.UTC(y, mo, 0)).getUTCDate();
}
