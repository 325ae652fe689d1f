import * as pulumi from "@pulumi/pulumi";
import { routeSetProblems } from "../app/src/shared/routes";
import { chartPathOf, chartValueAt } from "../app/src/shared/settings";
import { directDownloadHosts, egressDestinations, type EgressInputs } from "./egress-destinations";
import { localChartVersion, PINNED_CHART_VERSION } from "./chart";
import { chartValues, podLabels, RELEASE_NAMES, type ReleaseNames } from "./chart-values";
import { chartValuesProblems } from "./chart-schema";
import type { PlatformInfo } from "./platform";
import { importRoutes, type ImportRoute } from "./import-routes";
import { orgLimitFindings } from "./org-rate-limit";
import { listProblems, PROJECT, type StackSettings } from "./settings";

/** The Vault credential of the stack's login, from secret config (index.ts reads it). */
export interface VaultCredentials {
  /** The CI's OIDC token for the jwt login (`pulumi config set --secret vaultJwt`). */
  readonly vaultJwt?: pulumi.Input<string>;
  /** A token for the token login; default: the provider's own (VAULT_TOKEN, `vault:token`). */
  readonly vaultToken?: pulumi.Input<string>;
}

/** How the Vault provider logs in. */
export type VaultProviderLogin =
  | { readonly method: "token"; readonly token: pulumi.Input<string> | undefined }
  | { readonly method: "jwt"; readonly role: string; readonly jwt: pulumi.Input<string> };

/** Where the shared volume comes from, with the platform's NFS export resolved. */
export type StoragePlan =
  | { readonly mode: "nfs"; readonly size: string; readonly nfsServer: string; readonly nfsPath: string }
  | { readonly mode: "storageClass"; readonly size: string; readonly storageClassName: string };

/** Where the Secret comes from: Vault through Pulumi, or the External Secrets Operator. */
export type SecretsPlan =
  | {
      readonly mode: "vault";
      readonly address: string;
      readonly login: VaultProviderLogin;
      readonly kvMount: string;
      readonly kvPath: string;
      readonly kubernetesAuthMount: string;
      /** Name of the Vault policy and of the Kubernetes auth role. */
      readonly roleName: string;
    }
  | { readonly mode: "externalSecret"; readonly kvPath: string; readonly secretStore: string };

