import { SKILL_FILE, SKILL_INDEX_KEY, splitSkillFile, type SkillIndex, type SkillSummary } from '../../../contract/skills/format';
import type { ToolSpec } from '../models/types';
import type { SkillStore } from './store';

/** The built-in tools through which the model opens skills, one level of detail at a time. */
export const LOAD_SKILL = 'load_skill';
export const READ_SKILL_FILE = 'read_skill_file';

/**
 * An agent's view of its skills with progressive disclosure: the catalog (names and descriptions)
 * goes into the instructions, a skill's SKILL.md body is loaded when the model asks for it, and
 * the skill's other files only when the model asks for each.
 */
export class AgentSkills {
  private constructor(
    private readonly store: SkillStore,
    readonly available: readonly SkillSummary[],
  ) {}

  /** Reads the index once and keeps the agent's own skills, in the order the definition lists them. */
  static async open(store: SkillStore, names: readonly string[]): Promise<AgentSkills> {
    if (names.length === 0) return new AgentSkills(store, []);
    const text = await store.read(SKILL_INDEX_KEY);
    if (text === undefined) throw new Error(`the skill store has no ${SKILL_INDEX_KEY}`);
    const index = JSON.parse(text) as SkillIndex;
    const available = names.map((name) => {
      const skill = index.skills.find((s) => s.name === name);
      if (!skill) throw new Error(`skill "${name}" is not in the skill store`);
      return skill;
    });
    return new AgentSkills(store, available);
  }

  /** The catalog for the system prompt; empty when the agent has no skills. */
  catalog(): string {
    if (this.available.length === 0) return '';
    const lines = this.available.map((s) => `- ${s.name}: ${s.description}`);
    return [
      'You have these skills. Before a task one of them covers, call load_skill with its name and follow what it says; call read_skill_file for a file the skill refers to.',
      ...lines,
    ].join('\n');
  }

  tools(): ToolSpec[] {
    if (this.available.length === 0) return [];
    const names = this.available.map((s) => s.name);
    return [
      {
        name: LOAD_SKILL,
        description: 'Load the instructions of one of your skills.',
        inputSchema: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', enum: names } } },
      },
      {
        name: READ_SKILL_FILE,
        description: "Read a file from one of your skills' folders, such as references/policy.md.",
        inputSchema: {
          type: 'object',
          required: ['name', 'path'],
          additionalProperties: false,
          properties: { name: { type: 'string', enum: names }, path: { type: 'string' } },
        },
      },
    ];
  }

  /** A skill's instructions: the SKILL.md body without its front matter. */
  async load(name: string): Promise<string> {
    this.require(name);
    const text = await this.store.read(`${name}/${SKILL_FILE}`);
    if (text === undefined) throw new Error(`skill "${name}" has no ${SKILL_FILE}`);
    return splitSkillFile(text, `${name}/${SKILL_FILE}`).body.trim();
  }

  /** One of a skill's other files, only those the index lists. */
  async readFile(name: string, path: string): Promise<string> {
    const skill = this.require(name);
    if (!skill.files.includes(path)) throw new Error(`skill "${name}" has no file "${path}" (it has: ${skill.files.join(', ') || 'none'})`);
    const text = await this.store.read(`${name}/${path}`);
    if (text === undefined) throw new Error(`skill "${name}" file "${path}" is missing from the store`);
    return text;
  }

  private require(name: string): SkillSummary {
    const skill = this.available.find((s) => s.name === name);
    if (!skill) throw new Error(`"${name}" is not one of your skills`);
    return skill;
  }
}
