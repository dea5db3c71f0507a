import type { IConstruct } from 'constructs';
import { TerraformResource } from './engine';

/**
 * The tag every billed resource of an agent carries with its cohort, so that a budget filtered on
 * it (AzureAgentOperations) counts what the cohort's agents cost on Azure's bill.
 */
export const COHORT_TAG = 'cohort';

/** A resource whose type takes tags (the generated bindings' `tags` accessor). */
interface Taggable {
  tags: Record<string, string>;
  readonly tagsInput?: Record<string, string>;
}

const taggable = (c: IConstruct): c is TerraformResource & Taggable => c instanceof TerraformResource && typeof (c as unknown as { resetTags?: unknown }).resetTags === 'function';

function setCohort(resource: Taggable, cohort: string | undefined): void {
  const { [COHORT_TAG]: _, ...others } = resource.tagsInput ?? {};
  resource.tags = cohort === undefined ? others : { ...others, [COHORT_TAG]: cohort };
}

/** Tags every resource under `scope` that takes tags with `cohort`, keeping the tags it has. */
export function tagCohort(scope: IConstruct, cohort: string): void {
  for (const c of scope.node.findAll()) if (taggable(c)) setCohort(c, cohort);
}

const sharers = new WeakMap<IConstruct, Set<string>>();

/**
 * Tags a resource several agents share (a plan, a shard's storage account) with their cohort while
 * they all have the same, and takes the tag off once an agent of another cohort shares it: its
 * cost then belongs to no one cohort, and no cohort's budget counts it.
 */
export function shareWithCohort(resource: IConstruct, cohort: string): void {
  if (!taggable(resource)) return;
  const cohorts = sharers.get(resource) ?? sharers.set(resource, new Set()).get(resource)!;
  cohorts.add(cohort);
  setCohort(resource, cohorts.size === 1 ? cohort : undefined);
}
