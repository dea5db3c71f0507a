#!/usr/bin/env node
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readEnvironments, targetStackName, type DeploymentEnvironments } from '../contract/delivery/environments';
import { deliveryEnvironments, githubWorkflow, WORKFLOW_VARIABLES } from '../contract/delivery/github-workflow';
import { ENVIRONMENTS_FILE } from './config';

/**
 * `npm run workflow`: writes the GitHub Actions workflow that delivers the example stacks through
 * environments.json to .github/workflows/deliver-agents.yml (`--check` only compares, and fails when
 * the file is out of date). Each environment's job reads its identities from the variables of its
 * GitHub environment (WORKFLOW_VARIABLES), whose protection rules hold the required reviewers.
 */
export const WORKFLOW_FILE = join(__dirname, '..', '.github', 'workflows', 'deliver-agents.yml');

/** The stacks bin/app.ts and bin/azure.ts build for an environment, by their base names. */
const AWS_STACKS = ['SupportAgent', 'SupportTeam', 'HybridAgents'];
const AZURE_STACKS = ['support-agent', 'multi-agent', 'hybrid-agents'];

export function exampleWorkflow(environments: DeploymentEnvironments = readEnvironments(ENVIRONMENTS_FILE)): string {
  const reviewed = Object.entries(environments).filter(([, e]) => e.approval).map(([n]) => n);
  const header = [
    '# In the repository settings, give each environment of this file its GitHub environment, with',
    `# the variables ${Object.values(WORKFLOW_VARIABLES).join(', ')} (the outputs of GitHubDeployRole and`,
    `# AzureGitHubDeployIdentity)${reviewed.length ? `, and required reviewers for ${reviewed.join(', ')}` : ''}.`,
  ].join('\n');
  const text = githubWorkflow({
    environments: deliveryEnvironments(environments, { aws: (t) => AWS_STACKS.map((b) => targetStackName(b, t)), azure: (name) => AZURE_STACKS.map((b) => `${b}-${name}`) }),
  });
  return text.replace('\n', `\n${header}\n`);
}

if (require.main === module) {
  const text = exampleWorkflow();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(WORKFLOW_FILE, 'utf8');
    } catch {}
    if (current !== text) {
      console.error(`${WORKFLOW_FILE} is out of date with environments.json: run npm run workflow`);
      process.exit(1);
    }
  } else {
    mkdirSync(dirname(WORKFLOW_FILE), { recursive: true });
    writeFileSync(WORKFLOW_FILE, text);
    console.log(`wrote ${WORKFLOW_FILE}`);
  }
}
