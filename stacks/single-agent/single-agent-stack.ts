import { join } from 'node:path';
import { Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { AgentApi, AgentBus, AgentFunction, AgentStateTable, AuditBucket, DeadLetterQueue, ModelRouter, SkillBucket, type ModelRouterProps } from '../../constructs/aws';
import type { ToolPolicyInput } from '../../contract/policy/tool-policy';
import type { AgentDefinition } from '../../contract/definition';
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

  constructor(scope: Construct, id: string, props: SingleAgentStackProps) {
    super(scope, id, props);
    this.skills = new SkillBucket(this, 'Skills', { path: props.skillsPath ?? join(__dirname, '..', '..', 'skills') });
    this.router = new ModelRouter(this, 'Models', props.models);
    const alarms = new sns.Topic(this, 'Alarms', { displayName: 'Agent dead-letter and failed-run alarms', enforceSSL: true });
    const alarmAction = new cloudwatchActions.SnsAction(alarms);
    this.bus = new AgentBus(this, 'Bus', { alarmAction });
    this.state = new AgentStateTable(this, 'State');
    this.api = new AgentApi(this, 'Api', { state: this.state });
    // One dead-letter queue for every agent's queue: messages keep their agent and job id, redrive
    // returns each to its own queue, and each agent costs three resources fewer.
    this.deadLetters = new DeadLetterQueue(this, 'DeadLetters', { description: 'Agent jobs that failed every delivery', alarmAction });
    this.audit = new AuditBucket(this, 'Audit');

    this.agents = (props.agents ?? [exampleAgent()]).map(
      (agent) =>
        new AgentFunction(this, `Agent-${agent.name}`, {
          agent,
          router: this.router,
          skills: this.skills,
          api: this.api,
          bus: this.bus,
          audit: this.audit,
          deadLetterQueue: this.deadLetters,
          alarmAction,
          ...(props.toolPolicies?.[agent.cohort] && { toolPolicy: props.toolPolicies[agent.cohort] }),
        }),
    );
  }
}
