import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as vault from "@pulumi/vault";
import { secretKeyOf } from "../app/src/shared/settings";

/** The Vault policy the middleware's role gets: read, and only read, on its own paths. */
export function vaultReadPolicy(kvMount: string, kvPath: string): string {
  return [
    `path "${kvMount}/data/${kvPath}" {`,
    `  capabilities = ["read"]`,
    `}`,
    `path "${kvMount}/data/${kvPath}-webhook" {`,
    `  capabilities = ["read"]`,
    `}`,
    `path "${kvMount}/data/${kvPath}-console" {`,
    `  capabilities = ["read"]`,
    `}`,
    "",
  ].join("\n");
}

/** The webhook credential's user name (Genesys data actions call with it). */
const WEBHOOK_USERNAME = "genesys-data-action";

/** The component type both secret components replace; children keep their URNs through the alias. */
const FORMER_TYPE = "genesys:middleware:VaultSecret";

export interface VaultSourcedSecretArgs {
  readonly namespace: pulumi.Input<string>;
  /** The Secret the chart references (the guide's genesys-integration-secrets). */
  readonly secretName: string;
  /** KV v2 mount and path of the Genesys credentials. */
  readonly kvMount: string;
  readonly kvPath: string;
  /** Name of the Vault policy and of the Kubernetes auth role. */
  readonly roleName: string;
  /** Service account the Vault Kubernetes auth role is bound to. */
  readonly serviceAccountName: string;
  /** Mount of Vault's Kubernetes auth method. */
  readonly kubernetesAuthMount: string;
  /** The console is on: the Secret also holds the OIDC client secret and the session secret; default false. */
  readonly console?: boolean;
  /** Vault provider (address and login). */
  readonly vaultProvider: vault.Provider;
}

/**
 * The Kubernetes Secret holding the Genesys client secret and the webhook credential, read from
 * Vault KV v2 and secret end to end (Pulumi state and outputs). Also the Vault policy (read-only
 * on that path) and a Kubernetes auth role bound to the service account.
 */
export class VaultSourcedSecret extends pulumi.ComponentResource {
  public readonly secretName: string;
  public readonly secret: k8s.core.v1.Secret;
  public readonly policy: vault.Policy;
  public readonly authRole: vault.kubernetes.AuthBackendRole;
  /** The generated webhook password; a secret output. */
  public readonly webhookPassword: pulumi.Output<string>;

  constructor(name: string, args: VaultSourcedSecretArgs, opts?: pulumi.ComponentResourceOptions) {
    super("genesys:middleware:VaultSourcedSecret", name, args, {
      ...opts,
      aliases: [...(opts?.aliases ?? []), { type: FORMER_TYPE }],
    });
    this.secretName = args.secretName;
    const vaultOpts = { parent: this, provider: args.vaultProvider };
    const stored = vault.kv.getSecretV2Output({ mount: args.kvMount, name: args.kvPath }, vaultOpts);
    const clientSecret = requiredKey(
      stored,
      "client-secret",
      `Vault ${args.kvMount}/${args.kvPath} has no "client-secret" key: store the Genesys OAuth client secret there`,
    );
    const webhookPassword = this.webhookCredential(name, args, vaultOpts);
    // Secret here, whatever the provider marks: this output leaves the component.
    this.webhookPassword = pulumi.secret(webhookPassword);
    const consoleSecrets = args.console ? this.consoleSecrets(name, args, stored, vaultOpts) : {};
    this.secret = new k8s.core.v1.Secret(
      `${name}-secret`,
      {
        metadata: { name: args.secretName, namespace: args.namespace },
        type: "Opaque",
        stringData: {
          [secretKeyOf("GENESYS_CLIENT_SECRET")]: clientSecret,
          [secretKeyOf("WEBHOOK_USERNAME")]: WEBHOOK_USERNAME,
          [secretKeyOf("WEBHOOK_PASSWORD")]: webhookPassword,
          ...consoleSecrets,
        },
      },
      { parent: this, additionalSecretOutputs: ["data", "stringData"] },
    );
    const access = this.vaultAccess(name, args, vaultOpts);
    this.policy = access.policy;
    this.authRole = access.authRole;
    this.registerOutputs({
      secretName: this.secretName,
      secret: this.secret,
      policy: this.policy,
      authRole: this.authRole,
      webhookPassword: this.webhookPassword,
    });
  }

  /** A generated webhook password, kept in Vault beside the Genesys credentials; returns it. */
  private webhookCredential(
    name: string,
    args: VaultSourcedSecretArgs,
    vaultOpts: pulumi.CustomResourceOptions,
  ): pulumi.Output<string> {
    const webhook = new random.RandomPassword(
      `${name}-webhook`,
      { length: 40, special: false },
      { parent: this },
    );
    new vault.kv.SecretV2(
      `${name}-webhook`,
      {
        mount: args.kvMount,
        name: `${args.kvPath}-webhook`,
        dataJson: pulumi.secret(
          pulumi.jsonStringify({ username: WEBHOOK_USERNAME, password: webhook.result }),
        ),
      },
      vaultOpts,
    );
    return webhook.result;
  }