/** Everything the stack will build, decided before any resource exists. */
export interface DeploymentPlan {
  readonly environment: StackSettings["environment"];
  readonly names: ReleaseNames;
  /** The namespace, with the platform's prefix. */
  readonly namespaceName: string;
  /** Kubernetes provider's cluster; undefined: the ambient kubeconfig (dev). */
  readonly kubeconfig: pulumi.Output<string> | undefined;
  readonly storage: StoragePlan;
  readonly secrets: SecretsPlan;
  /** The console is on: its secrets exist. */
  readonly console: boolean;
  /** PEM of the extra CAs for the ConfigMap; undefined: none. */
  readonly caBundle: string | undefined;
  readonly egress: EgressInputs;
  /** Also a CiliumNetworkPolicy allowing these Genesys Cloud hosts by name; undefined: none. */
  readonly ciliumHosts: readonly string[] | undefined;
  /** The chart's values, valid under its schema. */
  readonly values: Record<string, unknown>;
  readonly monitoring: StackSettings["monitoring"];
  /** The contact-list snapshots' schedule: the monitoring alerts when a route's newest is older than it allows. */
  readonly listSnapshots: StackSettings["listSnapshots"];
  readonly webhookUrl: string | undefined;
  readonly consoleUrl: string | undefined;
  /** The default route and the declared ones, with their folders: the `importRoutes` output. */
  readonly importRoutes: readonly ImportRoute[];
  /** Soft problems, for `pulumi.log.warn`. */
  readonly warnings: readonly string[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Decides everything that can fail, from the validated settings and the platform's outputs, and
 * returns what to build: a bad stack fails here, with every problem at once, and registers no
 * resource. Pure but for the chart version, read from app/chart/Chart.yaml by default.
 */
export function plan(
  settings: StackSettings,
  platform: PlatformInfo,
  credentials: VaultCredentials = {},
  chartVersion: string = localChartVersion(),
): DeploymentPlan {
  const found: Findings = { errors: [], warnings: [] };
  const names = RELEASE_NAMES;
  checkChartVersion(chartVersion, found);
  const namespaceName = checkedNamespace(settings, platform, found);
  const egress = egressDestinations(settings, platform, podLabels(names));
  checkGenesysRanges(settings, platform, egress, found);
  checkDownloadEgress(settings, platform, egress, found);
  const secrets = secretsPlan(settings, platform, credentials, found);
  const orgLimit = orgLimitFindings(settings);
  if (orgLimit.error) found.errors.push(orgLimit.error);
  if (orgLimit.warning) found.warnings.push(orgLimit.warning);
  const routesRefused = checkRoutes(settings, found);
  // What helm would refuse when the Chart resource renders, after everything else exists.
  const values = chartValues(settings, names, platform.ingressClass);
  for (const problem of chartValuesProblems(values)) {
    // The schema restates, in its own words, what checkRoutes has said of the routes.
    if (routesRefused && /^routes\b/.test(problem.key)) continue;
    found.errors.push({ propertyPath: `${PROJECT}:values.${problem.key}`, reason: problem.reason });
  }

  const { errors } = found;
  if (errors.length > 0)
    throw new pulumi.InputPropertiesError({
      message: `The ${settings.environment} stack cannot be deployed (${errors.length} problem${errors.length === 1 ? "" : "s"}); nothing was created:\n${listProblems(errors)}`,
      errors,
    });

  const { ingress } = settings;
  return {
    environment: settings.environment,
    names,
    namespaceName,
    kubeconfig: platform.kubeconfig,
    storage:
      settings.storage.mode === "nfs"
        ? { ...settings.storage, nfsServer: platform.nfsServer, nfsPath: platform.nfsPath }
        : settings.storage,
    secrets,
    console: settings.console,
    caBundle: settings.network.caBundle,
    egress,
    // FQDN rules would open direct HTTPS to Genesys Cloud, around the proxy.
    ciliumHosts:
      platform.cni === "cilium" && settings.network.proxy === undefined ? ciliumHosts(settings) : undefined,
    values,
    monitoring: settings.monitoring,
    listSnapshots: settings.listSnapshots,
    webhookUrl: ingress.enabled ? `https://${ingress.host}/webhooks/genesys` : undefined,
    consoleUrl: settings.console && ingress.enabled ? `https://${ingress.host}/console` : undefined,
    importRoutes: importRoutes(settings.routes, defaultContactList(values)),
    warnings: found.warnings,
  };
}

/** What plan() found: errors stop it before any resource exists, warnings go to the stack's outputs. */
interface Findings {
  readonly errors: Array<{ propertyPath: string; reason: string }>;
  readonly warnings: string[];
}

function checkChartVersion(chartVersion: string, found: Findings): void {
  if (chartVersion !== PINNED_CHART_VERSION)
    found.errors.push({
      propertyPath: "app/chart/Chart.yaml:version",
      reason: `is ${chartVersion}, but this program pins ${PINNED_CHART_VERSION}: test the new chart and update PINNED_CHART_VERSION in stacks/chart.ts`,
    });
}

/**
 * The declared routes, in the words of the service and the chart (routeSetProblems): a route
 * without a list or with both, a name used twice or reserved, and in prod a route that clears its
 * list without allowClearInProduction. Returns whether any was refused.
 */
function checkRoutes(settings: StackSettings, found: Findings): boolean {
  const problems = routeSetProblems(settings.routes, {
    production: settings.environment === "prod",
    clearAllowedInProduction: settings.allowClearInProduction,
    where: "routes",
  });
  for (const reason of problems) found.errors.push({ propertyPath: `${PROJECT}:routes`, reason });
  return problems.length > 0;
}

/** The default route's list (GENESYS_CONTACT_LIST_ID), as the release gets it. */
function defaultContactList(values: Record<string, unknown>): string | undefined {
  const id = chartValueAt(values, chartPathOf("GENESYS_CONTACT_LIST_ID"));
  return typeof id === "string" && id !== "" ? id : undefined;
}

/** The namespace with the platform's prefix, which must be a DNS label. */
function checkedNamespace(settings: StackSettings, platform: PlatformInfo, found: Findings): string {
  const namespaceName = `${platform.namespacePrefix}${settings.namespace}`;
  if (!DNS_LABEL.test(namespaceName) || namespaceName.length > 63)
    found.errors.push({
      propertyPath: `${PROJECT}:namespace`,
      reason: `makes the namespace "${namespaceName}" (with the platform's prefix "${platform.namespacePrefix}"), which is not a DNS label: lower-case letters, digits and '-', at most 63 characters`,
    });
  return namespaceName;
}

/** Without Genesys ranges nothing but Cilium's FQDN rules lets HTTPS out: refused in prod elsewhere. */
function checkGenesysRanges(
  settings: StackSettings,
  platform: PlatformInfo,
  egress: EgressInputs,
  found: Findings,
): void {
  // Behind a proxy there are no Genesys ranges to allow: the proxy is the only path out.
  if (egress.genesysCidrs.length > 0 || settings.network.proxy !== undefined) return;
  const reason = `no Genesys Cloud IP ranges for ${settings.genesys.region}: run \`npm run ipranges:refresh\` against your org, or list them in egress.genesysCidrs`;
  if (settings.environment === "prod" && platform.cni !== "cilium")
    found.errors.push({ propertyPath: `${PROJECT}:egress.genesysCidrs`, reason });
  else
    found.warnings.push(
      `${reason}; until then only ${platform.cni === "cilium" ? "the Cilium FQDN rules allow" : "nothing allows"} HTTPS to Genesys Cloud`,
    );
}

/** The hosts a Cilium FQDN rule allows: Genesys Cloud's, and the download hosts while snapshots are on. */
function ciliumHosts(settings: StackSettings): readonly string[] {
  const downloads =
    settings.listSnapshots.schedule.kind === "off" ? [] : settings.listSnapshots.downloadHosts;
  return [...new Set([...settings.genesys.hosts, ...downloads])];
}

const SNAPSHOT_VALUES = "values.export.listSnapshotIntervalSeconds or listSnapshotDailyAt";

/**
 * Contact-list snapshots download from a host that is not an API host (api-downloads.<domain>):
 * while they are on and go direct, something must let HTTPS reach it (egress.downloadCidrs, or
 * Cilium's FQDN rules without a proxy); refused in prod, a warning in dev. While they are off,
 * egress.downloadCidrs opens nothing, and saying so beats a silent no-op.
 */
function checkDownloadEgress(
  settings: StackSettings,
  platform: PlatformInfo,
  egress: EgressInputs,
  found: Findings,
): void {
  const { listSnapshots, network } = settings;
  if (listSnapshots.schedule.kind === "off") {
    if (settings.egress.downloadCidrs.length > 0)
      found.warnings.push(
        `egress.downloadCidrs allows nothing while contact-list snapshots are off (${SNAPSHOT_VALUES}): remove it, or turn the snapshots on`,
      );
    return;
  }
  const direct = directDownloadHosts(settings);
  const fqdn = platform.cni === "cilium" && network.proxy === undefined;
  if (direct.length === 0 || egress.downloadCidrs.length > 0 || fqdn) return;
  const reason = `contact-list snapshots are on (${SNAPSHOT_VALUES}) and download from ${direct.join(", ")}${network.proxy ? " directly (network.noProxy)" : ""}, which no egress rule allows: list where it answers in egress.downloadCidrs (HTTPS 443), send the downloads through network.httpsProxy${network.proxy ? " (take the host out of network.noProxy)" : ""}, or run on Cilium (FQDN rules)`;
  if (settings.environment === "prod")
    found.errors.push({ propertyPath: `${PROJECT}:egress.downloadCidrs`, reason });
  else found.warnings.push(reason);
}

/** Where the Secret comes from: the External Secrets Operator, or Vault with the pipeline's login. */
function secretsPlan(
  settings: StackSettings,
  platform: PlatformInfo,
  credentials: VaultCredentials,
  found: Findings,
): SecretsPlan {
  if (settings.secrets.mode === "externalSecret") return settings.secrets;
  let login: VaultProviderLogin;
  if (settings.secrets.vaultLogin === "token") login = { method: "token", token: credentials.vaultToken };
  else {
    if (credentials.vaultJwt === undefined)
      found.errors.push({
        propertyPath: `${PROJECT}:vaultJwt`,
        reason:
          "is required for the jwt Vault login (secrets.vaultLogin): the pipeline sets the CI's OIDC token with `pulumi config set --secret vaultJwt <jwt>`",
      });
    login = { method: "jwt", role: settings.secrets.vaultJwtRole, jwt: credentials.vaultJwt ?? "" };
  }
  return {
    mode: "vault",
    address: platform.vaultAddress,
    login,
    kvMount: settings.secrets.kvMount,
    kvPath: settings.secrets.kvPath,
    kubernetesAuthMount: settings.secrets.kubernetesAuthMount,
    roleName: `genesys-sync-${settings.environment}`,
  };
}
