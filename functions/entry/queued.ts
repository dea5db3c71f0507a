import type { parseRequestBody } from '../../contract/api/request';

/** The request-body check, passed in because it loads with the first message, not at start. */
type RequestParser = typeof parseRequestBody;

/** A run taken off a queue, an event subscription or a schedule, on either cloud. */
export interface QueuedRun {
  readonly runId: string;
  readonly jobId?: string;
  readonly trigger: 'job' | 'schedule' | 'event' | 'queue';
  readonly input: string | Record<string, unknown>;
}

/** A message body as JSON, or as the text it is. */
export function messageBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A job the API queued; its id names the run. */
export function jobRun(jobId: string, body: unknown, parse: RequestParser): QueuedRun {
  const parsed = parse(body);
  // The API checked the body already; a message sent straight to the queue may not be.
  if (!parsed.ok) throw new Error(`job ${jobId} has an invalid body: ${parsed.problems.join('; ')}`);
  return { runId: jobId, jobId, trigger: 'job', input: parsed.body.input };
}

/** Anything else put on the queue: a request body, whose idempotency key names the run, or raw input. */
export function plainRun(body: unknown, messageId: string, parse: RequestParser): QueuedRun {
  const parsed = parse(body);
  if (parsed.ok) return { runId: parsed.body.idempotencyKey ?? messageId, trigger: 'queue', input: parsed.body.input };
  return { runId: messageId, trigger: 'queue', input: typeof body === 'string' ? body : (body as Record<string, unknown>) };
}
