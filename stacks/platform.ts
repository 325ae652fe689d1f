import * as pulumi from "@pulumi/pulumi";
import type { StackSettings } from "./settings";

/** What the platform team's stack provides (or, in dev without one, the defaults below). */
export interface PlatformInfo {
  /** Cluster connection; a secret. Undefined: the ambient kubeconfig (dev). */
  readonly kubeconfig: pulumi.Output<string> | undefined;
  readonly namespacePrefix: string;
  readonly nfsServer: string;
  readonly nfsPath: string;
  readonly vaultAddress: string;
  readonly vaultCidrs: readonly string[];
  readonly ingressClass: string;
  readonly ingressNamespace: string;
  readonly prometheusNamespace: string;
  readonly apiServerCidrs: readonly string[];
  readonly cni: string;
}

/** Dev without a platform stack: a local cluster with an in-cluster NFS server and Vault. */
export const DEV_PLATFORM: Omit<PlatformInfo, "kubeconfig"> = {
  namespacePrefix: "",
  nfsServer: "10.96.100.10",
  nfsPath: "/exports/genesys-sync",
  vaultAddress: "http://vault.vault.svc:8200",
  vaultCidrs: ["10.96.100.20/32"],
  ingressClass: "nginx",
  ingressNamespace: "ingress-nginx",
  prometheusNamespace: "monitoring",
  apiServerCidrs: ["10.96.0.1/32"],
  cni: "calico",
};

const REQUIRED = [
  "nfsServer",
  "nfsPath",
  "vaultAddress",
  "ingressClass",
  "ingressNamespace",
  "prometheusNamespace",
  "cni",
] as const;

/**
 * Reads the platform stack's outputs through a StackReference, or falls back to DEV_PLATFORM in
 * dev. Prod must name a platform stack; a missing output is reported with the key the platform
 * team must export.
 */
export async function resolvePlatform(settings: StackSettings): Promise<PlatformInfo> {
  if (settings.platformStack === undefined) {
    if (settings.environment === "prod") {
      throw new pulumi.InputPropertyError({
        propertyPath: "genesys-middleware-stack:platformStack",
        reason:
          "is required in prod: the platform team's stack (org/project/stack) that exports the cluster, NFS, Vault and ingress settings",
      });
    }
    pulumi.log.info(
      "no platformStack configured: using the dev platform defaults (local cluster, in-cluster NFS and Vault)",
    );
    return { kubeconfig: undefined, ...DEV_PLATFORM };
  }
  const reference = new pulumi.StackReference("platform", { name: settings.platformStack });
  const read = async (key: string) => (await reference.getOutputDetails(key)).value as unknown;
  const values: Record<string, unknown> = {};
  for (const key of [...REQUIRED, "namespacePrefix", "vaultCidrs", "apiServerCidrs"])
    values[key] = await read(key);
  const missing = REQUIRED.filter((key) => typeof values[key] !== "string" || values[key] === "");
  if (missing.length > 0) {
    throw new pulumi.InputPropertiesError({
      message: `The platform stack ${settings.platformStack} does not export what this stack needs`,
      errors: missing.map((key) => ({
        propertyPath: `${settings.platformStack}:${key}`,
        reason: "must be exported by the platform stack",
      })),
    });
  }
  const list = (value: unknown) =>
    Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
  return {
    kubeconfig: pulumi.secret(reference.getOutput("kubeconfig")) as pulumi.Output<string>,
    namespacePrefix: typeof values.namespacePrefix === "string" ? values.namespacePrefix : "",
    nfsServer: values.nfsServer as string,
    nfsPath: values.nfsPath as string,
    vaultAddress: values.vaultAddress as string,
    vaultCidrs: list(values.vaultCidrs),
    ingressClass: values.ingressClass as string,
    ingressNamespace: values.ingressNamespace as string,
    prometheusNamespace: values.prometheusNamespace as string,
    apiServerCidrs: list(values.apiServerCidrs),
    cni: values.cni as string,
  };
}
