import type { IConstruct } from 'constructs';
import { AzurermProvider, EventgridEventSubscription, RoleAssignment, ServicePlan, StorageAccount, Token, TerraformResource, TerraformStack, LinuxFunctionApp, LinuxFunctionAppSlot } from './engine';

/**
 * Azure's documented per-subscription and per-region quotas, checked across every stack of an app
 * at synth: Terraform has no stack limit, so an app past one synthesizes, plans and applies until
 * Azure refuses the first resource over it, half deployed. Counted per subscription (the stack's
 * azurerm provider `subscriptionId`; stacks without one share the deploying identity's) and, where
 * the quota is regional, per location. Resources whose location or subscription is not known at
 * synth count together.
 */
export interface AzureQuota {
  readonly id: string;
  /** What is counted, in the words of Azure's documentation. */
  readonly what: string;
  readonly limit: number;
  readonly scope: 'subscription' | 'region' | 'plan' | 'topic';
  /** What to do when the app needs more. */
  readonly remedy: string;
}

export const AZURE_QUOTAS: readonly AzureQuota[] = [
  {
    id: 'storage-accounts',
    what: 'storage accounts',
    limit: 250,
    scope: 'region',
    remedy: 'share state and audit accounts among agents (AzureAgentStorage, as AzureAgentFleet shards do), spread agents over regions or subscriptions, or have the quota raised (to 500) through a support request',
  },
  {
    id: 'role-assignments',
    what: 'role assignments',
    limit: 4000,
    scope: 'subscription',
    remedy: 'give agents the roles they share through Entra ID groups (AzureRoleGroups, on by default in AzureAgentFleet), share state accounts (one conditioned assignment per agent), or spread agents over subscriptions; the limit cannot be raised',
  },
  {
    id: 'consumption-plans',
    what: 'Linux Consumption (Y1) plans',
    limit: 100,
    scope: 'region',
    remedy: 'share a plan among agents (up to 100 apps each), or spread agents over regions or subscriptions',
  },
  { id: 'apps-per-plan', what: 'Function Apps on one Consumption or Premium plan', limit: 100, scope: 'plan', remedy: 'give the agents more plans' },
  {
    id: 'event-subscriptions',
    what: 'event subscriptions to one Event Grid custom topic',
    limit: 500,
    scope: 'topic',
    remedy: 'give some agents a topic of their own (an AzureAgentEvents per group of agents), or deliver several agents\' events through one subscription into a queue',
  },
];

const checked = new WeakSet<IConstruct>();
/** The plan each agent's Function App runs on (a plan's id is a new token at each read, so apps are matched to plans here). */
const hosts = new WeakMap<IConstruct, ServicePlan>();

/** The topic each event subscription is to (its scope is a new token at each read). */
const topics = new WeakMap<EventgridEventSubscription, IConstruct>();

/** Records that `subscription` is to the topic `events` declares, for the event-subscriptions quota. */
export function recordSubscription<T extends EventgridEventSubscription>(subscription: T, events: IConstruct): T {
  topics.set(subscription, events);
  return subscription;
}

/** Records that `app` (a Function App, or a deployment slot, which is a site of its own on the plan) runs on `plan`, for the apps-per-plan quota. */
export function recordPlan(app: LinuxFunctionApp | LinuxFunctionAppSlot, plan: ServicePlan): void {
  hosts.set(app, plan);
}

/**
 * Checks every stack of `scope`'s app against AZURE_QUOTAS when it is synthesized; applying it
 * twice checks once. The check rides on the first stack it is applied in (CDK for Terraform runs a
 * stack's validations, not the app's), and counts the whole app from there.
 */
export function checkAzureQuotas(scope: IConstruct, quotas: readonly AzureQuota[] = AZURE_QUOTAS): void {
  const root = scope.node.root;
  if (checked.has(root)) return;
  checked.add(root);
  TerraformStack.of(scope).node.addValidation({ validate: () => azureQuotaProblems(root, quotas) });
}

/** Each quota the app's stacks pass, as a line naming the quota, its scope, the count and what to do. */
export function azureQuotaProblems(root: IConstruct, quotas: readonly AzureQuota[] = AZURE_QUOTAS): string[] {
  const counts = new Map<string, { quota: AzureQuota; where: string; count: number }>();
  const count = (quota: AzureQuota, where: string) => {
    const key = `${quota.id}\0${where}`;
    const entry = counts.get(key) ?? counts.set(key, { quota, where, count: 0 }).get(key)!;
    entry.count++;
  };
  const quota = (id: string) => quotas.find((q) => q.id === id);
  const known = (value: string | undefined, unknown: string) => (value === undefined || Token.isUnresolved(value) ? unknown : value);

  const apps = new Map<ServicePlan, number>();
  for (const stack of root.node.findAll().filter((c): c is TerraformStack => TerraformStack.isStack(c))) {
    const provider = stack.node.findAll().find((c): c is AzurermProvider => c instanceof AzurermProvider);
    const subscription = `subscription ${known(provider?.subscriptionIdInput, "(the deploying identity's)")}`;
    const region = (location: string | undefined) => `${subscription}, region ${known(location, '(not known at synth)')}`;
    for (const c of stack.node.findAll()) {
      if (!(c instanceof TerraformResource) || TerraformStack.of(c) !== stack) continue;
      if (c instanceof StorageAccount && quota('storage-accounts')) count(quota('storage-accounts')!, region(c.locationInput));
      else if (c instanceof RoleAssignment && quota('role-assignments')) count(quota('role-assignments')!, subscription);
      else if (c instanceof ServicePlan && c.skuNameInput === 'Y1' && quota('consumption-plans')) count(quota('consumption-plans')!, region(c.locationInput));
      else if ((c instanceof LinuxFunctionApp || c instanceof LinuxFunctionAppSlot) && hosts.has(c)) apps.set(hosts.get(c)!, (apps.get(hosts.get(c)!) ?? 0) + 1);
      else if (c instanceof EventgridEventSubscription && topics.has(c) && quota('event-subscriptions')) count(quota('event-subscriptions')!, `topic ${topics.get(c)!.node.path}`);
    }
  }
  const perPlan = quota('apps-per-plan');
  for (const [plan, n] of apps) {
    const sku = plan.skuNameInput ?? '';
    if (perPlan && (sku === 'Y1' || /^EP\d$/.test(sku)) && n > perPlan.limit) counts.set(`plan\0${plan.node.path}`, { quota: perPlan, where: `plan ${plan.node.path}`, count: n });
  }
  return [...counts.values()]
    .filter((c) => c.count > c.quota.limit)
    .map((c) => `Azure quota "${c.quota.id}": the app declares ${c.count} ${c.quota.what} in ${c.where}, over Azure's ${c.quota.limit}; ${c.quota.remedy}`);
}
