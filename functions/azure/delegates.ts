import type { EventGridPublisherClient, SendEventGridEventInput } from '@azure/eventgrid';
import type { TokenCredential } from '@azure/identity';
import type { ContainerClient } from '@azure/storage-blob';
import { taskEventType, type AgentTask, type TaskResult } from '../../contract/chain/envelope';
import { AZURE_STATE_CONTAINERS, type AzurePeers } from '../../contract/config/settings';
import { eventSubject } from '../../contract/events/agent-events';
import type { JobRecord } from '../../contract/jobs/job-record';
import type { AgentDelegates } from '../core/chain/chain';
import { packTask, type TaskInbox } from '../core/chain/inbox';
import { BlobJobStore } from './blob-state';

export interface AzureDelegatesOptions {
  /** The agents this one may send tasks to, as its AGENT_PEERS setting names them. */
  readonly peers: AzurePeers;
  /** A blob container, by account URL and name. */
  readonly container: (accountUrl: string, name: string) => ContainerClient;
  /** The team's topic, which jobs and hand-offs are published to. Omitted: the agent sends none. */
  readonly topic?: Pick<EventGridPublisherClient<'EventGrid'>, 'send'>;
  /** Where inputs too large for a message are left for their target. */
  readonly inbox: TaskInbox;
  /** Tokens for the task routes of the agents this one calls: the function's managed identity in Azure. */
  readonly credential: TokenCredential;
  readonly fetch?: typeof fetch;
}

/**
 * How an Azure agent reaches the agents of its team. A call posts the task to the target's task
 * route with an Entra ID token for the target's audience, which only callers given its
 * `Agent.Invoke` app role can get, and reads the answer; a job or hand-off is published to the
 * team's Event Grid topic, whose subscription for the target delivers it to the target's Service
 * Bus queue (retries, dead letters); a job's result is read from the target's job records.
 */
export class AzureDelegates implements AgentDelegates {
  constructor(private readonly options: AzureDelegatesOptions) {}

  async call(task: AgentTask, signal?: AbortSignal): Promise<TaskResult> {
    const peer = this.peer(task.to);
    if (!peer.taskUrl || !peer.audience) throw new Error(`agent ${task.to} takes no calls from this agent (AGENT_PEERS names no task route for it)`);
    const token = await this.options.credential.getToken(`${peer.audience}/.default`, { ...(signal && { abortSignal: signal }) });
    if (!token) throw new Error(`no Entra ID token for agent ${task.to} (audience ${peer.audience})`);
    let response: Response;
    try {
      response = await (this.options.fetch ?? fetch)(peer.taskUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(task),
        ...(signal && { signal }),
      });
    } catch (e) {
      if (signal?.aborted) throw new Error(`the call to agent ${task.to} was given up: this run's time is up`);
      throw new Error(`agent ${task.to} could not be reached: ${causeOf(e)}`);
    }
    const text = await response.text();
    if (response.status !== 200) throw new Error(`agent ${task.to} answered ${response.status}${messageOf(text)}`);
    const result = parseResult(text);
    if (!result || result.runId !== task.runId) throw new Error(`agent ${task.to} answered 200 without the result of run ${task.runId}`);
    return result;
  }

  async send(task: AgentTask): Promise<void> {
    if (task.kind === 'call') throw new Error('a call is not sent through the queue');
    this.peer(task.to);
    if (!this.options.topic) throw new Error(`agent ${task.to} is reached through the team's topic, and this agent has none (AGENT_TOPIC_ENDPOINT)`);
    const message = await packTask(task, this.options.inbox);
    const event: SendEventGridEventInput<AgentTask> = {
      // The task's run id: a task sent twice is the same event, and runs once on its target.
      id: task.runId,
      eventType: taskEventType(task.kind, task.to),
      subject: eventSubject(task.from, task.chain.causationId),
      dataVersion: '1',
      data: message,
    };
    await this.options.topic.send([event]);
  }

  async status(agent: string, runId: string): Promise<JobRecord | undefined> {
    const peer = this.peer(agent);
    return new BlobJobStore(this.options.container(peer.stateAccountUrl, `${peer.containerPrefix ?? ''}${AZURE_STATE_CONTAINERS.jobs}`)).get(runId);
  }

  private peer(agent: string): AzurePeers[string] {
    const peer = this.options.peers[agent];
    if (!peer) throw new Error(`agent ${agent} is not among the agents this one may reach (AGENT_PEERS: ${Object.keys(this.options.peers).join(', ') || 'none'})`);
    return peer;
  }
}

/** AGENT_PEERS as the constructs write it; a setting that is not is refused, naming it. */
export function parsePeers(text: string): AzurePeers {
  let peers: unknown;
  try {
    peers = JSON.parse(text);
  } catch {
    throw new Error('AGENT_PEERS is not JSON');
  }
  if (!peers || typeof peers !== 'object' || Array.isArray(peers)) throw new Error('AGENT_PEERS must map agent names to how they are reached');
  for (const [name, peer] of Object.entries(peers)) {
    if (typeof (peer as { stateAccountUrl?: unknown })?.stateAccountUrl !== 'string') throw new Error(`AGENT_PEERS.${name}.stateAccountUrl: must be the agent's state account URL`);
    const prefix = (peer as { containerPrefix?: unknown }).containerPrefix;
    if (prefix !== undefined && typeof prefix !== 'string') throw new Error(`AGENT_PEERS.${name}.containerPrefix: must be the start of the agent's container names`);
  }
  return peers as AzurePeers;
}

function parseResult(text: string): TaskResult | undefined {
  try {
    const value = JSON.parse(text) as Partial<TaskResult>;
    return typeof value?.runId === 'string' && typeof value.status === 'string' ? (value as TaskResult) : undefined;
  } catch {
    return undefined;
  }
}

/** What an error answer says, when it says something. */
function messageOf(text: string): string {
  try {
    const message = (JSON.parse(text) as { message?: unknown })?.message;
    if (typeof message === 'string') return `: ${message}`;
  } catch {
    // Not JSON: the text itself, briefly.
  }
  return text ? `: ${text.slice(0, 200)}` : '';
}

/** fetch's "fetch failed" with what actually failed. */
function causeOf(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e as Error).message;
}
