import type { AgentOutput, OutputRule } from '../../../contract/definition/schema';
import type { ValidationProblem, ValidationReport } from '../../../contract/runs/results';
import { compileJsonSchema, type Validate } from '../validation/json-schema';

export type { ValidationProblem, ValidationReport };

/**
 * Checks a final answer against the agent's output contract, in order: it must parse as JSON, match
 * the schema, pass the business rules the schema can't express (a due date in the future, a
 * non-negative price), and report a confidence no lower than the agent's minimum.
 */
export class OutputValidator {
  private schema?: Promise<Validate>;

  constructor(
    private readonly output: AgentOutput,
    private readonly now: () => number = Date.now,
  ) {}

  async validate(answer: string): Promise<ValidationReport> {
    const parsed = extractJson(answer);
    if (!parsed.ok) return { ok: false, problems: [{ kind: 'parse', path: '', message: parsed.message }] };
    const value = parsed.value;
    const structural = (await (this.schema ??= compileJsonSchema(this.output.schema)))(value);
    const problems: ValidationProblem[] = structural.map((p) => ({ kind: 'schema', path: p.path, message: p.message }));
    for (const rule of this.output.rules) {
      const problem = checkRule(rule, fieldValue(value, rule.field), this.now());
      if (problem) problems.push({ kind: 'rule', path: normalizePath(rule.field), message: rule.message ?? problem });
    }
    const confidence = typeof (value as { confidence?: unknown })?.confidence === 'number' ? (value as { confidence: number }).confidence : undefined;
    if (this.output.minConfidence !== undefined) {
      if (confidence === undefined) problems.push({ kind: 'confidence', path: 'confidence', message: 'must report a confidence between 0 and 1' });
      else if (confidence < this.output.minConfidence) {
        problems.push({ kind: 'confidence', path: 'confidence', message: `${confidence} is below the minimum of ${this.output.minConfidence}` });
      }
    }
    return { ok: problems.length === 0, problems, value, ...(confidence !== undefined && { confidence }) };
  }
}

/** The message that asks the model to repair its answer, showing it exactly what failed. */
export function repairPrompt(report: ValidationReport): string {
  const lines = report.problems.map((p) => `- ${p.path || '(answer)'}: ${p.message}`);
  return `Your answer did not pass validation:\n${lines.join('\n')}\nAnswer again with only the corrected JSON object.`;
}

/** Accepts a bare JSON answer, a fenced ```json block, or the outermost {...} in the text. */
export function extractJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  const candidates = [text.trim()];
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text);
  if (fenced) candidates.push(fenced[1]!.trim());
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start >= 0 && end > start) candidates.push(text.slice(start, end + 1));
  for (const candidate of candidates) {
    try {
      return { ok: true, value: JSON.parse(candidate) };
    } catch {
      // try the next reading
    }
  }
  return { ok: false, message: 'the answer is not a JSON object' };
}

function normalizePath(field: string): string {
  return field.replace(/^\//, '').replace(/\//g, '.');
}

function fieldValue(value: unknown, field: string): unknown {
  return normalizePath(field)
    .split('.')
    .reduce<unknown>((v, key) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined), value);
}

function checkRule(rule: OutputRule, value: unknown, now: number): string | undefined {
  if (value === undefined || value === null) return undefined; // presence is the schema's job
  switch (rule.check) {
    case 'past':
    case 'future': {
      const time = typeof value === 'string' || typeof value === 'number' ? new Date(value).getTime() : NaN;
      if (Number.isNaN(time)) return 'must be a date';
      if (rule.check === 'past' && time > now) return 'must be in the past';
      if (rule.check === 'future' && time <= now) return 'must be in the future';
      return undefined;
    }
    case 'nonNegative':
      return typeof value !== 'number' ? 'must be a number' : value < 0 ? 'must not be negative' : undefined;
    case 'positive':
      return typeof value !== 'number' ? 'must be a number' : value <= 0 ? 'must be positive' : undefined;
    case 'min':
      return typeof value !== 'number' ? 'must be a number' : value < rule.value ? `must be at least ${rule.value}` : undefined;
    case 'max':
      return typeof value !== 'number' ? 'must be a number' : value > rule.value ? `must be at most ${rule.value}` : undefined;
    case 'pattern':
      return typeof value !== 'string' ? 'must be a string' : new RegExp(rule.value).test(value) ? undefined : `must match ${rule.value}`;
  }
}
