/**
 * Agent schedules are written once, in EventBridge syntax (`rate(...)`, `cron(...)`), and run on
 * Azure as timer triggers, which read six-field NCRONTAB (`sec min hour day month day-of-week`).
 * What NCRONTAB cannot express fails synth with the reason instead of firing at other times.
 */

const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

export function toNcrontab(expression: string): string {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const n = Number(rate[1]);
    const unit = rate[2]!.replace(/s$/, '');
    if (n < 1) throw new Error(`${expression}: a rate must be at least 1`);
    if (unit === 'minute') return n === 1 ? '0 * * * * *' : stepOf(expression, n, 60, '0 */%d * * * *');
    if (unit === 'hour') return n === 1 ? '0 0 * * * *' : stepOf(expression, n, 24, '0 0 */%d * * *');
    if (n === 1) return '0 0 0 * * *';
    throw new Error(`${expression}: a timer cannot repeat every ${n} days exactly; write it as cron(...)`);
  }
  const cron = /^cron\((.+)\)$/.exec(expression);
  if (!cron) throw new Error(`${expression}: must be rate(...) or cron(...)`);
  const fields = cron[1]!.trim().split(/\s+/);
  if (fields.length !== 6) throw new Error(`${expression}: cron(...) takes six fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`);
  const [minute, hour, dom, month, dow, year] = fields as [string, string, string, string, string, string];
  if (year !== '*') throw new Error(`${expression}: timers cannot be limited to years; the year field must be *`);
  for (const [name, field] of [['day-of-month', dom], ['day-of-week', dow]] as const) {
    if (/[LW#]/.test(field)) throw new Error(`${expression}: ${name} "${field}" uses L, W or #, which timers do not support`);
  }
  const any = (f: string) => (f === '?' ? '*' : f);
  return ['0', minute, hour, any(dom), mapValues(any(month), (v) => monthNumber(expression, v)), mapValues(any(dow), (v) => dayNumber(expression, v))].join(' ');
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

/** EventBridge numbers days 1-7 from Sunday; NCRONTAB 0-6. */
function dayNumber(expression: string, value: string): string {
  const named = DAYS.indexOf(value.toUpperCase());
  if (named >= 0) return String(named);
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 7) throw new Error(`${expression}: "${value}" is not a day of the week (1-7 or SUN-SAT)`);
  return String(n - 1);
}

function monthNumber(expression: string, value: string): string {
  const named = MONTHS.indexOf(value.toUpperCase());
  if (named >= 0) return String(named + 1);
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 12) throw new Error(`${expression}: "${value}" is not a month (1-12 or JAN-DEC)`);
  return value;
}
