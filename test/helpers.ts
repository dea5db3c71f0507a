import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { AgentDefinitionInput } from '../contract/definition';
import type { ModelRouterProps } from '../constructs/aws';

export const REPO = resolve(__dirname, '..');
export const SKILLS = join(REPO, 'skills');

/** Every TypeScript source of the project, committed or not (ignored files aside), with its text. */
export function projectSources(): { path: string; text: string }[] {
  return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts'], { cwd: REPO, encoding: 'utf8' })
    .split('\n')
    .filter((path) => path && existsSync(join(REPO, path)))
    .map((path) => ({ path, text: readFileSync(join(REPO, path), 'utf8') }));
}

/** A minimal valid agent; tests override what they examine. */
export function agentInput(overrides: Partial<AgentDefinitionInput> = {}): AgentDefinitionInput {
  return {
    name: 'helper',
    description: 'Answers questions for tests.',
    model: 'smart',
    instructions: 'You help.',
    ...overrides,
  };
}

export const ROUTER: ModelRouterProps = {
  aliases: {
    smart: [
      { provider: 'bedrock', model: 'anthropic.claude-sonnet-4-5-20250929-v1:0' },
      { provider: 'anthropic', model: 'claude-sonnet-4-6', apiKeySecret: 'team/anthropic' },
    ],
    fast: [{ provider: 'bedrock', model: 'anthropic.claude-haiku-4-5-20251001-v1:0' }],
  },
  cohorts: {
    research: {
      smart: [{ provider: 'bedrock-inference-profile', profile: 'eu.anthropic.claude-opus-4-1-20250805-v1:0', regions: ['eu-west-1', 'eu-central-1'] }],
    },
  },
};

export function testStack(app = new App()): Stack {
  return new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
}

/** A skills folder written for one test. */
export function skillsFolder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'skills-test-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

export const skillFile = (name: string, description = `Does ${name} things. Use when ${name} is asked for.`) => `---\nname: ${name}\ndescription: ${description}\n---\n\n# ${name}\n\nSteps.\n`;

export interface ValidationOutcome {
  open: { rule: string; paths: string[] }[];
  acknowledged: { rule: string; reason: string }[];
}

/** Synthesizes `app` with the AwsSolutions and Serverless packs and returns what they reported. */
export function synthWithRulePacks(app: App): ValidationOutcome {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  let error: unknown;
  try {
    app.synth({ force: true });
  } catch (e) {
    error = e;
  }
  const report = readReport(app.outdir);
  if (error && report.open.length === 0) throw error;
  return report;
}

function readReport(outdir: string): ValidationOutcome {
  const file = join(outdir, 'validation-report.json');
  if (!existsSync(file)) return { open: [], acknowledged: [] };
  const report = JSON.parse(readFileSync(file, 'utf8')) as {
    pluginReports: {
      violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
      suppressedViolations?: { ruleName: string; reason?: string }[];
    }[];
  };
  return {
    open: report.pluginReports.flatMap((p) => p.violations.map((v) => ({ rule: v.ruleName, paths: v.violatingConstructs.map((c) => c.constructPath) }))),
    acknowledged: report.pluginReports.flatMap((p) => (p.suppressedViolations ?? []).map((v) => ({ rule: v.ruleName, reason: v.reason ?? '' }))),
  };
}

/** An app that writes the JSON validation report, in a fresh folder. */
export function reportingApp(): App {
  return new App({ outdir: mkdtempSync(join(tmpdir(), 'cdk-test-')), context: { '@aws-cdk/core:validationReportJson': true } });
}

/** The statements of an agent role's one inline policy, found by the role's description. */
export function agentRoleStatements(template: Template, agent = 'helper'): Record<string, any>[] {
  const [role] = Object.values(template.findResources('AWS::IAM::Role', { Properties: { Description: `Runs agent ${agent}` } })) as {
    Properties: { Policies: { PolicyDocument: { Statement: Record<string, any>[] } }[] };
  }[];
  return role!.Properties.Policies[0]!.PolicyDocument.Statement;
}
