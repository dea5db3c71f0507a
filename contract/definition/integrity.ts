import { createHash } from 'node:crypto';
import type { AgentDefinition } from './define';

/**
 * Content hashes that version a definition, and the check the runtime makes with them. Kept apart
 * from the schema so the runtime can prove its definition unchanged since synth without loading
 * the validation library at start.
 */

/** A short, stable hash for versioning prompts and definitions. */
export function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The version of a resolved definition: the hash of everything but the versions themselves. */
export function definitionVersion(spec: Omit<AgentDefinition, 'promptVersion' | 'version'>): string {
  return contentHash(JSON.stringify(spec));
}

/**
 * Checks that a definition carried to the runtime is the one synth checked: a hand-edited
 * environment changes the content and no longer matches its versions.
 */
export function verifyIntegrity(definition: AgentDefinition): AgentDefinition {
  const { promptVersion, version, ...spec } = definition;
  const name = typeof definition.name === 'string' ? definition.name : '(unnamed)';
  if (promptVersion !== contentHash(definition.instructions)) throw new Error(`agent "${name}": promptVersion does not match the instructions`);
  if (version !== definitionVersion(spec)) throw new Error(`agent "${name}": the definition was changed after synth (its version does not match)`);
  return definition;
}
