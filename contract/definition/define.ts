import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { contentHash, definitionVersion } from './integrity';
import { agentDefinitionSchema, type AgentDefinitionInput, type AgentSpec } from './schema';

export { contentHash };

/** A parsed agent definition whose instructions are resolved to text and versioned. */
export interface AgentDefinition extends Omit<AgentSpec, 'instructions'> {
  readonly instructions: string;
  /** Content hash of the instructions: which prompt a run used. */
  readonly promptVersion: string;
  /** Content hash of the whole resolved definition. */
  readonly version: string;
}

/** A definition that fails validation; the message names the agent and each field path. */
export class AgentDefinitionError extends Error {
  constructor(
    readonly agent: string,
    readonly problems: readonly string[],
  ) {
    super(`agent "${agent}": ${problems.length === 1 ? problems[0] : `\n  - ${problems.join('\n  - ')}`}`);
    this.name = 'AgentDefinitionError';
  }
}

export interface DefineAgentOptions {
  /**
   * The folder that `instructions.file` is relative to.
   * @default the current working directory
   */
  readonly baseDir?: string;
  /**
   * Where the definition was read from, named in errors when it has no usable name.
   * @default none
   */
  readonly source?: string;
}

/**
 * Parses and resolves an agent definition, failing with every problem it finds at once.
 * Calling it again on a definition it returned gives back the same definition.
 */
export function defineAgent(input: AgentDefinitionInput | AgentDefinition, options: DefineAgentOptions = {}): AgentDefinition {
  if (isResolved(input)) return input;
  const label = agentLabel(input, options.source);
  const parsed = agentDefinitionSchema.safeParse(input);
  if (!parsed.success) throw new AgentDefinitionError(label, formatIssues(parsed.error.issues));
  const spec = parsed.data;
  let text: string;
  if (typeof spec.instructions === 'string') {
    text = spec.instructions;
  } else {
    const file = resolve(options.baseDir ?? process.cwd(), spec.instructions.file);
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new AgentDefinitionError(label, [`instructions.file: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? e})`]);
    }
    if (text.trim() === '') throw new AgentDefinitionError(label, [`instructions.file: ${file} is empty`]);
  }
  const resolvedSpec = { ...spec, instructions: text };
  return { ...resolvedSpec, promptVersion: contentHash(text), version: definitionVersion(resolvedSpec) };
}

/** Renders zod issues as `field.path: message`, the way the user wrote the field. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], whole = '(definition)'): string[] {
  return issues.map((issue) => {
    const path = issue.path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
    return `${path || whole}: ${issue.message}`;
  });
}

function isResolved(input: unknown): input is AgentDefinition {
  const d = input as Partial<AgentDefinition>;
  return typeof d?.promptVersion === 'string' && typeof d.version === 'string' && typeof d.instructions === 'string';
}

function agentLabel(input: unknown, source?: string): string {
  const name = (input as { name?: unknown } | undefined)?.name;
  if (typeof name === 'string' && name !== '') return name;
  return source ? `(unnamed, in ${source})` : '(unnamed)';
}
