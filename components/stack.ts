import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import type { ImportRoute } from "../stacks/import-routes";
import type { DeploymentPlan } from "../stacks/plan";
import { EgressPolicy, type EgressInputs } from "./egress";
import { Monitoring } from "./monitoring";
import { SyncRelease } from "./release";
import { ExternalSecretReference, VaultSourcedSecret } from "./secrets";
import { SharedStorage } from "./storage";
import { CA_BUNDLE_KEY, podLabels } from "../stacks/chart-values";

export interface GenesysMiddlewareStackArgs {
  /** What to build, from `plan(settings, platform, credentials)` (stacks/plan.ts), which has checked everything that can fail. */
  readonly plan: DeploymentPlan;
}

/** Everything the middleware needs in one namespace, labelled for the restricted Pod Security Standard. */
export class GenesysMiddlewareStack extends pulumi.ComponentResource {
  public readonly namespace: pulumi.Output<string>;
  public readonly serviceName: string;
  public readonly servicePort: number;
  public readonly metricsEndpoint: pulumi.Output<string>;
  public readonly secretName: string;
  public readonly claimName: string;
  public readonly egressDestinations: EgressInputs;
  public readonly webhookUrl: string | undefined;
  /** Where operators sign in, when the console is on. */
  public readonly consoleUrl: string | undefined;
  public readonly webhookPassword: pulumi.Output<string> | undefined;
  /** The import routes (the default one first) and their folders on the shared volume. */
  public readonly importRoutes: readonly ImportRoute[];

  constructor(name: string, args: GenesysMiddlewareStackArgs, opts?: pulumi.ComponentResourceOptions) {
    const { plan } = args;
    const provider = plan.kubeconfig
      ? new k8s.Provider(`${name}-cluster`, { kubeconfig: plan.kubeconfig })
      : undefined;
    super("genesys:middleware:GenesysMiddlewareStack", name, args, {
      ...opts,
      ...(provider ? { providers: [provider] } : {}),
    });
    const { names } = plan;
    for (const warning of plan.warnings) pulumi.log.warn(warning, this);

    this.namespace = this.createNamespace(name, plan.namespaceName);

    const storage = new SharedStorage(
      `${name}-storage`,
      { namespace: this.namespace, claimName: names.claimName, ...plan.storage },
      { parent: this },
    );

    const secrets = this.createSecrets(name, plan);

    const caBundle = this.createCaBundle(name, plan);

    this.egressDestinations = plan.egress;
    new EgressPolicy(
      `${name}-network`,
      {
        namespace: this.namespace,
        inputs: plan.egress,
        ...(plan.ciliumHosts ? { ciliumHosts: plan.ciliumHosts } : {}),
      },
      { parent: this },
    );

    const release = new SyncRelease(
      `${name}-release`,
      {
        namespace: this.namespace,
        releaseName: names.release,
        values: plan.values,
      },
      { parent: this, dependsOn: [storage, secrets, ...(caBundle ? [caBundle] : [])] },
    );

    this.createMonitoring(name, plan, release);

    this.serviceName = names.release;
    this.servicePort = 80;
    this.secretName = secrets.secretName;
    this.claimName = names.claimName;
    this.metricsEndpoint = pulumi.interpolate`http://${this.serviceName}.${this.namespace}.svc.cluster.local:${this.servicePort}/metrics`;
    this.webhookUrl = plan.webhookUrl;
    this.consoleUrl = plan.consoleUrl;
    this.webhookPassword = secrets instanceof VaultSourcedSecret ? secrets.webhookPassword : undefined;
    this.importRoutes = plan.importRoutes;
    this.registerOutputs({
      consoleUrl: this.consoleUrl,
      namespace: this.namespace,
      serviceName: this.serviceName,
      servicePort: this.servicePort,
      metricsEndpoint: this.metricsEndpoint,
      secretName: this.secretName,
      claimName: this.claimName,
      egressDestinations: this.egressDestinations,
      webhookUrl: this.webhookUrl,
      webhookPassword: this.webhookPassword,
      importRoutes: this.importRoutes,
    });
  }

  /** The ServiceMonitor, alerts and dashboard, once the release exists; nothing when monitoring is off. */
  private createMonitoring(
    name: string,
    plan: GenesysMiddlewareStackArgs["plan"],
    release: SyncRelease,
  ): void {
    if (!plan.monitoring.enabled) return;
    new Monitoring(
      `${name}-monitoring`,
      {
        namespace: this.namespace,
        namespaceName: plan.namespaceName,
        serviceLabels: podLabels(plan.names),
        grafanaDashboard: plan.monitoring.grafanaDashboards,
        listSnapshots: plan.listSnapshots,
      },
      { parent: this, dependsOn: [release] },
    );
  }

  private createNamespace(name: string, namespaceName: string): pulumi.Output<string> {
    const namespace = new k8s.core.v1.Namespace(
      `${name}-ns`,
      {
        metadata: {
          name: namespaceName,
          labels: {
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/audit": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
            "app.kubernetes.io/part-of": "genesys-middleware-stack",
          },
        },
      },
      { parent: this },
    );
    return namespace.metadata.name;
  }

  /** The Secret the chart reads: from Vault through Pulumi, or written by the External Secrets Operator. */
  private createSecrets(name: string, plan: DeploymentPlan): VaultSourcedSecret | ExternalSecretReference {
    const { names } = plan;
    if (plan.secrets.mode === "vault") {
      const { login, address } = plan.secrets;
      const vaultProvider = new vault.Provider(
        `${name}-vault`,
        login.method === "jwt"
          ? { address, skipChildToken: true, authLoginJwt: { role: login.role, jwt: login.jwt } }
          : { address, ...(login.token ? { token: login.token } : {}) },
        { parent: this },
      );
      return new VaultSourcedSecret(
        `${name}-secrets`,
        {
          namespace: this.namespace,
          secretName: names.secretName,
          kvMount: plan.secrets.kvMount,
          kvPath: plan.secrets.kvPath,
          roleName: plan.secrets.roleName,
          serviceAccountName: names.release,
          kubernetesAuthMount: plan.secrets.kubernetesAuthMount,
          console: plan.console,
          vaultProvider,
        },
        { parent: this },
      );
    }
    return new ExternalSecretReference(
      `${name}-secrets`,
      {
        namespace: this.namespace,
        secretName: names.secretName,
        kvPath: plan.secrets.kvPath,
        secretStore: plan.secrets.secretStore,
        console: plan.console,
      },
      { parent: this },
    );
  }

  private createCaBundle(name: string, plan: DeploymentPlan): k8s.core.v1.ConfigMap | undefined {
    const { names } = plan;
    // Extra CAs the service trusts (NODE_EXTRA_CA_CERTS); certificates are public, so a ConfigMap.
    return plan.caBundle === undefined
      ? undefined
      : new k8s.core.v1.ConfigMap(
          `${name}-ca`,
          {
            metadata: { name: names.caConfigMapName, namespace: this.namespace },
            data: { [CA_BUNDLE_KEY]: plan.caBundle },
          },
          { parent: this },
        );
  }
}
