import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { AgentDefinitionError, defineAgent, type AgentDefinition } from './define';
import type { AgentDefinitionInput } from './schema';

/**
 * Reads an agent definition from a YAML or JSON file; `instructions.file` is relative to it.
 * Kept apart from `define` so the runtime bundle, which never reads files, carries no YAML parser.
 */
export function loadAgentFile(path: string): AgentDefinition {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new AgentDefinitionError(path, [`cannot read the definition file: ${(e as Error).message}`]);
  }
  return defineAgent(raw as AgentDefinitionInput, { baseDir: dirname(path), source: path });
}
