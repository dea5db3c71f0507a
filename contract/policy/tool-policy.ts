import { z } from 'zod';
import { AgentDefinitionError, formatIssues } from '../definition/define';

/**
 * What a cohort's agents may do with their tools, enforced by the runtime whatever the model asks:
 * a tool needing a scope the cohort lacks, a denied tool, or a write tool where writes are off is
 * refused and audited.
 */
export const toolPolicySchema = z.strictObject({
  /** Scopes the cohort holds; a tool runs only if it needs none beyond these. Omitted: any scope. */
  allowedScopes: z.array(z.string().min(1)).optional(),
  /** Tools never run for this cohort, by name. */
  deniedTools: z.array(z.string().min(1)).default([]),
  /** Whether tools with side effects may run at all. */
  allowWrite: z.boolean().default(true),
});

export type ToolPolicyInput = z.input<typeof toolPolicySchema>;
/** A cohort's tool policy with its defaults filled in, as the runtime applies it. */
export type ToolPolicy = z.output<typeof toolPolicySchema>;

export { OPEN_TOOL_POLICY, toolDenial } from './tool-denial';

/** A cohort's tool policy as given to an agent's construct; a bad one fails synth naming the agent. */
export function parseToolPolicy(agent: string, input: ToolPolicyInput | undefined): ToolPolicy | undefined {
  if (!input) return undefined;
  const parsed = toolPolicySchema.safeParse(input);
  if (!parsed.success) throw new AgentDefinitionError(agent, formatIssues(parsed.error.issues).map((p) => `toolPolicy.${p}`));
  return parsed.data;
}
