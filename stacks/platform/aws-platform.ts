import { join } from 'node:path';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Construct } from 'constructs';
import { AgentApi, AgentBus, AgentOperations, AgentRollout, AgentStateTable, AuditBucket, DeadLetterQueue, ModelRouter, SkillBucket, type AgentFunctionProps, type ModelRouterProps } from '../../constructs/aws';
import type { AgentDefinition } from '../../contract/definition';
import type { ToolPolicyInput } from '../../contract/policy/tool-policy';
import type { RolloutInput } from '../../contract/delivery/rollout';

export interface AwsPlatformProps {
  readonly models: ModelRouterProps;
  readonly toolPolicies?: Readonly<Record<string, ToolPolicyInput>>;
  /** @default the repository's skills/ folder */
  readonly skillsPath?: string;
  /** What the alarm topic is called, for the people subscribed to it. */
  readonly alarmsName: string;
  /** What the shared dead-letter queue holds. */
  readonly deadLettersDescription: string;
  /** How the stack's agents take a new version. @default each deploy replaces code at once */
  readonly rollout?: RolloutInput;
  /**
   * Each cohort's monthly budget in USD. AWS Budgets cover the account: give them to one stack
   * per account. @default none
   */
  readonly monthlyBudgetUsd?: Readonly<Record<string, number>>;
}

/**
 * What every example stack on AWS shares: one skill registry, model router, alarm topic, bus,
 * state table, API, dead-letter queue (messages keep their agent and job id, redrive returns each
 * to its own queue, and each agent costs three resources fewer) and audit bucket, built only from
 * the public constructs; the part of each agent's props that points at them; and the operations
 * layer over its agents.
 */
export function awsPlatform(scope: Construct, props: AwsPlatformProps) {
  if (props.rollout) AgentRollout.setDefault(scope, props.rollout);
  const skills = new SkillBucket(scope, 'Skills', { path: props.skillsPath ?? join(__dirname, '..', '..', 'skills') });
  const router = new ModelRouter(scope, 'Models', props.models);
  const alarms = AgentOperations.notificationTopic(scope, 'Alarms', { displayName: props.alarmsName });
  const alarmAction = new cloudwatchActions.SnsAction(alarms);
  const bus = new AgentBus(scope, 'Bus', { alarmAction });
  const state = new AgentStateTable(scope, 'State');
  const api = new AgentApi(scope, 'Api', { state });
  const deadLetters = new DeadLetterQueue(scope, 'DeadLetters', { description: props.deadLettersDescription, alarmAction });
  const audit = new AuditBucket(scope, 'Audit');
  return {
    skills,
    router,
    alarmAction,
    bus,
    state,
    api,
    deadLetters,
    audit,
    /** The operations layer over the stack's `agents`: audit queries, dashboard, cohort alarms and budgets, on the alarm topic. */
    operate: (agents: readonly AgentDefinition[]) =>
      new AgentOperations(scope, 'Operations', { agents, audit, topic: alarms, deadLetterQueues: [deadLetters.queue], ...(props.monthlyBudgetUsd && { monthlyBudgetUsd: props.monthlyBudgetUsd }) }),
    /** An agent's props that point at the shared parts, with its cohort's tool policy. */
    agentProps: (agent: AgentDefinition) =>
      ({
        agent,
        router,
        skills,
        api,
        audit,
        deadLetterQueue: deadLetters,
        alarmAction,
        ...(props.toolPolicies?.[agent.cohort] && { toolPolicy: props.toolPolicies[agent.cohort] }),
      }) satisfies AgentFunctionProps,
  };
}
