import * as pulumi from "@pulumi/pulumi";
import { stackFileConfig } from "../../scripts/chart-ci-values";

/**
 * Pulumi's mocks stand in for the engine and the providers, which cannot run here (no Pulumi CLI,
 * no provider plugins, no cluster, no Vault). Every resource the program registers is recorded
 * with its inputs; invokes (the Vault KV read) and the platform StackReference answer canned data.
 */
export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export const recorded: RecordedResource[] = [];
export const VAULT_CLIENT_SECRET = "client-secret-from-vault-7f3a";
export const VAULT_OIDC_CLIENT_SECRET = "oidc-client-secret-from-vault-91c2";
export const PLATFORM_OUTPUTS = {
  kubeconfig: "apiVersion: v1\nkind: Config\n",
  namespacePrefix: "cc-",
  nfsServer: "10.40.1.5",
  nfsPath: "/exports/genesys",
  vaultAddress: "https://vault.platform.example.com",
  vaultCidrs: ["10.40.2.0/28"],
  ingressClass: "nginx",
  ingressNamespace: "ingress-nginx",
  prometheusNamespace: "monitoring",
  apiServerCidrs: ["10.40.0.1/32"],
  cni: "cilium",
};

export function installMocks(): void {
  void pulumi.runtime.setMocks(
    {
      newResource(args) {
        recorded.push({ type: args.type, name: args.name, inputs: args.inputs });
        if (args.type === "pulumi:pulumi:StackReference") {
          return {
            id: args.name,
            state: { ...args.inputs, outputs: PLATFORM_OUTPUTS, secretOutputNames: ["kubeconfig"] },
          };
        }
        if (args.type === "random:index/randomPassword:RandomPassword") {
          return { id: args.name, state: { ...args.inputs, result: "generated-webhook-password-12345" } };
        }
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call(args) {
        if (args.token === "vault:kv/getSecretV2:getSecretV2") {
          return {
            ...args.inputs,
            data: { "client-secret": VAULT_CLIENT_SECRET, "oidc-client-secret": VAULT_OIDC_CLIENT_SECRET },
            dataJson: "{}",
          };
        }
        return args.inputs;
      },
    },
    "genesys-middleware-stack",
    "test",
    false,
  );
}

/** Reads a Pulumi.<stack>.yaml into the shape `pulumi.runtime.allConfig()` returns. */
export const stackConfig = stackFileConfig;

/** A self-signed CA, as a TLS-inspecting proxy presents; certificates are public. */
export const EXTRA_CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBqDCCAU2gAwIBAgIULTBuqvf0Kc3KjyqEZEDzby/NY7cwCgYIKoZIzj0EAwIw
KTEnMCUGA1UEAwweRXhhbXBsZSBDb3JwIFRMUyBJbnNwZWN0aW9uIENBMB4XDTI2
MTIwMTIzMDkzN1oXDTM2MTEyODIzMDkzN1owKTEnMCUGA1UEAwweRXhhbXBsZSBD
b3JwIFRMUyBJbnNwZWN0aW9uIENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
OxPaZP3WyCo9kbIJCtBddyzuxBdOR6dVf4XPYyDfg2t8Os5xBcmsMyIGDIjnil60
6gDXKMp8TB6zdMtDN4SG6KNTMFEwHQYDVR0OBBYEFMK5qptScHNGCNXrsIo7icha
X+WvMB8GA1UdIwQYMBaAFMK5qptScHNGCNXrsIo7ichaX+WvMA8GA1UdEwEB/wQF
MAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIhAJwPVWl+arZz2cAlA23zjU/vFECEjW9M
AJdzmiWnHJqBAiEA+YVwhqc8mxyTfWHvGN9UMm+9bZ3Cpcunh6V1OxvCHy0=
-----END CERTIFICATE-----
`;

/** Where the proxies of proxiedStackConfig answer. */
export const PROXY: Readonly<
  Record<"dev" | "prod", { readonly url: string; readonly cidrs: readonly string[]; readonly port: number }>
> = {
  dev: { url: "http://10.96.50.7:3128", cidrs: ["10.96.50.7/32"], port: 3128 },
  prod: { url: "http://proxy.corp.example.com:8080", cidrs: ["10.40.9.0/29"], port: 8080 },
};

/**
 * A stack's config behind a TLS-inspecting forward proxy: dev names it by IP literal (its /32 is
 * derived), prod by host name with proxyCidrs; both trust the proxy's CA.
 */
export function proxiedStackConfig(stack: "dev" | "prod"): Record<string, string> {
  return {
    ...stackConfig(stack),
    "genesys-middleware-stack:network": JSON.stringify({
      httpsProxy: PROXY[stack].url,
      ...(stack === "prod" ? { proxyCidrs: PROXY.prod.cidrs } : {}),
      noProxy: [".svc", ".cluster.local", "10.96.0.1"],
      caBundle: EXTRA_CA_PEM,
    }),
  };
}

export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}

/** Waits until no new resource has been registered for a few turns of the event loop. */
export async function settled(): Promise<void> {
  let last = -1;
  let quiet = 0;
  while (quiet < 5) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    if (recorded.length === last) quiet += 1;
    else {
      quiet = 0;
      last = recorded.length;
    }
  }
}

/** Pulumi's marker for a secret value in serialized properties (what the engine stores encrypted). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export function isSecretValue(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[SECRET_SIG] === SECRET_SIG_VALUE
  );
}

/** The value inside a secret wrapper (provider inputs hold nested objects as JSON text). */
export function unwrapSecret<T = unknown>(value: unknown): T {
  const inner = isSecretValue(value) ? (value as { value: unknown }).value : value;
  return (typeof inner === "string" && /^[{[]/.test(inner) ? JSON.parse(inner) : inner) as T;
}
