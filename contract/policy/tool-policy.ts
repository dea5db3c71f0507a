import { z } from 'zod';
import { AgentDefinitionError, formatIssues, type AgentDefinition } from '../definition/define';

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

/**
 * A cohort's tool policy as given to an agent's construct; a bad one fails synth naming the agent,
 * and so does one that denies a tool the agent does not have (a misspelt name would deny nothing).
 */
export function parseToolPolicy(agent: Pick<AgentDefinition, 'name' | 'tools'>, input: ToolPolicyInput | undefined): ToolPolicy | undefined {
  if (!input) return undefined;
  const parsed = toolPolicySchema.safeParse(input);
  if (!parsed.success) throw new AgentDefinitionError(agent.name, formatIssues(parsed.error.issues).map((p) => `toolPolicy.${p}`));
  const tools = agent.tools.map((t) => t.name);
  const unknown = parsed.data.deniedTools.flatMap((name, i) =>
    tools.includes(name) ? [] : [`toolPolicy.deniedTools[${i}]: "${name}" is not a tool of this agent (${tools.length ? `its tools: ${tools.join(', ')}` : 'it has none'})`],
  );
  if (unknown.length) throw new AgentDefinitionError(agent.name, unknown);
  return parsed.data;
}
