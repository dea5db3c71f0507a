import { z } from 'zod';

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
export type ToolPolicy = z.output<typeof toolPolicySchema>;

export const OPEN_TOOL_POLICY: ToolPolicy = { deniedTools: [], allowWrite: true };

/** Why a tool may not run under `policy`, or undefined when it may. */
export function toolDenial(policy: ToolPolicy, tool: { name: string; scopes: readonly string[]; sideEffect: 'read' | 'write' }): string | undefined {
  if (policy.deniedTools.includes(tool.name)) return `tool "${tool.name}" is denied for this cohort`;
  if (tool.sideEffect === 'write' && !policy.allowWrite) return `tool "${tool.name}" writes, and this cohort may not`;
  const missing = policy.allowedScopes ? tool.scopes.filter((s) => !policy.allowedScopes!.includes(s)) : [];
  if (missing.length) return `tool "${tool.name}" needs scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which this cohort lacks`;
  return undefined;
}