  /** The console's OIDC client secret (from Vault) and its session secret (generated, kept in Vault), by Secret key. */
  private consoleSecrets(
    name: string,
    args: VaultSourcedSecretArgs,
    stored: pulumi.Output<vault.kv.GetSecretV2Result>,
    vaultOpts: pulumi.CustomResourceOptions,
  ): Record<string, pulumi.Output<string>> {
    const oidcClientSecret = requiredKey(
      stored,
      "oidc-client-secret",
      `Vault ${args.kvMount}/${args.kvPath} has no "oidc-client-secret" key: store the console's OIDC client secret there (the console is enabled)`,
    );
    // One session secret for every replica, so any of them opens any session cookie.
    const session = new random.RandomPassword(
      `${name}-console-session`,
      { length: 48, special: false },
      { parent: this },
    );
    new vault.kv.SecretV2(
      `${name}-console`,
      {
        mount: args.kvMount,
        name: `${args.kvPath}-console`,
        dataJson: pulumi.secret(pulumi.jsonStringify({ "session-secret": session.result })),
      },
      vaultOpts,
    );
    return {
      [secretKeyOf("OIDC_CLIENT_SECRET")]: oidcClientSecret,
      [secretKeyOf("CONSOLE_SESSION_SECRET")]: pulumi.secret(session.result),
    };
  }

  /** The Vault policy (read-only on the credentials' path) and the Kubernetes auth role bound to the service account. */
  private vaultAccess(
    name: string,
    args: VaultSourcedSecretArgs,
    vaultOpts: pulumi.CustomResourceOptions,
  ): { policy: vault.Policy; authRole: vault.kubernetes.AuthBackendRole } {
    const policy = new vault.Policy(
      `${name}-policy`,
      { name: args.roleName, policy: vaultReadPolicy(args.kvMount, args.kvPath) },
      vaultOpts,
    );
    const authRole = new vault.kubernetes.AuthBackendRole(
      `${name}-k8s-role`,
      {
        backend: args.kubernetesAuthMount,
        roleName: args.roleName,
        boundServiceAccountNames: [args.serviceAccountName],
        boundServiceAccountNamespaces: [args.namespace],
        tokenPolicies: [policy.name],
        tokenTtl: 3600,
      },
      vaultOpts,
    );
    return { policy, authRole };
  }
}

/** One key of the Vault secret, as a Pulumi secret; a missing key fails with `problem`. */
function requiredKey(
  stored: pulumi.Output<vault.kv.GetSecretV2Result>,
  key: string,
  problem: string,
): pulumi.Output<string> {
  return pulumi.secret(
    stored.data.apply((data) => {
      const value = data[key];
      if (!value) throw new Error(problem);
      return value;
    }),
  );
}

export interface ExternalSecretReferenceArgs {
  readonly namespace: pulumi.Input<string>;
  /** The Secret the chart references, which the External Secrets Operator writes. */
  readonly secretName: string;
  /** Vault path of the Genesys credentials (the webhook's at `<kvPath>-webhook`, the console's at `<kvPath>-console`). */
  readonly kvPath: string;
  /** The ClusterSecretStore the operator reads through. */
  readonly secretStore: string;
  /** The console is on: the Secret also holds the OIDC client secret and the session secret; default false. */
  readonly console?: boolean;
}

/**
 * An ExternalSecret that has the External Secrets Operator write the Secret from the same Vault
 * paths; Pulumi never sees a value (no webhook password output: it stays in Vault).
 */
export class ExternalSecretReference extends pulumi.ComponentResource {
  public readonly secretName: string;
  public readonly externalSecret: k8s.apiextensions.CustomResource;

  constructor(name: string, args: ExternalSecretReferenceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("genesys:middleware:ExternalSecretReference", name, args, {
      ...opts,
      aliases: [...(opts?.aliases ?? []), { type: FORMER_TYPE }],
    });
    this.secretName = args.secretName;
    this.externalSecret = new k8s.apiextensions.CustomResource(
      `${name}-external`,
      {
        apiVersion: "external-secrets.io/v1",
        kind: "ExternalSecret",
        metadata: { name: args.secretName, namespace: args.namespace },
        spec: {
          refreshInterval: "1h",
          secretStoreRef: { kind: "ClusterSecretStore", name: args.secretStore },
          target: { name: args.secretName, creationPolicy: "Owner" },
          data: [
            {
              secretKey: secretKeyOf("GENESYS_CLIENT_SECRET"),
              remoteRef: { key: args.kvPath, property: "client-secret" },
            },
            {
              secretKey: secretKeyOf("WEBHOOK_USERNAME"),
              remoteRef: { key: `${args.kvPath}-webhook`, property: "username" },
            },
            {
              secretKey: secretKeyOf("WEBHOOK_PASSWORD"),
              remoteRef: { key: `${args.kvPath}-webhook`, property: "password" },
            },
            ...(args.console
              ? [
                  {
                    secretKey: secretKeyOf("OIDC_CLIENT_SECRET"),
                    remoteRef: { key: args.kvPath, property: "oidc-client-secret" },
                  },
                  {
                    secretKey: secretKeyOf("CONSOLE_SESSION_SECRET"),
                    remoteRef: { key: `${args.kvPath}-console`, property: "session-secret" },
                  },
                ]
              : []),
          ],
        },
      },
      { parent: this },
    );
    this.registerOutputs({ secretName: this.secretName, externalSecret: this.externalSecret });
  }
}
