import type { AgentSpec } from './schema';
import { AGENTCORE_REQUEST_MAX_SECONDS } from '../placement/placement';

/**
 * How long a synchronous run may take, read by the constructs (to check it fits the HTTP front
 * end) and by the runtime (to stop in time to answer). Kept apart from the schema so the runtime
 * loads no validation library for it.
 */

/** The HTTP front-end timeout a synchronous run fits by default, on either cloud: API Gateway's. */
export const DEFAULT_SYNC_TIMEOUT_SECONDS = 29;

/**
 * How long a synchronous run of `agent` may take: its api trigger's `timeoutSeconds`, or else
 * the shorter of its own limit and its front end's: API Gateway's default integration timeout, or
 * AgentCore Runtime's 15 minutes for an agent placed there.
 */
export function syncTimeoutSeconds(agent: Pick<AgentSpec, 'triggers' | 'limits'> & { readonly placement?: AgentSpec['placement'] }): number {
  const api = agent.triggers.find((t) => t.type === 'api');
  const front = agent.placement === 'agentcore' ? AGENTCORE_REQUEST_MAX_SECONDS : DEFAULT_SYNC_TIMEOUT_SECONDS;
  return api?.timeoutSeconds ?? Math.min(agent.limits.timeoutSeconds, front);
}
