/**
 * What the AWS API hands an agent's function for `POST /agents/{name}/invocations` and
 * `POST /agents/{name}/jobs`: the request templates build this envelope (one field per entry of
 * `InvocationTemplate`), and the Lambda handler recognizes and reads it. The body is passed on
 * unparsed; the runtime checks it.
 */
export interface Invocation {
  readonly kind: typeof INVOCATION_KIND;
  /** Which route was called: run now, or queue a job. */
  readonly route: ApiRoute;
  /** The agent named in the path. */
  readonly agent: string;
  /** The path as called, with the stage: a job's status URL is this path and the job id. */
  readonly path: string;
  /** API Gateway's request id: the run id, or the job id, unless the body names an idempotency key. */
  readonly requestId: string;
  readonly requestTimeEpoch: number;
  /** Who called: the IAM principal, the authorizer's principal or the token's subject. */
  readonly caller: string;
  /** The caller's groups, as the authorizer reports them (Cognito's `cognito:groups`), comma-separated. */
  readonly roles: string;
  /** The job a job's route names (`approvals`, `cancel`); empty for the others. */
  readonly jobId: string;
  readonly body: unknown;
}

export const INVOCATION_KIND = 'invocation';

/** The API routes that hand a request to an agent's function. */
export type ApiRoute = 'invocations' | 'jobs' | 'approvals' | 'cancel';

const ROUTES: readonly string[] = ['invocations', 'jobs', 'approvals', 'cancel'] satisfies ApiRoute[];

/** A template expression for each field of the envelope: the API's side of this contract. */
export type InvocationTemplate = { readonly [K in keyof Invocation]-?: string };

export function isInvocation(event: unknown): event is Invocation {
  const e = event as Partial<Invocation> | undefined;
  return e?.kind === INVOCATION_KIND && ROUTES.includes(e.route as string) && typeof e.agent === 'string' && typeof e.requestId === 'string';
}
