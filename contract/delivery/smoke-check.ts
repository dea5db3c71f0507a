/**
 * The smoke check after a deploy, the same in the AWS pipeline and the GitHub workflow: with the
 * stack's API URL in `SMOKE_API_URL` and the check's role in `SMOKE_ROLE_ARN` (both stack outputs),
 * take the role's credentials for this step only and ask the agent its question (`npm run smoke`),
 * which fails the step unless the agent answers correctly.
 */
export interface SmokeQuestion {
  readonly agent: string;
  readonly input: string;
  /** A regular expression the answer must match. */
  readonly expect?: string;
}

/** The output ids the smoke check reads from the stack it checks. */
export const SMOKE_OUTPUTS = { apiUrl: 'SmokeApiUrl', roleArn: 'SmokeCheckRoleArn' } as const;

/** How every smoke-check role's name starts. */
export const SMOKE_ROLE_PREFIX = 'smoke-';

/** The name of the role the check assumes in an account: the target and agent it checks. */
export const smokeRoleName = (target: string, agent: string) => `${SMOKE_ROLE_PREFIX}${target}-${agent}`.slice(0, 64);

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The shell commands of the check, run from the repository after `npm ci`. */
export function smokeCommands(question: SmokeQuestion): string[] {
  return [
    // A refused assume-role stops the step here, instead of the check running with the step's own credentials.
    'creds="$(aws sts assume-role --role-arn "$SMOKE_ROLE_ARN" --role-session-name smoke-check --query "Credentials.[AccessKeyId,SecretAccessKey,SessionToken]" --output text)" || exit 1; export AWS_ACCESS_KEY_ID="$(echo "$creds" | cut -f1)" AWS_SECRET_ACCESS_KEY="$(echo "$creds" | cut -f2)" AWS_SESSION_TOKEN="$(echo "$creds" | cut -f3)"',
    `npm run smoke -- --agent ${quote(question.agent)} --input ${quote(question.input)}${question.expect ? ` --expect ${quote(question.expect)}` : ''}`,
  ];
}

export { quote as shellQuote };
