import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/**
 * Records why a security rule's finding is accepted on `scope`. The constructs acknowledge only
 * what they must, each with the reason a reviewer would ask for; the rule packs (cdk-nag
 * AwsSolutions and Serverless) read these acknowledgments at synth.
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  // Namespaced by rule pack, so CDK records the finding as acknowledged in the validation report.
  const pack = id.slice(0, id.indexOf('-'));
  Validations.of(scope).acknowledge({ id: `${pack}::${id}`, reason });
}

/**
 * Acknowledges each wildcard action and resource in `document`, by the finding id the IAM rules
 * give it (`Action::s3:List*`, `Resource::<Bucket.Arn>/*`). Only for policies a CDK-provided
 * handler writes for itself, where no narrower grant can be had; the reason must say why. With
 * `expected`, only the wildcards it admits are acknowledged, so a grant the reason does not cover
 * stays a finding.
 */
export function acknowledgeWildcards(scope: IConstruct, document: iam.PolicyDocument, reason: string, expected?: RegExp): void {
  const resolved = Stack.of(scope).resolve(document.toJSON()) as { Statement?: { Effect: string; Action?: unknown; Resource?: unknown }[] };
  for (const statement of resolved.Statement ?? []) {
    if (statement.Effect !== 'Allow') continue;
    const wildcards = [
      ...list(statement.Action).filter((a): a is string => typeof a === 'string' && a.includes('*')).map((a) => `Action::${a}`),
      ...list(statement.Resource).map(flatten).filter((r) => r.includes('*')).map((r) => `Resource::${r}`),
    ];
    for (const wildcard of wildcards.filter((w) => !expected || expected.test(w))) acknowledge(scope, `AwsSolutions-IAM5[${wildcard}]`, reason);
  }
}

/**
 * Acknowledges the wildcard resources a grant gave `principal`'s policy, by the ids the IAM rules
 * will give them. The ids are taken when the app is validated, after references between stacks
 * are resolved, so a grant on a resource in another stack or app is named as the rule sees it.
 */
export function acknowledgeGrantedWildcards(principal: iam.IPrincipal, resources: readonly string[], reason: string): void {
  if (!(principal instanceof iam.Role)) return;
  principal.node.addValidation({
    validate: () => {
      for (const resource of resources.map((r) => flatten(principal.stack.resolve(r))).filter((r) => r.includes('*'))) {
        acknowledge(principal, `AwsSolutions-IAM5[Resource::${resource}]`, reason);
      }
      return [];
    },
  });
}

const list = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Renders a CloudFormation value the way the rule ids show it: `<Logical.Attr>`, `<AWS::Region>`. */
function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') return `<${v.Ref}>`;
  if (Array.isArray(v['Fn::GetAtt'])) return `<${(v['Fn::GetAtt'] as string[]).join('.')}>`;
  if (typeof v['Fn::Sub'] === 'string') return (v['Fn::Sub'] as string).replace(/\$\{([^}]+)\}/g, '<$1>');
  if (v['Fn::ImportValue'] !== undefined) return flatten(v['Fn::ImportValue']);
  if (Array.isArray(v['Fn::Join'])) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(flatten).join(separator);
  }
  return JSON.stringify(value);
}
