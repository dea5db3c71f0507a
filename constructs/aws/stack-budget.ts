import { CfnOutput, CfnParameter, CfnResource, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * What one CloudFormation stack may hold, kept below CloudFormation's own limits (500 resources,
 * 1 MB of template from S3, 200 outputs, 200 parameters) so that a stack grown by a few more
 * agents, or by a construct's next version, fails here, at synth, naming the stack, rather than
 * in the middle of a deployment.
 */
export interface StackBudget {
  /** @default 450 */
  readonly resources?: number;
  /** Bytes of the synthesized template. @default 800,000 */
  readonly templateBytes?: number;
  /** @default 180 */
  readonly outputs?: number;
  /** @default 180 */
  readonly parameters?: number;
}

export const DEFAULT_STACK_BUDGET: Required<StackBudget> = { resources: 450, templateBytes: 800_000, outputs: 180, parameters: 180 };

/** CloudFormation's own limits, which a budget may not pass. */
const CLOUDFORMATION_LIMITS: Required<StackBudget> = { resources: 500, templateBytes: 1_000_000, outputs: 200, parameters: 200 };

/**
 * Checks `stack` against `budget` when the app is validated; an overflow fails synth naming the
 * stack, the count, the budget, and `remedy` (what to do about it, in the words of whoever laid
 * the stack out).
 */
export function checkStackBudget(stack: Stack, budget: StackBudget = {}, remedy = 'move some of its resources to another stack'): void {
  const limits = { ...DEFAULT_STACK_BUDGET, ...budget };
  for (const key of Object.keys(limits) as (keyof StackBudget)[]) {
    if (!(limits[key] > 0 && limits[key] <= CLOUDFORMATION_LIMITS[key])) throw new Error(`${stack.node.path}: budget ${key} must be from 1 to CloudFormation's ${CLOUDFORMATION_LIMITS[key]}; got ${limits[key]}`);
  }
  stack.node.addValidation({
    validate: () => {
      const mine = (c: IConstruct) => Stack.of(c) === stack;
      const all = stack.node.findAll().filter(mine);
      const counts = {
        resources: all.filter((c) => c instanceof CfnResource).length,
        outputs: all.filter((c) => c instanceof CfnOutput).length,
        parameters: all.filter((c) => c instanceof CfnParameter).length,
      };
      const over = (Object.keys(counts) as (keyof typeof counts)[]).filter((k) => counts[k] > limits[k]).map((k) => `${counts[k]} ${k}, over its budget of ${limits[k]} (CloudFormation refuses more than ${CLOUDFORMATION_LIMITS[k]})`);
      // The template is rendered only for a stack within CloudFormation's resource count, where
      // aws-cdk-lib would otherwise fail first without naming a remedy.
      if (counts.resources <= CLOUDFORMATION_LIMITS.resources) {
        // As cdk.out holds it (and CloudFormation receives it): indented by one space.
        const bytes = Buffer.byteLength(JSON.stringify((stack as unknown as { _toCloudFormation(): unknown })._toCloudFormation(), undefined, 1));
        if (bytes > limits.templateBytes) over.push(`a ${Math.round(bytes / 1000)} KB template, over its budget of ${limits.templateBytes / 1000} KB (CloudFormation refuses more than 1 MB)`);
      }
      return over.length ? [`stack ${stack.stackName} (${stack.node.path}) holds ${over.join(' and ')}: ${remedy}`] : [];
    },
  });
}
