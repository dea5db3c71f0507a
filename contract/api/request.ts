import { z } from 'zod';
import { ID_PATTERN, ID_RULE } from './ids';

/**
 * The request body of `POST /agents/{name}/invocations` and `/jobs`, on both clouds. The runtime
 * checks bodies with this schema (loaded with the first request that needs checking, so the
 * validation library is not parsed at start), and API Gateway's request model is derived from it.
 */
const id = z.string().regex(ID_PATTERN, ID_RULE);

/**
 * The longest prompt text, and the deepest and largest a body may be, on both clouds: a job body
 * must fit a Service Bus Standard message (256 KB), the smaller queue limit of the two.
 */
export const MAX_INPUT_CHARACTERS = 100_000;
export const MAX_BODY_DEPTH = 32;
export const MAX_BODY_BYTES = 256 * 1024;

/** Why a body is too deep or too large, or undefined when it is neither; walks it with a stack of its own. */
export function shapeProblem(body: unknown): string | undefined {
  const pending: [value: unknown, depth: number][] = [[body, 0]];
  let bytes = 0;
  while (pending.length) {
    const [value, depth] = pending.pop()!;
    if (typeof value === 'string') bytes += value.length;
    else bytes += 8;
    if (bytes > MAX_BODY_BYTES) return `(body): is larger than ${MAX_BODY_BYTES / 1024} KiB`;
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_BODY_DEPTH) return `(body): is nested deeper than ${MAX_BODY_DEPTH} levels`;
    for (const [key, child] of Object.entries(value)) {
      bytes += key.length;
      pending.push([child, depth + 1]);
    }
  }
  return undefined;
}

export const requestBodySchema = z.strictObject({
  input: z.union([z.string().min(1, 'must not be empty').max(MAX_INPUT_CHARACTERS), z.record(z.string(), z.unknown())], {
    error: `must be the prompt as text (1-${MAX_INPUT_CHARACTERS} characters) or a JSON object`,
  }),
  sessionId: id.optional(),
  idempotencyKey: id.optional(),
});

export type RequestBody = z.output<typeof requestBodySchema>;

/**
 * The body, or every problem with it as `field: message`. Its shape is bounded first, without
 * recursion, so a body nested thousands of levels deep is refused instead of exhausting the stack
 * of whatever walks it later (the schema check, the audit record, the model request).
 */
export function parseRequestBody(body: unknown): { ok: true; body: RequestBody } | { ok: false; problems: string[] } {
  const shape = shapeProblem(body);
  if (shape) return { ok: false, problems: [shape] };
  const parsed = requestBodySchema.safeParse(body);
  return parsed.success ? { ok: true, body: parsed.data } : { ok: false, problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`) };
}

/** The same body as a JSON Schema draft 4 document, the dialect API Gateway models are written in. */
export function requestBodyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(requestBodySchema, { target: 'draft-4' }) as Record<string, unknown>;
}
