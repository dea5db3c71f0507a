import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ACKNOWLEDGMENTS_KEY, secureDefaultFindings, type AzureAcknowledgment, type SynthesizedStack } from '../constructs/azure/secure-defaults';
import { AGENT_CONFIG_ENV, decodeAgentConfig } from '../contract/config/runtime-config';
import { RUNTIME_ENV } from '../contract/config/settings';
import { awsTargets, type DeploymentEnvironments } from '../contract/delivery/environments';
import { describeRollout } from '../contract/delivery/rollout';

/** One synthesized stack, for either cloud: its resources and the agents it deploys. */
export interface StackSummary {
  readonly name: string;
  readonly resources: number;
  readonly agents: { name: string; cohort: string; model: string }[];
}

/** An agent as its function's encoded config describes it: the model alias and what it routes to. */
function agentOf(encoded: string): StackSummary['agents'][number] {
  const { definition, route } = decodeAgentConfig(encoded);
  const model = typeof definition.model === 'string' ? definition.model : `${definition.model.provider}:${definition.model.model}`;
  return { name: definition.name, cohort: definition.cohort, model: `${model} → ${route.map((t) => t.model).join(', ')}` };
}

/** The heading and one line per stack, the same for both clouds. */
function stackLines(cloud: string, stacks: readonly StackSummary[], elapsedMs: number): string[] {
  const width = Math.max(...stacks.map((st) => st.name.length), 5);
  return [
    '',
    `serverless-agents: ${stacks.length} ${cloud} stack(s) synthesized in ${(elapsedMs / 1000).toFixed(1)} s`,
    `  ${'stack'.padEnd(width)}  resources  agents`,
    ...stacks.map((st) => `  ${st.name.padEnd(width)}  ${String(st.resources).padStart(9)}  ${st.agents.map((a) => `${a.name} [${a.cohort}] ${a.model}`).join('; ') || '-'}`),
  ];
}

/** What a synthesized cloud assembly holds, in the terms a reviewer asks about. */
export interface AssemblySummary {
  readonly stacks: StackSummary[];
  /** Runtime bundles the stacks reference (folders holding index.mjs): one, whatever the number of agents. */
  readonly runtimeAssets: { path: string; bytes: number }[];
  readonly openFindings: number;
  readonly acknowledgedFindings: number;
  /** Acknowledgments without a written reason: must be zero. */
  readonly unexplained: number;
}

interface Template {
  Resources: Record<string, { Type: string; Properties?: Record<string, any> }>;
}

/**
 * The environment an agent's host gets, wherever it runs: a Lambda function's variables (not a
 * durable agent's starter, which carries its configuration too: the agent is counted once), a
 * Fargate task's container, an AgentCore runtime's.
 */
function agentEnvironments(resource: Template['Resources'][string]): Record<string, unknown>[] {
  const p = resource.Properties ?? {};
  switch (resource.Type) {
    case 'AWS::Lambda::Function':
      return p.Environment?.Variables && p.Environment.Variables[RUNTIME_ENV.durableTarget] === undefined ? [p.Environment.Variables] : [];
    case 'AWS::ECS::TaskDefinition':
      return (p.ContainerDefinitions ?? []).map((c: { Environment?: { Name: string; Value: unknown }[] }) => Object.fromEntries((c.Environment ?? []).map((e) => [e.Name, e.Value])));
    case 'AWS::BedrockAgentCore::Runtime':
      return p.EnvironmentVariables ? [p.EnvironmentVariables] : [];
    default:
      return [];
  }
}

export function summarizeAssembly(outdir: string): AssemblySummary {
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string; file?: string } }>;
  };
  const stacks = Object.entries(manifest.artifacts)
    .filter(([, a]) => a.type === 'aws:cloudformation:stack')
    .map(([name, a]) => {
      const template = JSON.parse(readFileSync(join(outdir, a.properties!.templateFile!), 'utf8')) as Template;
      const agents = Object.values(template.Resources)
        .flatMap(agentEnvironments)
        .map((env) => env[AGENT_CONFIG_ENV])
        .filter((v): v is string => typeof v === 'string')
        .map(agentOf);
      return { name, resources: Object.keys(template.Resources).length, agents };
    });

  // Only assets the stacks reference count: cdk.out keeps assets of earlier synths.
  const referenced = new Set(
    Object.values(manifest.artifacts)
      .filter((a) => a.type === 'cdk:asset-manifest')
      .flatMap((a) => {
        const assets = JSON.parse(readFileSync(join(outdir, a.properties!.file!), 'utf8')) as { files: Record<string, { source: { path: string } }> };
        return Object.values(assets.files).map((f) => f.source.path);
      }),
  );
  const runtimeAssets = [...referenced]
    .filter((f) => statSync(join(outdir, f), { throwIfNoEntry: false })?.isDirectory() && readdirSync(join(outdir, f)).includes('index.mjs'))
    .map((f) => ({ path: f, bytes: directoryBytes(join(outdir, f)) }));

  let openFindings = 0;
  let acknowledgedFindings = 0;
  let unexplained = 0;
  try {
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: unknown[]; suppressedViolations?: { reason?: string }[] }[];
    };
    for (const plugin of report.pluginReports) {
      openFindings += plugin.violations.length;
      acknowledgedFindings += plugin.suppressedViolations?.length ?? 0;
      unexplained += (plugin.suppressedViolations ?? []).filter((v) => !v.reason?.trim()).length;
    }
  } catch {
    // No report: no validation plugin reported anything.
  }
  return { stacks, runtimeAssets, openFindings, acknowledgedFindings, unexplained };
}

