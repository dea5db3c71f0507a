import type { ToolPolicy } from './tool-policy';

/**
 * A cohort's tool policy as the runtime applies it. Kept apart from its schema (`tool-policy.ts`)
 * so the runtime does not load the validation library to check a tool call; the type is derived
 * from that schema, and imported as a type only.
 */
export type { ToolPolicy } from './tool-policy';

export const OPEN_TOOL_POLICY: ToolPolicy = { deniedTools: [], allowWrite: true };

/** Why a tool may not run under `policy`, or undefined when it may. */
export function toolDenial(policy: ToolPolicy, tool: { name: string; scopes: readonly string[]; sideEffect: 'read' | 'write' }): string | undefined {
  if (policy.deniedTools.includes(tool.name)) return `tool "${tool.name}" is denied for this cohort`;
  if (tool.sideEffect === 'write' && !policy.allowWrite) return `tool "${tool.name}" writes, and this cohort may not`;
  const missing = policy.allowedScopes ? tool.scopes.filter((s) => !policy.allowedScopes!.includes(s)) : [];
  if (missing.length) return `tool "${tool.name}" needs scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which this cohort lacks`;
  return undefined;
}
