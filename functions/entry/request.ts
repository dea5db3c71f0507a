import { z } from 'zod';

/**
 * The request body of `POST /agents/{name}/invocations` and `/jobs` as the runtime accepts it.
 * Loaded with the first request that needs checking, so the validation library is not parsed
 * at start.
 */
const requestId = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 letters, digits, or . _ : -');

export const requestBodySchema = z.strictObject({
  input: z.union([z.string().min(1).max(100_000), z.record(z.string(), z.unknown())]),
  sessionId: requestId.optional(),
  idempotencyKey: requestId.optional(),
});

export type RequestBody = z.output<typeof requestBodySchema>;

/** The body, or every problem with it as `field: message`. */
export function parseRequestBody(body: unknown): { ok: true; body: RequestBody } | { ok: false; problems: string[] } {
  const parsed = requestBodySchema.safeParse(body);
  return parsed.success ? { ok: true, body: parsed.data } : { ok: false, problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`) };
}
