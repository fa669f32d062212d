import { describe, expect, it } from 'vitest';
import type { CronSchedule } from '../src/index.ts';
import { InvalidScheduleExpressionError, nextCronTime, nextRunTime, parseSchedule } from '../src/index.ts';

/** The next `count` run times after `from`, as ISO strings. */
function runs(expression: string, from: string, count: number, timezone = 'UTC'): string[] {
  const schedule = parseSchedule(expression) as CronSchedule;
  const out: string[] = [];
  let after = Date.parse(from);
  for (let i = 0; i < count; i++) {
    const next = nextCronTime(schedule, after, timezone);
    if (next === undefined) break;
    out.push(new Date(next).toISOString().replace(':00.000Z', 'Z'));
    after = next;
  }
  return out;
}

// The examples of the EventBridge documentation ("Cron expressions reference"), with the meaning it gives.
// 2024-01-01 is a Monday.
describe('the documented cron examples', () => {
  it('0 10 * * ? *: 10:00 am (UTC+0) every day', () => {
    expect(runs('cron(0 10 * * ? *)', '2024-01-01T00:00:00Z', 3)).toEqual([
      '2024-01-01T10:00Z',
      '2024-01-02T10:00Z',
      '2024-01-03T10:00Z',
    ]);
  });

  it('15 12 * * ? *: 12:15 pm every day', () => {
    expect(runs('cron(15 12 * * ? *)', '2024-01-01T12:15:00Z', 2)).toEqual([
      '2024-01-02T12:15Z',
      '2024-01-03T12:15Z',
    ]);
  });

  it('0 18 ? * MON-FRI *: 6:00 pm every Monday through Friday', () => {
    expect(runs('cron(0 18 ? * MON-FRI *)', '2024-01-04T19:00:00Z', 3)).toEqual([
      '2024-01-05T18:00Z', // Friday
      '2024-01-08T18:00Z', // Monday: the weekend is skipped
      '2024-01-09T18:00Z',
    ]);
  });

  it('0 8 1 * ? *: 8:00 am on the 1st day of every month', () => {
    expect(runs('cron(0 8 1 * ? *)', '2024-01-01T08:00:00Z', 3)).toEqual([
      '2024-02-01T08:00Z',
      '2024-03-01T08:00Z',
      '2024-04-01T08:00Z',
    ]);
  });

  it('0/15 * * * ? *: every 15 minutes', () => {
    expect(runs('cron(0/15 * * * ? *)', '2024-01-01T09:50:00Z', 4)).toEqual([
      '2024-01-01T10:00Z',
      '2024-01-01T10:15Z',
      '2024-01-01T10:30Z',
      '2024-01-01T10:45Z',
    ]);
  });

  it('0/10 * ? * MON-FRI *: every 10 minutes Monday through Friday', () => {
    expect(runs('cron(0/10 * ? * MON-FRI *)', '2024-01-05T23:45:00Z', 3)).toEqual([
      '2024-01-05T23:50Z',
      '2024-01-08T00:00Z', // Saturday and Sunday have none
      '2024-01-08T00:10Z',
    ]);
  });

  it('0/5 8-17 ? * MON-FRI *: every 5 minutes Monday through Friday between 8:00 am and 5:55 pm', () => {
    const day = runs('cron(0/5 8-17 ? * MON-FRI *)', '2024-01-01T00:00:00Z', 121);
    expect(day[0]).toBe('2024-01-01T08:00Z');
    expect(day[119]).toBe('2024-01-01T17:55Z');
    expect(day[120]).toBe('2024-01-02T08:00Z');
  });

  it('0/30 20-2 ? * MON-FRI *: every 30 minutes from the evening across midnight (the hour range wraps)', () => {
    // The documentation describes it as "10:00 pm on the starting day to 2:00 am on the following day";
    // the hours field 20-2 reads 8 pm (20:00) to 2:59 am, and each run's own day must be Monday-Friday.
    expect(runs('cron(0/30 20-2 ? * MON-FRI *)', '2024-01-01T19:00:00Z', 14)).toEqual([
      '2024-01-01T20:00Z',
      '2024-01-01T20:30Z',
      '2024-01-01T21:00Z',
      '2024-01-01T21:30Z',
      '2024-01-01T22:00Z',
      '2024-01-01T22:30Z',
      '2024-01-01T23:00Z',
      '2024-01-01T23:30Z',
      '2024-01-02T00:00Z',
      '2024-01-02T00:30Z',
      '2024-01-02T01:00Z',
      '2024-01-02T01:30Z',
      '2024-01-02T02:00Z',
      '2024-01-02T02:30Z',
    ]);
    // Friday evening runs; Saturday morning does not.
    expect(runs('cron(0/30 20-2 ? * MON-FRI *)', '2024-01-05T23:45:00Z', 1)).toEqual(['2024-01-08T00:00Z']);
  });

  it('0 12 * * ? *: every day at 12:00 pm', () => {
    expect(runs('cron(0 12 * * ? *)', '2024-01-01T12:00:00Z', 1)).toEqual(['2024-01-02T12:00Z']);
  });

  it('5,35 14 * * ? *: every day at 2:05 pm and 2:35 pm', () => {
    expect(runs('cron(5,35 14 * * ? *)', '2024-01-01T00:00:00Z', 3)).toEqual([
      '2024-01-01T14:05Z',
      '2024-01-01T14:35Z',
      '2024-01-02T14:05Z',
    ]);
  });

  it('15 10 ? * 6L 2019-2022: 10:15 am on the last Friday of each month during 2019 to 2022', () => {
    expect(runs('cron(15 10 ? * 6L 2019-2022)', '2019-01-01T00:00:00Z', 3)).toEqual([
      '2019-01-25T10:15Z',
      '2019-02-22T10:15Z',
      '2019-03-29T10:15Z',
    ]);
    // May 2019 ends on a Friday: the 31st, not the 24th a week before it.
    expect(runs('cron(15 10 ? * 6L 2019-2022)', '2019-05-01T00:00:00Z', 1)).toEqual(['2019-05-31T10:15Z']);
    expect(runs('cron(15 10 ? * 6L 2019-2022)', '2022-12-01T00:00:00Z', 2)).toEqual(['2022-12-30T10:15Z']);
  });
});

