import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { formatIssues } from '../definition/define';
import { SKILL_FILE, SkillError, splitSkillFile, type SkillIndex, type SkillSummary } from './format';

export * from './format';

/**
 * Skills in the Agent Skills format: a folder per skill holding a SKILL.md whose YAML front matter
 * names and describes it. This module reads and checks a skills folder; both clouds publish what
 * it returns, so they agree on the index the runtime reads.
 */

const frontMatterSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'must be lowercase letters, digits and single hyphens, not starting or ending with a hyphen'),
  description: z.string().trim().min(1, 'must not be empty').max(1024),
  license: z.string().min(1).optional(),
  compatibility: z.string().min(1).max(500).optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  'allowed-tools': z.string().min(1).optional(),
});

/** Reads a skills folder and checks every skill in it, failing on the first broken one. */
export function readSkillsFolder(folder: string): SkillIndex {
  let entries: string[];
  try {
    entries = readdirSync(folder).sort();
  } catch (e) {
    throw new SkillError(folder, [`cannot read the skills folder (${(e as NodeJS.ErrnoException).code ?? e})`]);
  }
  const skills = entries
    .filter((entry) => !entry.startsWith('.') && statSync(join(folder, entry)).isDirectory())
    .map((entry) => readSkill(join(folder, entry), entry));
  if (skills.length === 0) throw new SkillError(folder, ['holds no skill folders']);
  return { version: 1, skills };
}

function readSkill(dir: string, folderName: string): SkillSummary {
  const file = join(dir, SKILL_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new SkillError(file, ['is missing: every skill folder needs a SKILL.md']);
  }
  const { data } = parseSkillFile(text, file);
  const parsed = frontMatterSchema.safeParse(data);
  if (!parsed.success) throw new SkillError(file, formatIssues(parsed.error.issues, 'front matter'));
  const fm = parsed.data;
  if (fm.name !== folderName) throw new SkillError(file, [`name: "${fm.name}" must match its folder name "${folderName}"`]);
  return {
    name: fm.name,
    description: fm.description,
    ...(fm.license && { license: fm.license }),
    ...(fm.compatibility && { compatibility: fm.compatibility }),
    ...(fm.metadata && { metadata: fm.metadata }),
    ...(fm['allowed-tools'] && { allowedTools: fm['allowed-tools'].split(/\s+/).filter(Boolean) }),
    files: listFiles(dir).filter((f) => f !== SKILL_FILE),
  };
}

/** Splits a SKILL.md into its parsed front matter and its body. */
export function parseSkillFile(text: string, file = SKILL_FILE): { data: unknown; body: string } {
  const { frontMatter, body } = splitSkillFile(text, file);
  let data: unknown;
  try {
    data = parseYaml(frontMatter);
  } catch (e) {
    throw new SkillError(file, [`front matter is not valid YAML: ${(e as Error).message.split('\n')[0]}`]);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new SkillError(file, ['front matter must be a YAML mapping with name and description']);
  }
  return { data, body };
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

/**
 * What keeps an agent from the skills it lists, as `skills[i]: …` problems: no store given, or a
 * skill the store lacks. `store` names the construct the user passes (`SkillBucket`, …).
 */
export function skillProblems(skills: readonly string[], index: SkillIndex | undefined, store: string): string[] {
  const article = /^[AEIOU]/.test(store) ? 'an' : 'a';
  const names = index?.skills.map((s) => s.name) ?? [];
  return skills.flatMap((s, i) => {
    if (!index) return [`skills[${i}]: "${s}" needs ${article} ${store} (pass skills)`];
    return names.includes(s) ? [] : [`skills[${i}]: "${s}" is not in the ${store} (it has: ${names.join(', ')})`];
  });
}
