import type { IConstruct, IValidation } from 'constructs';
import { AZURE_AUDIT_CONTAINER } from '../../contract/config/settings';
import { TerraformStack } from './engine';

/**
 * Azure's secure defaults as a check at synth: the counterpart of the cdk-nag rule packs on AWS,
 * where no rule pack for Terraform is at hand. Every Azure construct of this library applies it to
 * its stack, so an app that uses them is checked whatever else it synthesizes: a resource that
 * breaks a rule fails synth naming the rule and the construct, unless the rule is acknowledged on
 * that construct (or a parent) with the reason it is accepted. Apply it to any other stack with
 * `AzureSecureDefaults.applyTo(stack)`.
 */

type Attributes = Record<string, any>;

interface Rule {
  readonly id: string;
  /** Terraform resource types the rule reads. */
  readonly types: readonly string[];
  /** What is wrong with a resource (`id` is its logical id), or undefined when nothing is. */
  check(resource: Attributes, stack: SynthesizedStack, id: string): string | undefined;
}

/** A synthesized stack as Terraform JSON, as far as the rules read it. */
export interface SynthesizedStack {
  readonly resource?: Record<string, Record<string, Attributes>>;
  readonly provider?: { readonly azurerm?: readonly Attributes[] };
}

export const AZURE_SECURE_DEFAULT_RULES: readonly Rule[] = [
  { id: 'AzureSecure-FunctionHttpsOnly', types: ['azurerm_linux_function_app', 'azurerm_linux_function_app_slot'], check: (r) => (r.https_only !== true ? 'accepts plain HTTP' : undefined) },
  {
    id: 'AzureSecure-FunctionBasicAuth',
    types: ['azurerm_linux_function_app', 'azurerm_linux_function_app_slot'],
    check: (r) => (r.ftp_publish_basic_authentication_enabled !== false || r.webdeploy_publish_basic_authentication_enabled !== false ? 'allows basic publishing credentials' : undefined),
  },
  {
    id: 'AzureSecure-FunctionTls',
    types: ['azurerm_linux_function_app', 'azurerm_linux_function_app_slot'],
    check: (r) => (r.site_config?.minimum_tls_version !== '1.2' || r.site_config?.ftps_state !== 'Disabled' ? 'allows TLS below 1.2 or FTP' : undefined),
  },
  {
    id: 'AzureSecure-FunctionAnonymous',
    types: ['azurerm_linux_function_app', 'azurerm_linux_function_app_slot'],
    check: (r) => (r.app_settings?.HTTP_AUTH_LEVEL === 'anonymous' && r.auth_settings_v2?.require_authentication !== true ? 'serves HTTP anonymously' : undefined),
  },
  {
    id: 'AzureSecure-FunctionKeys',
    types: ['azurerm_linux_function_app', 'azurerm_linux_function_app_slot'],
    check: (r) => (r.app_settings?.HTTP_AUTH_LEVEL === 'function' && r.auth_settings_v2?.require_authentication !== true ? 'serves HTTP to whoever holds a function key, a shared secret that names no caller' : undefined),
  },
  {
    id: 'AzureSecure-AuditImmutability',
    types: ['azurerm_storage_container'],
    check: (r, stack, id) => {
      // `audit` in an agent's own account; `<agent>-audit` in one a fleet's shard shares.
      if (r.name !== AZURE_AUDIT_CONTAINER && !String(r.name).endsWith(`-${AZURE_AUDIT_CONTAINER}`)) return undefined;
      const reference = `azurerm_storage_container.${id}.resource_manager_id`;
      const policy = Object.values(stack.resource?.azurerm_storage_container_immutability_policy ?? {}).find((p) => String(p.storage_container_resource_manager_id).includes(reference));
      if (!policy) return 'holds audit records without a time-based immutability policy, so they can be overwritten or deleted';
      return policy.protected_append_writes_enabled === true || policy.protected_append_writes_all_enabled === true ? 'lets audit records be appended to under its immutability policy' : undefined;
    },
  },
  { id: 'AzureSecure-StorageSharedKeys', types: ['azurerm_storage_account'], check: (r) => (r.shared_access_key_enabled !== false ? 'accepts shared keys' : undefined) },
  { id: 'AzureSecure-StoragePublicBlobs', types: ['azurerm_storage_account'], check: (r) => (r.allow_nested_items_to_be_public !== false ? 'allows public blobs' : undefined) },
  {
    id: 'AzureSecure-StorageTls',
    types: ['azurerm_storage_account'],
    check: (r) => (r.min_tls_version !== 'TLS1_2' || r.https_traffic_only_enabled === false ? 'accepts TLS below 1.2 or plain HTTP' : undefined),
  },
  {
    id: 'AzureSecure-StorageKeysFromProvider',
    types: ['azurerm_storage_blob'],
    check: (_, stack) =>
      stack.provider?.azurerm?.[0]?.storage_use_azuread !== true ? 'is uploaded with account keys (the azurerm provider lacks storage_use_azuread), which keyless accounts refuse' : undefined,
  },
  {
    id: 'AzureSecure-LocalAuth',
    types: ['azurerm_servicebus_namespace', 'azurerm_eventgrid_topic'],
    check: (r) => (r.local_auth_enabled !== false ? 'accepts access keys' : undefined),
  },
  {
    id: 'AzureSecure-MonitorLocalAuth',
    types: ['azurerm_application_insights', 'azurerm_log_analytics_workspace'],
    check: (r) => (r.local_authentication_disabled === true || r.local_authentication_enabled === false ? undefined : 'accepts key-based ingestion'),
  },
  {
    id: 'AzureSecure-KeyVault',
    types: ['azurerm_key_vault'],
    check: (r) => (r.rbac_authorization_enabled !== true || r.purge_protection_enabled !== true ? 'lacks RBAC authorization or purge protection' : undefined),
  },
  {
    id: 'AzureSecure-ContainerAppIngress',
    types: ['azurerm_container_app'],
    check: (r) => (r.ingress?.external_enabled === true || r.ingress?.allow_insecure_connections === true ? 'takes traffic from the internet, or over plain HTTP' : undefined),
  },
  {
    id: 'AzureSecure-ContainerAppSecrets',
    types: ['azurerm_container_app'],
    check: (r) =>
      (r.secret ?? []).some((s: Attributes) => s.value !== undefined) || (r.registry ?? []).some((g: Attributes) => g.password_secret_name !== undefined)
        ? 'holds a secret value or registry password in its configuration, where anyone who can read the app sees it; use Key Vault references and identities'
        : undefined,
  },
  {
    id: 'AzureSecure-ScaleRuleKeys',
    types: ['azurerm_container_app'],
    check: (r) => {
      // CPU and memory rules read the replicas themselves, with nothing to authenticate to.
      const rules: Attributes[] = [...(r.template?.custom_scale_rule ?? []).filter((rule: Attributes) => !['cpu', 'memory'].includes(rule.custom_rule_type)), ...(r.template?.azure_queue_scale_rule ?? [])];
      return rules.some((rule) => rule.authentication !== undefined || rule.identity === undefined) ? 'scales with a connection string (or nothing to authenticate with) instead of a managed identity' : undefined;
    },
  },
  {
    id: 'AzureSecure-RegistryAuth',
    types: ['azurerm_container_registry'],
    check: (r) => (r.admin_enabled !== false || r.anonymous_pull_enabled === true ? 'allows its admin user or anonymous pulls' : undefined),
  },
  {
    id: 'AzureSecure-BroadRoleScope',
    types: ['azurerm_role_assignment'],
    check: (r) =>
      typeof r.scope === 'string' && /azurerm_resource_group|^\/subscriptions\/[^/]+(\/resourceGroups\/[^/]+)?$/.test(r.scope)
        ? `grants ${r.role_definition_name ?? 'a custom role'} on a whole resource group or subscription`
        : undefined,
  },
];