describe('the documented wildcards', () => {
  it(', lists: JAN,FEB,MAR in the Month field', () => {
    expect(runs('cron(0 0 1 JAN,FEB,MAR ? *)', '2024-01-01T00:00:00Z', 3)).toEqual([
      '2024-02-01T00:00Z',
      '2024-03-01T00:00Z',
      '2025-01-01T00:00Z',
    ]);
  });

  it('- ranges: 1-15 in the Day field', () => {
    const all = runs('cron(0 0 1-15 * ? *)', '2023-12-31T00:00:00Z', 16);
    expect(all[0]).toBe('2024-01-01T00:00Z');
    expect(all[14]).toBe('2024-01-15T00:00Z');
    expect(all[15]).toBe('2024-02-01T00:00Z');
  });

  it('/ increments: 1/10 in the Minutes field is the 1st, 11th, 21st... minute', () => {
    expect(runs('cron(1/10 0 * * ? *)', '2024-01-01T00:00:00Z', 7)).toEqual([
      '2024-01-01T00:01Z',
      '2024-01-01T00:11Z',
      '2024-01-01T00:21Z',
      '2024-01-01T00:31Z',
      '2024-01-01T00:41Z',
      '2024-01-01T00:51Z',
      '2024-01-02T00:01Z',
    ]);
  });

  it('L in Day-of-month: the last day of the month, leap years included', () => {
    expect(runs('cron(0 0 L * ? *)', '2024-01-31T00:00:00Z', 3)).toEqual([
      '2024-02-29T00:00Z',
      '2024-03-31T00:00Z',
      '2024-04-30T00:00Z',
    ]);
  });

  it('L in Day-of-week alone: the last day of the week, Saturday', () => {
    expect(runs('cron(0 0 ? * L *)', '2024-01-01T00:00:00Z', 2)).toEqual([
      '2024-01-06T00:00Z',
      '2024-01-13T00:00Z',
    ]);
  });

  it('W: 3W is the weekday closest to the 3rd, staying in the month', () => {
    // 2024-02-03 is a Saturday: Friday the 2nd. 2024-03-03 is a Sunday: Monday the 4th.
    // 2024-06-01 is a Saturday and 1W cannot go back into May: Monday the 3rd.
    expect(runs('cron(0 9 3W * ? 2024)', '2024-01-31T00:00:00Z', 2)).toEqual([
      '2024-02-02T09:00Z',
      '2024-03-04T09:00Z',
    ]);
    expect(runs('cron(0 9 1W * ? 2024)', '2024-05-02T00:00:00Z', 1)).toEqual(['2024-06-03T09:00Z']);
    expect(runs('cron(0 9 LW * ? 2024)', '2024-08-01T00:00:00Z', 1)).toEqual(['2024-08-30T09:00Z']); // the 31st is a Saturday
  });

  it('#: 3#2 is the second Tuesday of the month', () => {
    expect(runs('cron(0 9 ? * 3#2 *)', '2024-01-01T00:00:00Z', 3)).toEqual([
      '2024-01-09T09:00Z',
      '2024-02-13T09:00Z',
      '2024-03-12T09:00Z',
    ]);
    expect(runs('cron(0 9 ? * TUE#2 *)', '2024-01-01T00:00:00Z', 1)).toEqual(['2024-01-09T09:00Z']);
  });

  it('names are case-insensitive and mix with numbers', () => {
    expect(runs('cron(0 0 ? dec sun *)', '2024-11-30T00:00:00Z', 1)).toEqual(['2024-12-01T00:00Z']);
    expect(runs('cron(0 0 ? 12 1 *)', '2024-11-30T00:00:00Z', 1)).toEqual(['2024-12-01T00:00Z']);
  });

  it('a schedule whose years are over never runs again', () => {
    expect(runs('cron(0 0 1 1 ? 2020)', '2021-01-01T00:00:00Z', 1)).toEqual([]);
    expect(runs('cron(0 0 30 2 ? *)', '2024-01-01T00:00:00Z', 1)).toEqual([]);
  });
});

