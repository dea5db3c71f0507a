import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { AgentApi, AgentBus, AgentStateTable, AgentTeam, AuditBucket, DeadLetterQueue, ModelRouter, placeAgent, SkillBucket, type PlacedAgent } from '../../constructs/aws';
import type { AgentDefinition } from '../../contract/definition';
import type { MultiAgentStackProps } from '../multi-agent/multi-agent-stack';
import { exampleHybrid } from './hybrid-agents';

export { exampleHybrid };

export interface HybridStackProps extends MultiAgentStackProps {
  /**
   * The agents, each deployed where its definition's `placement` says.
   * @default the example: intake (a function) hands research to research (a container)
   */
  readonly agents?: readonly AgentDefinition[];
}

/**
 * Roadmap stage 3: short, bursty agents stay functions, long-running ones run as containers, from
 * the same definitions and runtime, sharing the API, bus, skills, state table and audit trail. The
 * container agents share one ECS cluster in a VPC without NAT gateway. Built only from the public
 * constructs; `placeAgent` picks the construct by each definition's `placement`.
 */
export class HybridStack extends Stack {
  readonly api: AgentApi;
  readonly bus: AgentBus;
  readonly team: AgentTeam;
  readonly agents: PlacedAgent[];

  constructor(scope: Construct, id: string, props: HybridStackProps) {
    super(scope, id, props);
    const agents = props.agents ?? exampleHybrid();
    const skills = new SkillBucket(this, 'Skills', { path: props.skillsPath ?? join(__dirname, '..', '..', 'skills') });
    const router = new ModelRouter(this, 'Models', props.models);
    const alarms = new sns.Topic(this, 'Alarms', { displayName: 'Hybrid agents dead-letter and failed-run alarms', enforceSSL: true });
    const alarmAction = new cloudwatchActions.SnsAction(alarms);
    this.bus = new AgentBus(this, 'Bus', { alarmAction });
    const state = new AgentStateTable(this, 'State');
    this.api = new AgentApi(this, 'Api', { state });
    const deadLetters = new DeadLetterQueue(this, 'DeadLetters', { description: 'Agent jobs and hand-offs that failed every delivery', alarmAction });
    const audit = new AuditBucket(this, 'Audit');
    this.team = new AgentTeam(this, 'Team', { agents, bus: this.bus });
    // One cluster for every container agent, made only when one is placed there.
    let cluster: ecs.Cluster | undefined;
    const containers = () =>
      (cluster ??= new ecs.Cluster(this, 'Containers', {
        vpc: new ec2.Vpc(this, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'tasks', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }], flowLogs: { FlowLog: { trafficType: ec2.FlowLogTrafficType.REJECT } } }),
        containerInsightsV2: ecs.ContainerInsights.ENABLED,
      }));
    this.agents = agents.map((agent) =>
      placeAgent(this, `Agent-${agent.name}`, {
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
        ...(agent.placement === 'container' && { container: { cluster: containers() } }),
      }),
    );
  }
}