function directoryBytes(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .reduce((n, e) => n + statSync(join(e.parentPath, e.name)).size, 0);
}

export function formatSummary(s: AssemblySummary, elapsedMs: number): string {
  const lines = [
    ...stackLines('AWS', s.stacks, elapsedMs),
    `  runtime bundles in cdk.out: ${s.runtimeAssets.length} (${s.runtimeAssets.map((a) => `${(a.bytes / 1024).toFixed(0)} KiB`).join(', ')})`,
    `  security findings: ${s.openFindings} open, ${s.acknowledgedFindings} acknowledged with a reason${s.unexplained ? `, ${s.unexplained} WITHOUT a reason` : ''}`,
  ];
  return lines.join('\n');
}

/** What a synthesized CDK for Terraform output holds, and how it fares against the Azure secure defaults. */
export interface TerraformSummary {
  readonly stacks: StackSummary[];
  /** Runtime packages the stacks upload: one per stack, all the same content. */
  readonly runtimePackages: { hash: string; bytes: number }[];
  /**
   * Resources that break a secure default with no acknowledgment, as `stack: rule: path what`.
   * Synth already refuses them; this reads the output again, in case validation was skipped.
   */
  readonly findings: string[];
  /** Accepted findings, each with its stated reason, as `stack: rule: path: reason`. */
  readonly acknowledged: string[];
}

type TfResources = Record<string, Record<string, Record<string, any>>>;

export function summarizeTerraform(outdir: string): TerraformSummary {
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as { stacks: Record<string, { synthesizedStackPath: string; workingDirectory: string }> };
  const findings: string[] = [];
  const acknowledged: string[] = [];
  const packages = new Map<string, number>();
  const stacks = Object.entries(manifest.stacks).map(([name, entry]) => {
    const synthesized = JSON.parse(readFileSync(join(outdir, entry.synthesizedStackPath), 'utf8')) as SynthesizedStack & { resource: TfResources; '//'?: Record<string, unknown> };
    const accepted = (synthesized['//']?.[ACKNOWLEDGMENTS_KEY] ?? []) as AzureAcknowledgment[];
    for (const a of accepted) acknowledged.push(`${name}: ${a.rule}: ${a.path}: ${a.reason}`);
    for (const f of secureDefaultFindings(synthesized)) {
      if (!accepted.some((a) => a.rule === f.rule && a.path === f.path && a.reason.trim())) findings.push(`${name}: ${f.rule}: ${f.path} ${f.problem}`);
    }
    const all = (type: string) => Object.values(synthesized.resource[type] ?? {});
    const containerConfig = (app: Record<string, any>) => (app.template.container[0].env as { name: string; value?: string }[]).find((e) => e.name === AGENT_CONFIG_ENV)!.value!;
    const agents = [
      ...all('azurerm_linux_function_app').map((app) => agentOf((app.app_settings as Record<string, string>)[AGENT_CONFIG_ENV]!)),
      ...all('azurerm_container_app').map((app) => agentOf(containerConfig(app))),
    ];
    for (const blob of all('azurerm_storage_blob')) {
      if (blob.content_type === 'application/zip') packages.set(blob.name, statSync(join(outdir, entry.workingDirectory, blob.source)).size);
    }
    return { name, resources: Object.values(synthesized.resource).reduce((n, byId) => n + Object.keys(byId).length, 0), agents };
  });
  return { stacks, runtimePackages: [...packages].map(([hash, bytes]) => ({ hash, bytes })), findings, acknowledged };
}

export function formatTerraformSummary(s: TerraformSummary, elapsedMs: number, outdir = 'cdktf.out'): string {
  return [
    ...stackLines('Azure', s.stacks, elapsedMs),
    `  runtime packages in ${outdir}: ${s.runtimePackages.length} (${s.runtimePackages.map((p) => `${(p.bytes / 1024).toFixed(0)} KiB zip`).join(', ')})`,
    `  secure-default findings: ${s.findings.length} open, ${s.acknowledged.length} acknowledged with a reason`,
    ...s.findings.map((f) => `    OPEN ${f}`),
  ].join('\n');
}

/**
 * What each environment of the list would deploy, in promotion order: whether a person approves it,
 * how its agents take a new version, and per region the stacks and agents each cloud synthesized.
 */
export function formatEnvironmentSummary(environments: DeploymentEnvironments, aws: readonly StackSummary[], azure: readonly StackSummary[]): string {
  const place = (cloud: string, where: string, stacks: readonly StackSummary[]) => {
    const agents = stacks.reduce((n, st) => n + st.agents.length, 0);
    const resources = stacks.reduce((n, st) => n + st.resources, 0);
    return `    ${cloud} ${where}: ${stacks.map((st) => st.name).join(', ') || '(not synthesized)'}${stacks.length ? `: ${agents} agent(s), ${resources} resources` : ''}`;
  };
  const lines = ['', 'serverless-agents: what each environment would deploy, in promotion order (environments.json)'];
  for (const [name, env] of Object.entries(environments)) {
    lines.push(`  ${name}: ${env.approval ? 'a person approves first' : 'no approval'}; new versions: ${describeRollout(env.rollout)}`);
    for (const target of awsTargets(environments, [name])) lines.push(place('AWS', target.region, aws.filter((st) => st.name.endsWith(`-${target.id}`))));
    if (env.azure) lines.push(place('Azure', env.azure.location, azure.filter((st) => st.name.endsWith(`-${name}`))));
    if (env.smoke) lines.push(`    then checks: agent ${env.smoke.agent} of ${env.smoke.stack} answers${env.smoke.expect ? ` matching /${env.smoke.expect}/` : ''}`);
  }
  return lines.join('\n');
}