describe('invalid expressions', () => {
  const invalid: [string, RegExp][] = [
    ['cron(0 8 * * MON *)', /exactly one of Day-of-month and Day-of-week/], // both days given
    ['cron(0 8 ? * ? *)', /exactly one/],
    ['cron(0 8 * * *)', /six fields/],
    ['cron(60 8 * * ? *)', /Minutes: "60"/],
    ['cron(0 24 * * ? *)', /Hours: "24"/],
    ['cron(0 8 32 * ? *)', /Day-of-month/],
    ['cron(0 8 ? * 3#1,6#3 *)', /single expression/], // the documentation's own counter-example
    ['cron(0 8 ? * 3#6 *)', /#1 to #5/],
    ['cron(0 8 * FOO ? *)', /Month: "FOO"/],
    ['cron(0 8 * * ? 1969)', /Year/],
    ['cron(0 8 * * ? 2030-2025)', /backwards/],
    ['cron(0/0 8 * * ? *)', /increment/],
    ['rate(1 hours)', /singular/],
    ['rate(5 hour)', /plural/],
    ['rate(0 minutes)', /positive/],
    ['rate(5 seconds)', /unit/],
    ['every day', /cron\(fields\)/],
    ['at(2024-02-30T10:00:00)', /does not exist/],
  ];
  it.each(invalid)('%s', (expression, message) => {
    const attempt = () => parseSchedule(expression);
    expect(attempt).toThrow(InvalidScheduleExpressionError);
    expect(attempt).toThrow(message);
  });
});

describe('rate expressions', () => {
  it('parses the documented examples', () => {
    expect(parseSchedule('rate(1 minute)')).toMatchObject({ kind: 'rate', intervalMs: 60_000 });
    expect(parseSchedule('rate(5 minutes)')).toMatchObject({ intervalMs: 300_000 });
    expect(parseSchedule('rate(1 hour)')).toMatchObject({ intervalMs: 3_600_000 });
    expect(parseSchedule('rate(1 day)')).toMatchObject({ intervalMs: 86_400_000 });
  });

  it('runs at once, then every interval counted from its start', () => {
    const spec = { expression: parseSchedule('rate(2 hours)') as never, timezone: 'UTC' };
    const start = Date.parse('2024-01-01T10:07:00Z');
    expect(nextRunTime(spec, start - 1, start)).toBe(start);
    expect(nextRunTime(spec, start, start)).toBe(start + 7_200_000);
    expect(nextRunTime(spec, start + 7_200_000 + 5, start)).toBe(start + 14_400_000);
  });
});

describe('time zones and daylight saving time (as EventBridge Scheduler handles them)', () => {
  it('reads the fields on the zone’s wall clock', () => {
    // 8:00 in Paris is 07:00Z in winter and 06:00Z in summer.
    expect(runs('cron(0 8 * * ? *)', '2024-03-30T00:00:00Z', 2, 'Europe/Paris')).toEqual([
      '2024-03-30T07:00Z',
      '2024-03-31T06:00Z',
    ]);
  });

  it('skips a wall-clock time that the spring change removes', () => {
    // New York, 2024-03-10: 2:00 jumps to 3:00, so 2:30 does not exist that day.
    expect(runs('cron(30 2 * * ? *)', '2024-03-09T00:00:00Z', 3, 'America/New_York')).toEqual([
      '2024-03-09T07:30Z',
      '2024-03-11T06:30Z',
      '2024-03-12T06:30Z',
    ]);
  });

  it('runs once at a wall-clock time that the autumn change repeats', () => {
    // New York, 2024-11-03: 1:00-1:59 happens twice (EDT, then EST); 1:30 runs at the first.
    expect(runs('cron(30 1 * * ? *)', '2024-11-02T12:00:00Z', 3, 'America/New_York')).toEqual([
      '2024-11-03T05:30Z',
      '2024-11-04T06:30Z',
      '2024-11-05T06:30Z',
    ]);
  });

  it('rejects an unknown time zone', () => {
    expect(() => runs('cron(0 8 * * ? *)', '2024-01-01T00:00:00Z', 1, 'Mars/Olympus')).toThrow(
      /Unknown time zone/,
    );
  });
});
