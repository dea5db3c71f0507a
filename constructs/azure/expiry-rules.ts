import type { Construct } from 'constructs';
import { Lazy, StorageManagementPolicy } from './engine';

/** Rules Azure allows in one account's lifecycle policy, and prefixes in one rule's filter. */
const MAX_RULES = 100;
const MAX_PREFIXES_PER_RULE = 10;

/**
 * A storage account's lifecycle policy, which deletes each container's blobs so many days after
 * they were last written. Azure allows one policy per account, so every container of the account
 * adds its expiry here, whoever builds it: the policy is written at synth, a rule per container
 * while they fit, else one rule per 10 containers that expire after the same number of days.
 */
export class ExpiryRules {
  readonly policy: StorageManagementPolicy;
  private readonly days = new Map<string, number>();

  constructor(scope: Construct, id: string, accountId: string) {
    // The typed rule list is replaced at synth by the rules the containers asked for.
    const policy = (this.policy = new StorageManagementPolicy(scope, id, { storageAccountId: accountId, rule: [] }));
    policy.addOverride('rule', Lazy.anyValue({ produce: () => this.rules() }));
    policy.node.addValidation({ validate: () => (this.rules().length > MAX_RULES ? [`${policy.node.path}: ${this.rules().length} lifecycle rules, more than the ${MAX_RULES} Azure allows in one account: place fewer agents on this account`] : []) });
  }

  /** Deletes the blobs of `container` `days` after they were last written. */
  expire(container: string, days: number): void {
    this.days.set(container, days);
  }

  private rules(): Record<string, unknown>[] {
    const rule = (name: string, days: number, containers: string[]) => ({
      actions: { base_blob: { delete_after_days_since_modification_greater_than: days } },
      enabled: true,
      filters: { blob_types: ['blockBlob'], prefix_match: containers.map((c) => `${c}/`) },
      name,
    });
    const containers = [...this.days.keys()];
    if (containers.length <= MAX_RULES) return containers.map((c) => rule(`expire-${c}`, this.days.get(c)!, [c]));
    const byDays = new Map<number, string[]>();
    for (const c of containers) byDays.set(this.days.get(c)!, [...(byDays.get(this.days.get(c)!) ?? []), c]);
    return [...byDays].flatMap(([days, group]) =>
      Array.from({ length: Math.ceil(group.length / MAX_PREFIXES_PER_RULE) }, (_, i) => rule(`expire-${days}d-${i + 1}`, days, group.slice(i * MAX_PREFIXES_PER_RULE, (i + 1) * MAX_PREFIXES_PER_RULE))),
    );
  }
}
