import { z } from 'zod';
import { ID_PATTERN, ID_RULE } from './ids';

/**
 * The request body of `POST /agents/{name}/invocations` and `/jobs`, on both clouds. The runtime
 * checks bodies with this schema (loaded with the first request that needs checking, so the
 * validation library is not parsed at start), and API Gateway's request model is derived from it.
 */
const id = z.string().regex(ID_PATTERN, ID_RULE);

export const requestBodySchema = z.strictObject({
  input: z.union([z.string().min(1).max(100_000), z.record(z.string(), z.unknown())]),
  sessionId: id.optional(),
  idempotencyKey: id.optional(),
});

export type RequestBody = z.output<typeof requestBodySchema>;

/** The body, or every problem with it as `field: message`. */
export function parseRequestBody(body: unknown): { ok: true; body: RequestBody } | { ok: false; problems: string[] } {
  const parsed = requestBodySchema.safeParse(body);
  return parsed.success ? { ok: true, body: parsed.data } : { ok: false, problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`) };
}

/** The same body as a JSON Schema draft 4 document, the dialect API Gateway models are written in. */
export function requestBodyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(requestBodySchema, { target: 'draft-4' }) as Record<string, unknown>;
}
