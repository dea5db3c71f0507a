import type { Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { runtimeBundleDir } from '../bundle/runtime-bundle';

/** The runtime's handler name inside the bundle. */
export const RUNTIME_HANDLER = 'index.handler';

const codeByStack = new WeakMap<Stack, lambda.Code>();

/**
 * The runtime code for functions in `stack`. Lambda binds one asset per stack, so each stack gets
 * one Code object; every stack's asset is the same folder, staged once in the cloud assembly
 * because its content hash is the same everywhere.
 */
export function runtimeCode(stack: Stack): lambda.Code {
  let code = codeByStack.get(stack);
  if (!code) {
    code = lambda.Code.fromAsset(runtimeBundleDir('aws'));
    codeByStack.set(stack, code);
  }
  return code;
}
