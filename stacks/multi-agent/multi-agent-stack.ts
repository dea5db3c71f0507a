import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { AgentApi, AgentBus, AgentFunction, AgentStateTable, AgentTeam, AuditBucket, DeadLetterQueue, ModelRouter, SkillBucket } from '../../constructs/aws';
import type { AgentDefinition } from '../../contract/definition';
import type { SingleAgentStackProps } from '../single-agent/single-agent-stack';
import { exampleTeam } from './team-agents';

export { exampleTeam };

/** What the stage-1 stack takes (models, tool policies, skills), for a team instead of lone agents. */
export interface MultiAgentStackProps extends Omit<SingleAgentStackProps, 'agents'> {
  /**
   * The team: an orchestrator and the specialists it calls and hands off to.
   * @default the example team: triage, billing and technical
   */
  readonly agents?: readonly AgentDefinition[];
}

/**
 * Roadmap stage 2: an orchestrator that calls specialist agents as tools and hands conversations
 * to them over the bus, each agent its own function, role, queue and limits, on one API, bus,
 * state table, skill registry and audit trail. Built only from the public constructs.
 */
export class MultiAgentStack extends Stack {
  readonly api: AgentApi;
  readonly bus: AgentBus;
  readonly team: AgentTeam;
  readonly agents: AgentFunction[];

  constructor(scope: Construct, id: string, props: MultiAgentStackProps) {
    super(scope, id, props);
    const agents = props.agents ?? exampleTeam();
    const skills = new SkillBucket(this, 'Skills', { path: props.skillsPath ?? join(__dirname, '..', '..', 'skills') });
    const router = new ModelRouter(this, 'Models', props.models);
    const alarms = new sns.Topic(this, 'Alarms', { displayName: 'Agent team dead-letter and failed-run alarms', enforceSSL: true });
    const alarmAction = new cloudwatchActions.SnsAction(alarms);
    this.bus = new AgentBus(this, 'Bus', { alarmAction });
    const state = new AgentStateTable(this, 'State');
    this.api = new AgentApi(this, 'Api', { state });
    const deadLetters = new DeadLetterQueue(this, 'DeadLetters', { description: 'Agent jobs, hand-offs and delegations that failed every delivery', alarmAction });
    const audit = new AuditBucket(this, 'Audit');
    this.team = new AgentTeam(this, 'Team', { agents, bus: this.bus });

    this.agents = agents.map(
      (agent) =>
        new AgentFunction(this, `Agent-${agent.name}`, {
          agent,
          team: this.team,
          router,
          skills,
          api: this.api,
          state,
          audit,
          deadLetterQueue: deadLetters,
          alarmAction,
          ...(props.toolPolicies?.[agent.cohort] && { toolPolicy: props.toolPolicies[agent.cohort] }),
        }),
    );
  }
}
