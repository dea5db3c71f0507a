import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';
import { readSkillsFolder, SKILL_INDEX_KEY } from '../../contract/skills/catalog';

/** Azurite's well-known development account (public, documented; not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  /** The blob endpoint of the development account, e.g. http://127.0.0.1:port/devstoreaccount1. */
  readonly blobUrl: string;
  readonly connectionString: string;
  stop(): Promise<void>;
}

/**
 * Starts the real Azurite blob emulator on a free loopback port, in memory, without telemetry, and
 * returns once it listens. It stops with `stop()`, and with the test process in any case.
 */
export async function startAzurite(): Promise<Azurite> {
  const bin = join(__dirname, '..', '..', 'node_modules', '.bin', 'azurite-blob');
  const child = spawn(bin, ['--inMemoryPersistence', '--blobHost', '127.0.0.1', '--blobPort', '0', '--skipApiVersionCheck', '--disableTelemetry', '--silent', '--extentMemoryLimit', '64'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`Azurite did not start: ${output}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listen(?:s|ing) (?:on|at) https?:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`Azurite exited with ${code}: ${output}`)));
  });
  const blobUrl = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  return {
    blobUrl,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobUrl};`,
    stop: async () => {
      process.removeListener('exit', kill);
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** Uploads a skills folder as SkillStore deploys it: each skill's files under its name, and the index. */
export async function uploadSkills(container: ContainerClient, folder: string): Promise<void> {
  const index = readSkillsFolder(folder);
  for (const skill of index.skills) {
    for (const file of ['SKILL.md', ...skill.files]) {
      const body = readFileSync(join(folder, skill.name, file));
      await container.getBlockBlobClient(`${skill.name}/${file}`).upload(body, body.length);
    }
  }
  const text = JSON.stringify(index);
  await container.getBlockBlobClient(SKILL_INDEX_KEY).upload(text, Buffer.byteLength(text));
}
