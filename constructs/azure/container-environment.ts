import type { AzurePrincipal } from './defaults';
import { Construct } from 'constructs';
import { containerContextDir, NODE_BASE_IMAGE } from '../bundle/container-image';
import { assignRole, storageAccountName } from './defaults';
import { AssetType, ContainerAppEnvironment, ContainerRegistry, MonitorDiagnosticSetting, TerraformAsset, terraformResource, type TerraformResource } from './engine';
import type { AzureObservability } from './observability';
import { AzureSecureDefaults } from './secure-defaults';

export interface AzureContainerEnvironmentProps {
  /** The environment's name, unique in its resource group. */
  readonly name: string;
  readonly resourceGroupName: string;
  readonly location: string;
  /** Where the containers' console and system logs go, through a diagnostic setting (no workspace key). */
  readonly observability: AzureObservability;
  /**
   * The Node image the container is built on. Pin a digest (`...@sha256:...`) to build the same bytes every time.
   * @default NODE_BASE_IMAGE, a patch release of Node 24 on Debian slim
   */
  readonly baseImage?: string;
  /**
   * Builds the image in the registry with ACR Tasks (`az acr build`) when `terraform apply` finds
   * its context changed: no Docker needed, but the Azure CLI, signed in as the deploying identity
   * with the right to run registry tasks (Contributor on the registry). Turn it off where a
   * pipeline builds and pushes `image` from the staged context itself.
   * @default true
   */
  readonly buildImage?: boolean;
}

/** The repository the runtime image is pushed to in the environment's registry. */
export const RUNTIME_IMAGE_REPOSITORY = 'serverless-agents/runtime';

/**
 * Where an Azure stack's container agents run (roadmap stage 3): a Container Apps environment on
 * the Consumption profile (billed per replica-second, nothing when every app has scaled to zero),
 * with its logs sent to the platform's Log Analytics workspace by a diagnostic setting rather than
 * the workspace's shared key; and a private registry holding the one runtime image every container
 * agent runs (their definitions differ only in settings), built from the same runtime bundle the
 * functions run. The registry takes no admin user and no anonymous pulls: each agent's identity
 * pulls with AcrPull on this registry alone.
 */
export class AzureContainerEnvironment extends Construct {
  readonly environment: ContainerAppEnvironment;
  readonly registry: ContainerRegistry;
  /** The image every container agent runs: the registry, the repository, and the context's hash as its tag. */
  readonly image: string;
  /** The build context staged in the Terraform output (Dockerfile and runtime bundle). */
  readonly context: TerraformAsset;
  /** The image's build, which each container app waits for; absent when `buildImage` is off. */
  readonly build?: TerraformResource;

  constructor(scope: Construct, id: string, props: AzureContainerEnvironmentProps) {
    super(scope, id);
    AzureSecureDefaults.applyTo(this);
    const location = { resourceGroupName: props.resourceGroupName, location: props.location };
    this.environment = new ContainerAppEnvironment(this, 'Environment', { name: props.name, ...location, logsDestination: 'azure-monitor' });
    new MonitorDiagnosticSetting(this, 'Logs', {
      name: 'agent-logs',
      targetResourceId: this.environment.id,
      logAnalyticsWorkspaceId: props.observability.workspace.id,
      // Tables of their own (ContainerAppConsoleLogs), which the failed-run alert queries.
      logAnalyticsDestinationType: 'Dedicated',
      enabledLog: [{ category: 'ContainerAppConsoleLogs' }, { category: 'ContainerAppSystemLogs' }],
    });
    this.registry = new ContainerRegistry(this, 'Registry', {
      name: storageAccountName(this, 'registry'),
      ...location,
      // Basic holds one image per runtime version at the least cost; Premium adds private endpoints.
      sku: 'Basic',
      adminEnabled: false,
      anonymousPullEnabled: false,
    });
    this.context = new TerraformAsset(this, 'Context', { path: containerContextDir('azure', props.baseImage ?? NODE_BASE_IMAGE), type: AssetType.DIRECTORY });
    // Named by content: a new runtime or base image is a new tag, so apps roll onto it, and an
    // unchanged one builds nothing.
    const tag = this.context.assetHash.slice(0, 16);
    this.image = `${this.registry.loginServer}/${RUNTIME_IMAGE_REPOSITORY}:${tag}`;
    if (props.buildImage ?? true) {
      this.build = terraformResource(this, 'Build', 'terraform_data', {
        attributes: {
          triggers_replace: [this.registry.id, tag],
        },
        provisioners: [
          {
            type: 'local-exec',
            // Built by the registry itself (Container Apps on Consumption run linux/amd64).
            command: `az acr build --registry ${this.registry.name} --image ${RUNTIME_IMAGE_REPOSITORY}:${tag} --platform linux/amd64 ${this.context.path}`,
          },
        ],
      });
    }
  }

  /** Lets an identity pull images from this registry, and nothing else. */
  grantPull(principal: AzurePrincipal, id: string): TerraformResource {
    return assignRole(this, `Puller-${id}`, this.registry.id, 'AcrPull', principal);
  }
}
