/**
 * Schedule expressions as agents write them, in EventBridge's syntax, checked the way EventBridge
 * checks them so a bad one fails synth instead of deploy: `rate(value unit)` and six-field
 * `cron(minutes hours day-of-month month day-of-week year)`. Azure maps the parsed form to NCRONTAB
 * (constructs/azure/schedule.ts) and refuses what NCRONTAB cannot say exactly.
 */

export type RateUnit = 'minute' | 'hour' | 'day';

export interface CronFields {
  readonly minutes: string;
  readonly hours: string;
  readonly dayOfMonth: string;
  readonly month: string;
  readonly dayOfWeek: string;
  readonly year: string;
}

export type Schedule = { readonly kind: 'rate'; readonly value: number; readonly unit: RateUnit } | { readonly kind: 'cron'; readonly fields: CronFields };

const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;
const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;

export interface FieldRule {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Names count from this number: months from 1, days from 1 (SUN). */
  readonly firstName?: number;
  /** What the field may hold besides values, ranges, lists, `*` and steps. */
  readonly special?: RegExp;
  readonly question?: boolean;
}

const FIELDS: readonly (FieldRule & { readonly key: keyof CronFields })[] = [
  { key: 'minutes', name: 'minutes', min: 0, max: 59 },
  { key: 'hours', name: 'hours', min: 0, max: 23 },
  // L (last day), LW (last weekday), nW (weekday nearest n).
  { key: 'dayOfMonth', name: 'day-of-month', min: 1, max: 31, special: /^(L|LW|([1-9]|[12]\d|3[01])W)$/, question: true },
  { key: 'month', name: 'month', min: 1, max: 12, names: MONTH_NAMES, firstName: 1 },
  // L (Saturday), nL (last day n of the month), n#k (the k-th day n of the month).
  { key: 'dayOfWeek', name: 'day-of-week', min: 1, max: 7, names: DAY_NAMES, firstName: 1, special: /^(L|([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)(L|#[1-5]))$/i, question: true },
  { key: 'year', name: 'year', min: 1970, max: 2199 },
];

/** How EventBridge reads one cron field: its range and names. */
export function cronFieldRule(key: keyof CronFields): FieldRule {
  return FIELDS.find((f) => f.key === key)!;
}

/** The schedule an expression names, or why EventBridge would refuse it. */
export function parseSchedule(expression: string): { ok: true; schedule: Schedule } | { ok: false; problem: string } {
  const fail = (problem: string) => ({ ok: false as const, problem });
  const rate = /^rate\((.*)\)$/.exec(expression);
  if (rate) {
    const parts = /^(\d+) (minute|minutes|hour|hours|day|days)$/.exec(rate[1]!);
    if (!parts) return fail('a rate is rate(VALUE UNIT) with a whole VALUE and a UNIT of minute(s), hour(s) or day(s), such as rate(5 minutes)');
    const value = Number(parts[1]);
    const plural = parts[2]!.endsWith('s');
    if (value < 1) return fail('a rate must be at least 1');
    if (value === 1 && plural) return fail(`write rate(1 ${parts[2]!.slice(0, -1)}): a value of 1 takes the singular unit`);
    if (value > 1 && !plural) return fail(`write rate(${value} ${parts[2]}s): a value above 1 takes the plural unit`);
    return { ok: true, schedule: { kind: 'rate', value, unit: parts[2]!.replace(/s$/, '') as RateUnit } };
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (!cron) return fail('must be rate(...) or cron(...)');
  const values = cron[1]!.trim().split(/\s+/);
  if (values.length !== 6) return fail(`cron(...) takes six fields (minutes hours day-of-month month day-of-week year), got ${values.length}`);
  const fields = Object.fromEntries(FIELDS.map((f, i) => [f.key, values[i]!])) as unknown as CronFields;
  for (const rule of FIELDS) {
    const problem = fieldProblem(fields[rule.key], rule);
    if (problem) return fail(`${rule.name} "${fields[rule.key]}": ${problem}`);
  }
  if ((fields.dayOfMonth === '?') === (fields.dayOfWeek === '?')) {
    return fail('one of day-of-month and day-of-week must be ? and the other not: EventBridge takes one or the other, such as cron(0 7 ? * MON-FRI *)');
  }
  return { ok: true, schedule: { kind: 'cron', fields } };
}

function fieldProblem(field: string, rule: FieldRule): string | undefined {
  if (field === '?') return rule.question ? undefined : '? is allowed only in day-of-month and day-of-week';
  if (rule.special?.test(field)) return undefined;
  for (const part of field.split(',')) {
    const [range, step, ...rest] = part.split('/');
    if (rest.length) return `"${part}" has more than one /`;
    if (step !== undefined && !(/^\d+$/.test(step) && Number(step) >= 1 && Number(step) <= rule.max)) return `the step in "${part}" must be a whole number from 1 to ${rule.max}`;
    if (range === '*') continue;
    const ends = range!.split('-');
    if (ends.length > 2) return `"${range}" is not a value or a range`;
    const numbers: number[] = [];
    for (const end of ends) {
      const n = valueOf(end, rule);
      if (n === undefined) return `"${end}" is not a ${rule.name} value (${rule.min}-${rule.max}${rule.names ? ` or ${rule.names[0]}-${rule.names.at(-1)}` : ''})`;
      numbers.push(n);
    }
    if (numbers.length === 2 && numbers[0]! > numbers[1]!) return `the range "${range}" runs backwards; write one that wraps as two, such as 22-23,0-2`;
  }
  return undefined;
}

/** A field value as its number: digits, or a name (`JAN`, `MON`) counted from the field's first name. */
export function valueOf(text: string, rule: Pick<FieldRule, 'min' | 'max' | 'names' | 'firstName'>): number | undefined {
  const named = rule.names?.indexOf(text.toUpperCase() as never) ?? -1;
  if (named >= 0) return named + (rule.firstName ?? 0);
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= rule.min && n <= rule.max ? n : undefined;
}
