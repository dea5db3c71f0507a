import { resolve } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { runtimeBundle } from '../bundle/runtime-bundle';

/**
 * The one runtime bundle that every AgentFunction runs. It is built once per process, whatever the
 * number of agents or stacks, and staged once in the cloud assembly because its content hash is the
 * same everywhere: 500 agents are 500 configurations of one artifact, not 500 bundles.
 */

/** The runtime's Lambda entry point, relative to the package root. */
export const RUNTIME_ENTRY = resolve(__dirname, '..', '..', 'functions', 'aws', 'handler.ts');
/** The handler name inside the bundle. */
export const RUNTIME_HANDLER = 'index.handler';

const codeByStack = new WeakMap<Stack, lambda.Code>();

/** Builds the runtime bundle on first use and returns its folder. */
export function runtimeBundleDir(): string {
  return runtimeBundle('runtime', RUNTIME_ENTRY);
}

/**
 * The runtime code for functions in `stack`. Lambda binds one asset per stack, so each stack gets
 * one Code object; every stack's asset points at the same staged folder.
 */
export function runtimeCode(stack: Stack): lambda.Code {
  let code = codeByStack.get(stack);
  if (!code) {
    code = lambda.Code.fromAsset(runtimeBundleDir());
    codeByStack.set(stack, code);
  }
  return code;
}
