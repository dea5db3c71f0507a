import { render } from 'velocityjs';

/**
 * API Gateway's mapping templates, rendered by a real Velocity engine (velocityjs) with the
 * `$input`, `$util` and `$context` API Gateway documents, so a test sees what an integration
 * receives and what a caller gets back, from the templates exactly as synthesized.
 */
export interface GatewayRequest {
  /** Path parameters. */
  readonly params: Readonly<Record<string, string>>;
  /** The body as API Gateway received it (for a response template: the integration's answer). */
  readonly body: unknown;
  readonly requestId?: string;
  readonly path?: string;
  readonly callerArn?: string;
  /** The authorizer's claims (a Cognito token's), as `$context.authorizer.claims`. */
  readonly claims?: Readonly<Record<string, string>>;
}

export interface Rendered {
  readonly output: string;
  /** What the template set on `$context.requestOverride` / `$context.responseOverride`. */
  readonly requestOverride: { header: Record<string, string>; path: Record<string, string> };
  readonly responseOverride: { status?: number };
}

/** The value at a JSONPath such as `$` or `$.Item.record.S`. */
function jsonPath(value: unknown, path: string): unknown {
  if (path === '$') return value;
  return path
    .replace(/^\$\./, '')
    .split('.')
    .reduce<unknown>((v, key) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined), value);
}

export function renderTemplate(template: string, request: GatewayRequest): Rendered {
  const requestOverride = { header: {} as Record<string, string>, path: {} as Record<string, string> };
  const responseOverride: { status?: number } = {};
  const output = render(template, {
    input: {
      params: (name: string) => request.params[name] ?? '',
      json: (path: string) => JSON.stringify(jsonPath(request.body, path) ?? null),
      path: (path: string) => jsonPath(request.body, path) ?? '',
    },
    util: {
      escapeJavaScript: (s: string) => String(s).replace(/["\\]/g, '\\$&').replace(/\n/g, '\\n'),
      urlEncode: (s: string) => encodeURIComponent(String(s)),
    },
    context: {
      requestId: request.requestId ?? 'req-1',
      requestTimeEpoch: 1_796_083_200_000,
      path: request.path ?? '/v1/agents',
      identity: { userArn: request.callerArn ?? '' },
      authorizer: { claims: { ...request.claims } },
      requestOverride,
      responseOverride,
    },
  });
  return { output: output.trim(), requestOverride, responseOverride };
}
