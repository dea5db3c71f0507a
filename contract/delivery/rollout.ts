import { z } from 'zod';
import { formatIssues } from '../definition/define';

/**
 * How a new version of an agent takes its traffic: all at once, or gradually while its own alarms
 * watch it (function errors, the share of runs that end without a valid answer, the share of final
 * answers that fail the output contract) and roll it back when one fires. Only the steps both
 * clouds' deployment services ship ready-made are offered, so no agent needs a deployment
 * configuration of its own: CodeDeploy's predefined Lambda configurations.
 */
export const ROLLOUT_STEPS = {
  /** The new version takes `percent` of traffic for `minutes`, then all of it. */
  canary: { percent: [10], minutes: [5, 10, 15, 30] },
  /** The new version takes `percent` more of traffic every `minutes`. */
  linear: { percent: [10], minutes: [1, 2, 3, 10] },
} as const;

const rate = () => z.number().gt(0, 'must be above 0 (a share of runs, such as 0.05)').max(1, 'must be at most 1 (a share of runs, such as 0.05)');

const gradual = <S extends keyof typeof ROLLOUT_STEPS>(strategy: S) =>
  z.strictObject({
    strategy: z.literal(strategy),
    /** @default 10 */
    percent: z
      .number()
      .default(10)
      .refine((p) => (ROLLOUT_STEPS[strategy].percent as readonly number[]).includes(p), `must be ${ROLLOUT_STEPS[strategy].percent.join(' or ')}: the predefined ${strategy} configurations shift that share`),
    minutes: z
      .number()
      .refine((m) => (ROLLOUT_STEPS[strategy].minutes as readonly number[]).includes(m), `must be one of ${ROLLOUT_STEPS[strategy].minutes.join(', ')}: the predefined ${strategy} configurations' periods`),
    /** The share of runs ending without a valid answer that rolls the version back. @default 0.05 */
    maxRunFailureRate: rate().default(0.05),
    /** The share of final answers failing the output contract that rolls it back. @default 0.05 */
    maxValidationFailureRate: rate().default(0.05),
  });

export const rolloutSchema = z.discriminatedUnion('strategy', [z.strictObject({ strategy: z.literal('all-at-once') }), gradual('canary'), gradual('linear')], {
  error: () => 'must be "all-at-once", "canary" or "linear"',
});

export type RolloutInput = z.input<typeof rolloutSchema>;
export type Rollout = z.output<typeof rolloutSchema>;
export type GradualRollout = Extract<Rollout, { strategy: 'canary' | 'linear' }>;

export class RolloutError extends Error {
  override name = 'RolloutError';
}

/** The rollout, checked (none when none is given), and what is wrong with it as `rollout.field: problem` lines. */
export function checkRollout(input: RolloutInput | undefined): { rollout?: Rollout; problems: string[] } {
  if (input === undefined) return { problems: [] };
  const parsed = rolloutSchema.safeParse(input);
  return parsed.success ? { rollout: parsed.data, problems: [] } : { problems: formatIssues(parsed.error.issues.map((i) => ({ ...i, path: ['rollout', ...i.path] }))) };
}

/** The rollout, checked; `where` names what it belongs to in the error (a scope, an environment). */
export function parseRollout(input: RolloutInput, where: string): Rollout {
  const { rollout, problems } = checkRollout(input);
  if (problems.length) throw new RolloutError(`${where}: ${problems.join('; ')}`);
  return rollout!;
}

export const isGradual = (rollout: Rollout | undefined): rollout is GradualRollout => rollout !== undefined && rollout.strategy !== 'all-at-once';

/** How a rollout reads in a summary: `canary 10% for 5 min`, `linear 10% every 1 min`, `all at once`. */
export function describeRollout(rollout: Rollout | undefined): string {
  if (!rollout) return 'code replaced at once';
  if (rollout.strategy === 'all-at-once') return 'all at once';
  return rollout.strategy === 'canary' ? `canary ${rollout.percent}% for ${rollout.minutes} min` : `linear ${rollout.percent}% every ${rollout.minutes} min`;
}
