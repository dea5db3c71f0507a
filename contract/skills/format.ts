/**
 * The Agent Skills format as the runtime needs it: the index, the file names, and splitting a
 * SKILL.md into front matter and body. It parses no YAML, so the runtime bundle carries none;
 * checking a skills folder at synth lives in `catalog.ts`.
 */

/** One entry of the skill index: what the model sees in its catalog before it loads the skill. */
export interface SkillSummary {
  readonly name: string;
  readonly description: string;
  readonly license?: string;
  readonly compatibility?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly allowedTools?: readonly string[];
  /** Paths of the skill's other files, relative to its folder, loaded only when asked for. */
  readonly files: readonly string[];
}

/** The index published beside the skills so the runtime reads every description in one request. */
export interface SkillIndex {
  readonly version: 1;
  readonly skills: readonly SkillSummary[];
}

/** The object key (or blob name) of the index, beside the skill folders. */
export const SKILL_INDEX_KEY = 'index.json';
export const SKILL_FILE = 'SKILL.md';

/** A skills folder that breaks the format; the message names the file and the problem. */
export class SkillError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`skill ${file}: ${problems.join('; ')}`);
    this.name = 'SkillError';
  }
}

/** Splits a SKILL.md into its raw front matter and its body, without parsing the YAML. */
export function splitSkillFile(text: string, file = SKILL_FILE): { frontMatter: string; body: string } {
  const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/.exec(text);
  if (!match) throw new SkillError(file, ['must start with YAML front matter between "---" lines']);
  return { frontMatter: match[1]!, body: match[2]! };
}
