/**
 * What both clouds' GitHub deployment identities trust alike: GitHub Actions' OIDC token issuer,
 * and the one subject a job of a GitHub environment presents, `repo:OWNER/NAME:environment:ENV`.
 */

/** GitHub Actions' token issuer (its host; the issuer URL is `https://` and this). */
export const GITHUB_OIDC_ISSUER = 'token.actions.githubusercontent.com';

const REPOSITORY = /^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/;

/** Why `repository` is not `OWNER/NAME`, as a `field: problem` line, or undefined. */
export function githubRepositoryProblem(repository: string): string | undefined {
  return REPOSITORY.test(repository) ? undefined : `repository: must be OWNER/NAME (letters, digits, "-", "." and "_"); got "${repository}"`;
}

/** The subject of the tokens a job of `environment` in `repository` is given, matched exactly. */
export const githubSubject = (repository: string, environment: string) => `repo:${repository}:environment:${environment}`;
