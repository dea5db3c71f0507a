import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { AgentFunction, type AgentApi, type AgentOperations, type AgentBus, type AgentStateTable, type AuditBucket, type DeadLetterQueue, type ModelRouter, type ModelRouterProps, type SkillBucket } from '../../constructs/aws';
import { awsPlatform } from '../platform/aws-platform';
import type { ToolPolicyInput } from '../../contract/policy/tool-policy';
import type { AgentDefinition } from '../../contract/definition';
import type { RolloutInput } from '../../contract/delivery/rollout';
import { exampleAgent } from './example-agent';

export { exampleAgent };

export interface SingleAgentStackProps extends StackProps {
  /** Model aliases and their targets: the only place a model is named. */
  readonly models: ModelRouterProps;
  /**
   * The agents to deploy.
   * @default the example support agent
   */
  readonly agents?: readonly AgentDefinition[];
  /**
   * Tool policies by cohort; a cohort without one may use every tool its agents list.
   * @default none
   */
  readonly toolPolicies?: Readonly<Record<string, ToolPolicyInput>>;
  /**
   * The skills folder.
   * @default the repository's skills/ folder
   */
  readonly skillsPath?: string;
  /**
   * How the agents take a new version (see AgentRollout).
   * @default each deploy replaces code at once
   */
  readonly rollout?: RolloutInput;
  /**
   * Each cohort's monthly budget in USD (AWS Budgets cover the account: one stack per account).
   * @default none
   */
  readonly monthlyBudgetUsd?: Readonly<Record<string, number>>;
}


/**
 * Roadmap stage 1: serverless agents behind one authenticated API, each with its own queue, on one
 * skill registry, model router and event bus. Built only from the public constructs.
 */
export class SingleAgentStack extends Stack {
  readonly api: AgentApi;
  readonly bus: AgentBus;
  readonly skills: SkillBucket;
  readonly router: ModelRouter;
  readonly deadLetters: DeadLetterQueue;
  readonly state: AgentStateTable;
  readonly audit: AuditBucket;
  readonly agents: AgentFunction[];
  readonly operations: AgentOperations;

  constructor(scope: Construct, id: string, props: SingleAgentStackProps) {
    super(scope, id, props);
    const platform = awsPlatform(this, { ...props, alarmsName: 'Agent dead-letter and failed-run alarms', deadLettersDescription: 'Agent jobs that failed every delivery' });
    ({ skills: this.skills, router: this.router, bus: this.bus, state: this.state, api: this.api, deadLetters: this.deadLetters, audit: this.audit } = platform);
    const agents = props.agents ?? [exampleAgent()];
    this.agents = agents.map((agent) => new AgentFunction(this, `Agent-${agent.name}`, { ...platform.agentProps(agent), bus: this.bus }));
    this.operations = platform.operate(agents);
  }
}
