import { AGENT_CONFIG_ENV, decodeAgentConfig, type AgentRuntimeConfig } from '../../contract/config/runtime-config';
import { verifyIntegrity } from '../../contract/definition/integrity';

/**
 * Reads and verifies the agent's config on either cloud; a function deployed without one fails at
 * start. The definition was checked at synth; its content hashes prove it unchanged since.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AgentRuntimeConfig {
  const encoded = env[AGENT_CONFIG_ENV];
  if (!encoded) throw new Error(`${AGENT_CONFIG_ENV} is not set: this function must be deployed by AgentFunction or AzureAgentFunction`);
  const decoded = decodeAgentConfig(encoded);
  return { ...decoded, definition: verifyIntegrity(decoded.definition) };
}
