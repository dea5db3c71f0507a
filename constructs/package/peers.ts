import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Each cloud's constructs build on that cloud's toolkit, which the package declares as optional
 * peers so an AWS-only install pulls no CDK for Terraform and an Azure-only one no aws-cdk-lib.
 * Importing a cloud's entry point without its toolkit fails here, saying what to install, instead
 * of with a bare "Cannot find module".
 */
export function requirePeers(entry: string, peers: readonly string[]): void {
  const missing = peers.filter((peer) => !resolvable(peer));
  if (!missing.length) return;
  const ranges = declaredPeers();
  const install = missing.map((p) => (ranges[p] ? `${p}@"${ranges[p]}"` : p)).join(' ');
  throw new Error(`${entry} builds on ${missing.join(' and ')}, which ${missing.length > 1 ? 'are' : 'is'} not installed: npm install ${install}`);
}

function resolvable(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** The peer ranges this package declares, from its own package.json. */
function declaredPeers(): Record<string, string> {
  for (let dir = __dirname; dirname(dir) !== dir; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; peerDependencies?: Record<string, string> };
    if (manifest.name === 'serverless-agents') return manifest.peerDependencies ?? {};
  }
  return {};
}
