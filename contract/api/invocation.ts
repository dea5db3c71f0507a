/**
 * What the AWS API hands an agent's function for `POST /agents/{name}/invocations`: its request
 * template builds this envelope (one field per entry of `InvocationTemplate`), and the Lambda
 * handler recognizes and reads it. The body is passed on unparsed; the runtime checks it.
 */
export interface Invocation {
  readonly kind: typeof INVOCATION_KIND;
  /** The agent named in the path. */
  readonly agent: string;
  /** API Gateway's request id, the run id unless the body names an idempotency key. */
  readonly requestId: string;
  readonly requestTimeEpoch: number;
  /** Who called: the IAM principal, the authorizer's principal or the token's subject. */
  readonly caller: string;
  readonly body: unknown;
}

export const INVOCATION_KIND = 'invocation';

/** A template expression for each field of the envelope: the API's side of this contract. */
export type InvocationTemplate = { readonly [K in keyof Invocation]-?: string };

export function isInvocation(event: unknown): event is Invocation {
  const e = event as Partial<Invocation> | undefined;
  return e?.kind === INVOCATION_KIND && typeof e.agent === 'string' && typeof e.requestId === 'string';
}
