import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import type { PlatformInfo } from "../stacks/platform";
import type { StackSettings } from "../stacks/settings";
import { EgressPolicy, egressDestinations, type EgressInputs } from "./egress";
import { Monitoring } from "./monitoring";
import { SyncRelease } from "./release";
import { VaultSecret } from "./secrets";
import { SharedStorage } from "./storage";
import { CA_BUNDLE_KEY, chartValues, podLabels, type ReleaseNames } from "./values";

export interface GenesysMiddlewareStackArgs {
  /** Validated stack settings (stacks/settings.ts). */
  readonly settings: StackSettings;
  /** The platform team's outputs, or the dev defaults. */
  readonly platform: PlatformInfo;
  /** Vault JWT for the prod login (`pulumi config set --secret vaultJwt`); unused with the token login. */
  readonly vaultJwt?: pulumi.Input<string>;
  /** Vault token for the dev login; default: the provider's own (VAULT_TOKEN, `vault:token`). */
  readonly vaultToken?: pulumi.Input<string>;
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

  constructor(name: string, args: GenesysMiddlewareStackArgs, opts?: pulumi.ComponentResourceOptions) {
    const provider = args.platform.kubeconfig
      ? new k8s.Provider(`${name}-cluster`, { kubeconfig: args.platform.kubeconfig })
      : undefined;
    super("genesys:middleware:GenesysMiddlewareStack", name, args, {
      ...opts,
      ...(provider ? { providers: [provider] } : {}),
    });
    const { settings, platform } = args;
    const names: ReleaseNames = {
      release: "genesys-sync",
      secretName: "genesys-integration-secrets",
      claimName: "genesys-sync-data",
      caConfigMapName: "genesys-sync-ca",
    };
    const namespaceName = `${platform.namespacePrefix}${settings.namespace}`;

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
    this.namespace = namespace.metadata.name;

    const storage = new SharedStorage(
      `${name}-storage`,
      {
        namespace: this.namespace,
        claimName: names.claimName,
        size: settings.storage.size,
        mode: settings.storage.mode,
        nfsServer: platform.nfsServer,
        nfsPath: platform.nfsPath,
        ...(settings.storage.storageClassName ? { storageClassName: settings.storage.storageClassName } : {}),
      },
      { parent: this },
    );

    const vaultProvider =
      settings.secrets.mode === "vault"
        ? new vault.Provider(
            `${name}-vault`,
            settings.secrets.vaultLogin === "jwt"
              ? {
                  address: platform.vaultAddress,
                  skipChildToken: true,
                  authLoginJwt: { role: settings.secrets.vaultJwtRole!, jwt: args.vaultJwt! },
                }
              : { address: platform.vaultAddress, ...(args.vaultToken ? { token: args.vaultToken } : {}) },
            { parent: this },
          )
        : undefined;
    const secrets = new VaultSecret(
      `${name}-secrets`,
      {
        namespace: this.namespace,
        secretName: names.secretName,
        environment: settings.environment,
        mode: settings.secrets.mode,
        kvMount: settings.secrets.kvMount,
        kvPath: settings.secrets.kvPath,
        serviceAccountName: names.release,
        kubernetesAuthMount: settings.secrets.kubernetesAuthMount,
        secretStore: settings.secrets.secretStore,
        console: settings.console !== undefined,
        ...(vaultProvider ? { vaultProvider } : {}),
      },
      { parent: this },
    );

    // Extra CAs the service trusts (NODE_EXTRA_CA_CERTS); certificates are public, so a ConfigMap.
    const caBundle =
      settings.network.caBundle === undefined
        ? undefined
        : new k8s.core.v1.ConfigMap(
            `${name}-ca`,
            {
              metadata: { name: names.caConfigMapName, namespace: this.namespace },
              data: { [CA_BUNDLE_KEY]: settings.network.caBundle },
            },
            { parent: this },
          );

    this.egressDestinations = egressDestinations(settings, platform, podLabels(names));
    // Behind a proxy there are no Genesys ranges to allow: the proxy is the only path out.
    if (this.egressDestinations.genesysCidrs.length === 0 && settings.network.proxy === undefined) {
      const reason = `no Genesys Cloud IP ranges for ${settings.genesys.region}: run \`npm run ipranges:refresh\` against your org, or list them in egress.genesysCidrs`;
      if (settings.environment === "prod" && platform.cni !== "cilium") {
        throw new pulumi.InputPropertyError({
          propertyPath: "genesys-middleware-stack:egress.genesysCidrs",
          reason,
        });
      }
      pulumi.log.warn(
        `${reason}; until then only ${platform.cni === "cilium" ? "the Cilium FQDN rules allow" : "nothing allows"} HTTPS to Genesys Cloud`,
        this,
      );
    }
    new EgressPolicy(
      `${name}-network`,
      {
        namespace: this.namespace,
        inputs: this.egressDestinations,
        // FQDN rules would open direct HTTPS to Genesys Cloud, around the proxy.
        cilium: platform.cni === "cilium" && settings.network.proxy === undefined,
        domain: settings.genesys.domain,
      },
      { parent: this },
    );

    const release = new SyncRelease(
      `${name}-release`,
      {
        namespace: this.namespace,
        releaseName: names.release,
        values: chartValues(settings, names, platform.ingressClass),
      },
      { parent: this, dependsOn: [storage, secrets, ...(caBundle ? [caBundle] : [])] },
    );

    if (settings.monitoring.enabled) {
      new Monitoring(
        `${name}-monitoring`,
        {
          namespace: this.namespace,
          namespaceName,
          serviceLabels: podLabels(names),
          grafanaDashboard: settings.monitoring.grafanaDashboards,
        },
        { parent: this, dependsOn: [release] },
      );
    }

    this.serviceName = names.release;
    this.servicePort = 80;
    this.secretName = secrets.secretName;
    this.claimName = names.claimName;
    this.metricsEndpoint = pulumi.interpolate`http://${this.serviceName}.${this.namespace}.svc.cluster.local:${this.servicePort}/metrics`;
    this.webhookUrl = settings.ingress.enabled
      ? `https://${settings.ingress.host}/webhooks/genesys`
      : undefined;
    this.consoleUrl =
      settings.console && settings.ingress.enabled ? `https://${settings.ingress.host}/console` : undefined;
    this.webhookPassword = secrets.webhookPassword;
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
    });
  }
}
