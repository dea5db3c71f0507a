import { z } from 'zod';

/**
 * `POST /agents/{name}/jobs/{jobId}/approvals`, on both clouds: a person approves or rejects the
 * tool call a durable run waits on. The body names the decision and, optionally, why; who decides
 * is the caller the API authenticated, never a field of the body.
 */
export const approvalBodySchema = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  reason: z.string().min(1).max(1000).optional(),
  /** The call decided, when the run waits on more than one; otherwise the one it waits on. */
  callId: z.string().min(1).max(128).optional(),
});

export type ApprovalBody = z.output<typeof approvalBodySchema>;

/** The body as JSON Schema, for the API's request validation (the same rules, checked at the edge). */
export function approvalBodyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(approvalBodySchema, { target: 'draft-4' }) as Record<string, unknown>;
}

/** Who is calling, as the API authenticated them. */
export interface Approver {
  /** An IAM ARN, an authorizer's principal, a token's subject or an Entra ID object id. */
  readonly id: string;
  /** App roles (Entra ID) or groups (Cognito) the caller holds. */
  readonly roles: readonly string[];
}

/**
 * Whether `approver` is one of `approvers`: an identity, with `*` matching any run of characters;
 * or `role:NAME`, held as an app role or group, or (on AWS) the role an IAM session assumed.
 */
export function mayApprove(approvers: readonly string[], approver: Approver): boolean {
  if (!approver.id) return false;
  return approvers.some((pattern) => {
    if (pattern.startsWith('role:')) {
      const role = pattern.slice('role:'.length);
      return approver.roles.includes(role) || new RegExp(`^arn:aws[a-z-]*:sts::\\d{12}:assumed-role/${escape(role)}/`).test(approver.id);
    }
    return new RegExp(`^${pattern.split('*').map(escape).join('.*')}$`).test(approver.id);
  });
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
