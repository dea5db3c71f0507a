import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toNcrontab } from '../../constructs/azure/schedule';

describe('schedules as Azure timer expressions', () => {
  const cases: [string, string][] = [
    ['cron(0 7 ? * MON-FRI *)', '0 0 7 * * 1-5'],
    ['cron(30 18 ? * 1,7 *)', '0 30 18 * * 0,6'],
    ['cron(0/15 * * JAN-MAR ? *)', '0 0/15 * * 1-3 *'],
    ['cron(0 12 1 * ? *)', '0 0 12 1 * *'],
    ['rate(1 minute)', '0 * * * * *'],
    ['rate(15 minutes)', '0 */15 * * * *'],
    ['rate(6 hours)', '0 0 */6 * * *'],
    ['rate(1 day)', '0 0 0 * * *'],
    ['rate(120 minutes)', '0 0 */2 * * *'],
    ['rate(24 hours)', '0 0 0 * * *'],
    ['cron(*/10 8-17 ? * SUN,SAT *)', '0 */10 8-17 * * 0,6'],
    ['cron(5 0 ? * 2-6/2 *)', '0 5 0 * * 1-5/2'],
    ['cron(0 0 1,15 feb-apr ? *)', '0 0 0 1,15 2-4 *'],
  ];
  for (const [expression, ncrontab] of cases) it(`${expression} → ${ncrontab}`, () => assert.equal(toNcrontab(expression), ncrontab));

  const refused: [string, RegExp][] = [
    ['rate(7 minutes)', /the rate must divide 60/],
    ['rate(2 days)', /cannot repeat every 2 days exactly/],
    ['cron(0 9 ? * 2#1 *)', /uses L, W or #/],
    ['cron(0 9 * * ? 2027)', /the year field must be \*/],
    ['cron(0 9 * *)', /takes six fields/],
    ['cron(0 9 ? * 8 *)', /day-of-week "8": "8" is not a day-of-week value \(1-7 or SUN-SAT\)/],
    ['rate(48 hours)', /cannot repeat every 2 days exactly/],
    ['cron(0 9 L * ? *)', /day-of-month "L" uses L, W or #/],
    ['at(2027-01-01T00:00:00)', /must be rate\(...\) or cron\(...\)/],
  ];
  for (const [expression, reason] of refused) it(`refuses ${expression}`, () => assert.throws(() => toNcrontab(expression), reason));
});