/** Every resource of a synthesized stack that breaks a rule, acknowledged or not, by construct path. */
export function secureDefaultFindings(stack: SynthesizedStack): { rule: string; path: string; problem: string }[] {
  return AZURE_SECURE_DEFAULT_RULES.flatMap((rule) =>
    rule.types.flatMap((type) =>
      Object.entries(stack.resource?.[type] ?? {}).flatMap(([id, resource]) => {
        const problem = rule.check(resource, stack, id);
        return problem ? [{ rule: rule.id, path: resource['//']?.metadata?.path as string, problem }] : [];
      }),
    ),
  );
}

/** An accepted finding, as recorded in the stack's output for reviewers and the synth summary. */
export interface AzureAcknowledgment {
  readonly rule: string;
  readonly path: string;
  readonly reason: string;
}

/** Where acknowledgments are recorded in a synthesized stack's `//` block. */
export const ACKNOWLEDGMENTS_KEY = 'serverless-agents-acknowledged';

const METADATA = 'serverless-agents:azure-acknowledgment';
const applied = new WeakSet<TerraformStack>();

export class AzureSecureDefaults implements IValidation {
  /** Checks every resource of `scope`'s stack at synth; applying it twice checks once. */
  static applyTo(scope: IConstruct): void {
    const stack = TerraformStack.of(scope);
    if (applied.has(stack)) return;
    applied.add(stack);
    stack.node.addValidation(new AzureSecureDefaults(stack));
  }

  /**
   * Accepts a finding of `rule` on `scope` and everything under it, for the reason given: it is
   * recorded in the synthesized stack beside the finding it accepts.
   */
  static acknowledge(scope: IConstruct, rule: string, reason: string): void {
    if (!AZURE_SECURE_DEFAULT_RULES.some((r) => r.id === rule)) throw new Error(`${scope.node.path}: no Azure secure-default rule is named "${rule}"`);
    if (reason.trim().length < 10) throw new Error(`${scope.node.path}: acknowledging ${rule} needs the real reason it is accepted`);
    scope.node.addMetadata(METADATA, { rule, reason });
  }

  private constructor(private readonly stack: TerraformStack) {}

  validate(): string[] {
    const open: string[] = [];
    const acknowledged: AzureAcknowledgment[] = [];
    for (const finding of secureDefaultFindings(this.stack.toTerraform() as SynthesizedStack)) {
      const reason = this.acknowledgment(finding.path, finding.rule);
      if (reason) acknowledged.push({ rule: finding.rule, path: finding.path, reason });
      else open.push(`${finding.rule}: ${finding.path} ${finding.problem}; fix it, or acknowledge the rule there with AzureSecureDefaults.acknowledge and the reason`);
    }
    if (acknowledged.length) this.stack.addOverride(`//.${ACKNOWLEDGMENTS_KEY}`, acknowledged);
    return open;
  }

  /** The reason `rule` is accepted on the construct at `path` or a parent of it, if it is. */
  private acknowledgment(path: string, rule: string): string | undefined {
    const parts = path.split('/');
    for (let n = parts.length; n > 0; n--) {
      const node = this.find(parts.slice(0, n));
      const entry = node?.node.metadata.find((m) => m.type === METADATA && (m.data as { rule: string }).rule === rule);
      if (entry) return (entry.data as { reason: string }).reason;
    }
    return undefined;
  }

  /** The construct at a path from the app. */
  private find(parts: string[]): IConstruct | undefined {
    let node: IConstruct | undefined = this.stack.node.root;
    for (const part of parts) node = node?.node.tryFindChild(part);
    return node;
  }
}
