import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { output } from '@azure/functions';
import { defineAgent } from '../../contract/definition';
import type { AgentRuntimeConfig } from '../../contract/config/runtime-config';
import { registerAgent } from '../../functions/azure/register';
import { exampleAgent } from '../../stacks/single-agent/example-agent';
import { agentInput } from '../helpers';

/** A stand-in for the Functions host's `app` that records what was registered. */
function recordingHost() {
  const calls: { kind: string; name: string; options: Record<string, any> }[] = [];
  const record = (kind: string) => (name: string, options: Record<string, any>) => void calls.push({ kind, name, options });
  return { calls, host: { http: record('http'), serviceBusQueue: record('serviceBusQueue'), eventGrid: record('eventGrid'), timer: record('timer') } };
}

const configOf = (agent = exampleAgent()): AgentRuntimeConfig => ({ definition: defineAgent(agent), route: [] });
const neverRuns = () => Promise.reject(new Error('not built in registration'));

describe('registering an agent with the Functions host', () => {
  it('registers the functions the example agent triggers need, with function keys by default', () => {
    const { calls, host } = recordingHost();
    const names = registerAgent(host as never, output, configOf(), neverRuns, {});
    assert.deepEqual(names, ['invoke', 'submit-job', 'job-status', 'queue', 'schedule_0']);
    const http = calls.filter((c) => c.kind === 'http');
    assert.deepEqual(http.map((c) => [c.name, c.options.methods, c.options.route, c.options.authLevel]), [
      ['invoke', ['POST'], 'agents/{name}/invocations', 'function'],
      ['submit-job', ['POST'], 'agents/{name}/jobs', 'function'],
      ['job-status', ['GET'], 'agents/{name}/jobs/{jobId}', 'function'],
    ]);
    const submit = http.find((c) => c.name === 'submit-job')!;
    assert.equal(submit.options.extraOutputs[0].queueName, '%AGENT_QUEUE%');
    const queue = calls.find((c) => c.kind === 'serviceBusQueue')!;
    assert.deepEqual([queue.options.queueName, queue.options.connection], ['%AGENT_QUEUE%', 'ServiceBusConnection']);
    assert.equal(calls.find((c) => c.kind === 'timer')!.options.schedule, '%SCHEDULE_0%');
  });

  it('registers an Event Grid function for event triggers, and HTTP anonymous only when the app authenticates', () => {
    const { calls, host } = recordingHost();
    const agent = agentInput({ triggers: [{ type: 'api' }, { type: 'event', pattern: { detailType: ['handoff'] } }] });
    assert.deepEqual(registerAgent(host as never, output, configOf(agent as never), neverRuns, { HTTP_AUTH_LEVEL: 'anonymous' }), ['invoke', 'events']);
    assert.equal(calls[0]!.options.authLevel, 'anonymous');
  });

  it('serves the task route to an agent its team may send tasks, and takes its queued tasks from its queue', () => {
    const { calls, host } = recordingHost();
    const specialist = { definition: defineAgent(agentInput({ name: 'billing', triggers: [{ type: 'api' }] })), route: [], callers: ['triage'] } satisfies AgentRuntimeConfig;
    assert.deepEqual(registerAgent(host as never, output, specialist, neverRuns, { HTTP_AUTH_LEVEL: 'anonymous', AGENT_QUEUE: 'billing' }), ['invoke', 'task', 'queue']);
    const task = calls.find((c) => c.name === 'task')!;
    assert.deepEqual([task.kind, task.options.methods, task.options.route, task.options.authLevel], ['http', ['POST'], 'agents/{name}/tasks', 'anonymous']);
    // Without callers, no task route; without a queue setting, nothing to listen on.
    assert.deepEqual(registerAgent(recordingHost().host as never, output, { ...specialist, callers: [] }, neverRuns, { AGENT_QUEUE: 'billing' }), ['invoke']);
    assert.deepEqual(registerAgent(recordingHost().host as never, output, specialist, neverRuns, {}), ['invoke', 'task']);
  });

  it('refuses an HTTP auth level it does not know', () => {
    const { host } = recordingHost();
    assert.throws(() => registerAgent(host as never, output, configOf(), neverRuns, { HTTP_AUTH_LEVEL: 'none' }), /HTTP_AUTH_LEVEL must be one of function, anonymous, admin, got "none"/);
  });
});
