import { cronFieldRule, parseSchedule, valueOf, type CronFields } from '../../contract/schedule/expression';

/**
 * Agent schedules are written once, in EventBridge syntax (`rate(...)`, `cron(...)`, checked by
 * contract/schedule), and run on Azure as timer triggers, which read six-field NCRONTAB
 * (`sec min hour day month day-of-week`), in UTC like EventBridge. Every mapping below fires at
 * exactly the times EventBridge would; what NCRONTAB cannot say exactly (a year, L, W, #, a rate
 * that does not divide its hour or day) fails synth with the reason instead of firing at others.
 */
export function toNcrontab(expression: string): string {
  const parsed = parseSchedule(expression);
  if (!parsed.ok) throw new Error(`${expression}: ${parsed.problem}`);
  const { schedule } = parsed;
  if (schedule.kind === 'rate') return rateToNcrontab(expression, schedule.value, schedule.unit);
  return cronToNcrontab(expression, schedule.fields);
}

function rateToNcrontab(expression: string, value: number, unit: 'minute' | 'hour' | 'day'): string {
  // A rate in whole hours or days is the same schedule written in the larger unit.
  if (unit === 'minute' && value % 60 === 0) return rateToNcrontab(expression, value / 60, 'hour');
  if (unit === 'hour' && value % 24 === 0) return rateToNcrontab(expression, value / 24, 'day');
  if (unit === 'minute') return value === 1 ? '0 * * * * *' : stepOf(expression, value, 60, '0 */%d * * * *');
  if (unit === 'hour') return value === 1 ? '0 0 * * * *' : stepOf(expression, value, 24, '0 0 */%d * * *');
  if (value === 1) return '0 0 0 * * *';
  throw new Error(`${expression}: a timer restarts its day count each month, so it cannot repeat every ${value} days exactly; write it as cron(...)`);
}

function cronToNcrontab(expression: string, fields: CronFields): string {
  if (fields.year !== '*') throw new Error(`${expression}: timers cannot be limited to years; the year field must be *`);
  for (const [name, field] of [['day-of-month', fields.dayOfMonth], ['day-of-week', fields.dayOfWeek]] as const) {
    if (/[LW#]/i.test(field)) throw new Error(`${expression}: ${name} "${field}" uses L, W or #, which timers do not support`);
  }
  const any = (f: string) => (f === '?' ? '*' : f);
  // EventBridge numbers days 1-7 from Sunday, NCRONTAB 0-6; months are 1-12 in both.
  const day = (v: string) => String(valueOf(v, cronFieldRule('dayOfWeek'))! - 1);
  const month = (v: string) => String(valueOf(v, cronFieldRule('month')));
  return ['0', fields.minutes, fields.hours, any(fields.dayOfMonth), mapValues(any(fields.month), month), mapValues(any(fields.dayOfWeek), day)].join(' ');
}

function stepOf(expression: string, n: number, whole: number, format: string): string {
  if (whole % n !== 0) throw new Error(`${expression}: timers repeat within the ${whole === 60 ? 'hour' : 'day'}, so the rate must divide ${whole}`);
  return format.replace('%d', String(n));
}

/** Rewrites each value of a field (in lists, ranges and range starts of steps), keeping `*` and steps. */
function mapValues(field: string, map: (value: string) => string): string {
  return field
    .split(',')
    .map((part) => {
      const [range, step] = part.split('/') as [string, string | undefined];
      const mapped = range === '*' ? '*' : range.split('-').map(map).join('-');
      return step === undefined ? mapped : `${mapped}/${step}`;
    })
    .join(',');
}
