import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { loadConfig } from "../../app/src/config";
import { find, renderChart } from "../support/helm";
import {
  EXTRA_CA_PEM,
  installMocks,
  isSecretValue,
  PLATFORM_OUTPUTS,
  promiseOf,
  PROXY,
  proxiedStackConfig,
  recorded,
  settled,
  stackConfig,
  unwrapSecret,
  VAULT_CLIENT_SECRET,
  VAULT_OIDC_CLIENT_SECRET,
  type RecordedResource,
} from "../support/pulumi-mocks";

import { GenesysMiddlewareStack } from "../../components/stack";
import { resolvePlatform } from "../../stacks/platform";
import { plan } from "../../stacks/plan";
import { readStackSettings } from "../../stacks/settings";

// Mocks before any resource exists (the program's modules create none when imported).
installMocks();

/* eslint-disable @typescript-eslint/no-explicit-any -- recorded mock inputs are checked field by field */

type Stack = GenesysMiddlewareStack;

/** prod logs in to Vault with the CI's OIDC token (vaultJwt), dev with the provider's own token. */
const credentials = (environment: "dev" | "prod") =>
  environment === "prod" ? { vaultJwt: pulumi.secret("ci-oidc-token") } : {};

type Environment = "dev" | "prod";

/**
 * Builds the dev and prod stacks from `configFor` under the mocks (in a `before` hook), and
 * returns lookups over the resources each registered.
 */
function stacksUnderMocks(configFor: (environment: Environment) => Record<string, string>, prefix = "") {
  const built: Record<Environment, { stack: Stack; resources: RecordedResource[] }> = {} as never;
  before(async () => {
    for (const environment of ["dev", "prod"] as const) {
      const start = recorded.length;
      const settings = readStackSettings(configFor(environment), new Set(), environment);
      const platform = await resolvePlatform(settings);
      const stack = new GenesysMiddlewareStack(`${prefix}${environment}`, {
        plan: plan(settings, platform, credentials(environment)),
      });
      await promiseOf(stack.metricsEndpoint);
      await settled();
      built[environment] = { stack, resources: recorded.slice(start) };
    }
  });
  const of = (environment: Environment, type: string) =>
    built[environment].resources.filter((resource) => resource.type === type);
  const one = (environment: Environment, type: string) => {
    const found = of(environment, type);
    if (found.length !== 1) throw new Error(`expected one ${type} in ${environment}, found ${found.length}`);
    return found[0]!.inputs as any;
  };
  return { built, of, one };
}

/**
 * The Pulumi program for the dev and the prod stack, in one process, under Pulumi's mocks: no
 * engine, provider plugin, cluster or Vault can run here. Settings come from the real
 * Pulumi.dev.yaml and Pulumi.prod.yaml through the same parser `pulumi up` uses.
 */
describe("Pulumi program under mocks (dev and prod)", function () {
  this.timeout(30_000);
  const { built, of, one } = stacksUnderMocks(stackConfig);
  const custom = (environment: "dev" | "prod", kind: string) =>
    built[environment].resources.filter(
      (resource) => resource.type.startsWith("kubernetes:") && resource.type.endsWith(`:${kind}`),
    );

  for (const environment of ["dev", "prod"] as const) {
    describe(environment, () => {
      it("creates the namespace labelled for the restricted Pod Security Standard", () => {
        const namespace = one(environment, "kubernetes:core/v1:Namespace");
        expect(namespace.metadata.labels).to.include({
          "pod-security.kubernetes.io/enforce": "restricted",
          "pod-security.kubernetes.io/warn": "restricted",
        });
        expect(namespace.metadata.name).to.equal(
          environment === "prod" ? "cc-genesys-sync" : "genesys-sync-dev",
        );
      });

      it("deploys app/chart with helm.v4.Chart, chart pinned, values without any secret", () => {
        const chart = one(environment, "kubernetes:helm.sh/v4:Chart");
        expect(chart.chart).to.match(/app\/chart$/);
        const values = JSON.stringify(chart.values);
        expect(values).not.to.contain(VAULT_CLIENT_SECRET);
        expect(values).not.to.contain("generated-webhook-password");
        expect(values).not.to.match(/"(client_?secret|password|token)"\s*:/i);
        expect(chart.values.existingSecret).to.deep.include({
          name: "genesys-integration-secrets",
          clientSecretKey: "client-secret",
        });
        expect(chart.values.persistence.existingClaim).to.equal("genesys-sync-data");
        expect(chart.values.autoscaling.targetCPUUtilizationPercentage).to.equal(70);
      });

      it("creates a ReadWriteMany claim bound to an NFS volume", () => {
        const claim = one(environment, "kubernetes:core/v1:PersistentVolumeClaim");
        expect(claim.spec.accessModes).to.deep.equal(["ReadWriteMany"]);
        const volume = one(environment, "kubernetes:core/v1:PersistentVolume");
        expect(volume.spec.accessModes).to.deep.equal(["ReadWriteMany"]);
        expect(volume.spec.persistentVolumeReclaimPolicy).to.equal("Retain");
        expect(volume.spec.nfs.server).to.equal(
          environment === "prod" ? PLATFORM_OUTPUTS.nfsServer : "10.96.100.10",
        );
        expect(claim.spec.volumeName).to.equal(volume.metadata.name);
      });

      it("creates the Secret the chart references from Vault, marked secret end to end", async () => {
        const secret = one(environment, "kubernetes:core/v1:Secret");
        expect(secret.metadata.name).to.equal("genesys-integration-secrets");
        expect(isSecretValue(secret.stringData), "stringData is stored as a secret").to.equal(true);
        const data = unwrapSecret<Record<string, string>>(secret.stringData);
        // prod runs the operator console: its OIDC client secret (from Vault) and a generated session secret.
        expect(Object.keys(data).sort()).to.deep.equal(
          environment === "prod"
            ? [
                "client-secret",
                "console-session-secret",
                "oidc-client-secret",
                "webhook-password",
                "webhook-username",
              ]
            : ["client-secret", "webhook-password", "webhook-username"],
        );
        if (environment === "prod") {
          expect(data["oidc-client-secret"]).to.equal(VAULT_OIDC_CLIENT_SECRET);
          const generated = of(environment, "random:index/randomPassword:RandomPassword").map(
            (resource) => (resource.inputs as any).length,
          );
          expect(generated, "a 48-character session secret is generated").to.include(48);
          expect(data["console-session-secret"]).to.be.a("string").and.not.equal("");
        }
        expect(data["client-secret"]).to.equal(VAULT_CLIENT_SECRET);
        expect(await pulumi.isSecret(built[environment].stack.webhookPassword!)).to.equal(true);
        const vaultSecret = built[environment].resources.find(
          (resource) => resource.type === "genesys:middleware:VaultSourcedSecret",
        );
        expect(vaultSecret).to.not.equal(undefined);
      });

      it("creates a read-only Vault policy on the path and a Kubernetes auth role bound to the service account", () => {
        const policy = one(environment, "vault:index/policy:Policy");
        expect(policy.policy).to.contain(`path "secret/data/genesys/${environment}/middleware"`);
        expect(policy.policy).to.contain('capabilities = ["read"]');
        expect(policy.policy).not.to.match(/"(create|update|delete|list|sudo)"/);
        const role = one(environment, "vault:kubernetes/authBackendRole:AuthBackendRole");
        expect(role.boundServiceAccountNames).to.deep.equal(["genesys-sync"]);
        expect(role.boundServiceAccountNamespaces).to.have.length(1);
      });

      it("limits traffic with a NetworkPolicy: no 0.0.0.0/0, no from in egress, every rule with to and ports", () => {
        const policy = one(environment, "kubernetes:networking.k8s.io/v1:NetworkPolicy");
        expect(policy.spec.policyTypes).to.deep.equal(["Ingress", "Egress"]);
        for (const rule of policy.spec.egress) {
          expect(rule).to.have.keys(["to", "ports"]);
          for (const peer of rule.to) expect(peer.ipBlock?.cidr).to.not.be.oneOf(["0.0.0.0/0", "::/0"]);
        }
        const ports = policy.spec.egress.flatMap((rule: any) => rule.ports.map((port: any) => port.port));
        expect(ports).to.include.members([53, 443, 2049]);
        expect(
          policy.spec.ingress[0].from.map(
            (peer: any) => peer.namespaceSelector.matchLabels["kubernetes.io/metadata.name"],
          ),
        ).to.deep.equal([environment === "prod" ? "ingress-nginx" : "ingress-nginx", "monitoring"]);
      });

      it("monitors the metrics port: ServiceMonitor selecting the chart's labels, PrometheusRule, Grafana dashboard", () => {
        const monitor = custom(environment, "ServiceMonitor")[0]!.inputs as any;
        expect(monitor.apiVersion).to.equal("monitoring.coreos.com/v1");
        expect(monitor.spec.selector.matchLabels).to.deep.equal({
          "app.kubernetes.io/name": "genesys-middleware-stack",
          "app.kubernetes.io/instance": "genesys-sync",
        });
        expect(monitor.spec.endpoints[0]).to.include({ port: "http", path: "/metrics" });
        const rules = (custom(environment, "PrometheusRule")[0]!.inputs as any).spec.groups[0].rules.map(
          (rule: any) => rule.alert,
        );
        expect(rules).to.include.members([
          "GenesysTokenRefreshFailing",
          "GenesysRateLimited",
          "GenesysCircuitBreakerOpen",
          "ImportContactListRefusing",
          "ImportVolumeFull",
          "ImportFilesFailing",
          "ImportInboxFileTooOld",
          "ExportPollLagging",
          "ExportListSnapshotFailing",
        ]);
        expect(rules, "snapshots are off in the committed stacks").to.not.include("ExportListSnapshotStale");
        const dashboard = of(environment, "kubernetes:core/v1:ConfigMap").find(
          (resource) => resource.inputs.metadata.labels?.grafana_dashboard === "1",
        );
        expect(dashboard).to.not.equal(undefined);
      });

      it("exports what other teams need", async () => {
        const stack = built[environment].stack;
        expect(stack.serviceName).to.equal("genesys-sync");
        expect(stack.secretName).to.equal("genesys-integration-secrets");
        expect(stack.claimName).to.equal("genesys-sync-data");
        expect(await promiseOf(stack.metricsEndpoint)).to.match(
          /^http:\/\/genesys-sync\..+\.svc\.cluster\.local:80\/metrics$/,
        );
        expect(stack.egressDestinations.genesysCidrs.length).to.be.greaterThan(0);
      });
    });
  }

  it("prod reads the platform stack through a StackReference; dev runs without one", () => {
    expect(of("prod", "pulumi:pulumi:StackReference")).to.have.length(1);
    expect(of("prod", "pulumi:pulumi:StackReference")[0]!.inputs.name).to.equal(
      "contact-centre/platform/prod",
    );
    expect(of("dev", "pulumi:pulumi:StackReference")).to.have.length(0);
    expect(of("prod", "pulumi:providers:kubernetes")).to.have.length(1);
    expect(of("dev", "pulumi:providers:kubernetes")).to.have.length(0);
  });

  it("prod logs in to Vault with JWT, dev with a token; the Cilium FQDN policy only where the platform runs Cilium", () => {
    const prodVault = one("prod", "pulumi:providers:vault");
    expect(isSecretValue(prodVault.authLoginJwt), "the JWT login stays secret").to.equal(true);
    expect(unwrapSecret(prodVault.authLoginJwt)).to.include({ role: "genesys-sync-deployer" });
    expect(prodVault.address).to.equal(PLATFORM_OUTPUTS.vaultAddress);
    expect(one("dev", "pulumi:providers:vault").authLoginJwt).to.equal(undefined);
    const cilium = custom("prod", "CiliumNetworkPolicy")[0]!.inputs as any;
    expect(cilium.spec.egress[1].toFQDNs).to.deep.equal([
      { matchName: "api.mypurecloud.ie" },
      { matchName: "login.mypurecloud.ie" },
      { matchName: "apps.mypurecloud.ie" },
      { matchName: "streaming.mypurecloud.ie" },
    ]);
    expect(custom("dev", "CiliumNetworkPolicy")).to.have.length(0);
  });

  it("exports where operators sign in when the console is on (prod), and nothing in dev", () => {
    expect(built.prod.stack.consoleUrl).to.equal("https://genesys-sync.contact-centre.example.com/console");
    expect(built.dev.stack.consoleUrl).to.equal(undefined);
  });

  it("prod's egress reaches the console's identity provider on 443, and nothing else new", () => {
    const policy = one("prod", "kubernetes:networking.k8s.io/v1:NetworkPolicy");
    const idp = policy.spec.egress.find((rule: any) =>
      rule.to.some((peer: any) => peer.ipBlock?.cidr === "192.0.2.64/28"),
    );
    expect(idp.ports).to.deep.equal([{ protocol: "TCP", port: 443 }]);
  });

  it("prod's egress reaches the NFS server, Vault and the API server the platform stack names", () => {
    const policy = one("prod", "kubernetes:networking.k8s.io/v1:NetworkPolicy");
    const cidrs = policy.spec.egress.flatMap((rule: any) =>
      rule.to.map((peer: any) => peer.ipBlock?.cidr).filter(Boolean),
    );
    expect(cidrs).to.include.members(["10.40.1.5/32", "10.40.2.0/28", "10.40.0.1/32", "10.40.0.0/28"]);
  });
});

/**
 * The Genesys Cloud hosts the service calls with a stack's chart values: the real chart renders
 * its ConfigMap and the service's own loader reads it, with what the pod adds (the Secret's keys,
 * its namespace, the cluster's API).
 */
function hostsTheServiceCalls(values: Record<string, unknown>): string[] {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "values-")), "values.yaml");
  writeFileSync(file, stringify(values));
  const { data } = find<{ data: Record<string, string> }>(
    renderChart({ files: [file] }).objects,
    "ConfigMap",
  );
  const { endpoints } = loadConfig({
    ...data,
    GENESYS_CLIENT_SECRET: "client-secret",
    OIDC_CLIENT_SECRET: "oidc-secret",
    CONSOLE_SESSION_SECRET: "s".repeat(32),
    POD_NAMESPACE: "cc-genesys-sync",
    KUBERNETES_SERVICE_HOST: "10.40.0.1",
  });
  return Object.entries(endpoints)
    .filter(([key]) => key.endsWith("BaseUrl"))
    .map(([, url]) => new URL(url as string).hostname);
}

/** A stack's config with `values.genesys` extended by `genesys`. */
function withGenesys(
  config: Record<string, string>,
  genesys: Record<string, string>,
): Record<string, string> {
  const values = JSON.parse(config["genesys-middleware-stack:values"]!) as { genesys: object };
  values.genesys = { ...values.genesys, ...genesys };
  return { ...config, "genesys-middleware-stack:values": JSON.stringify(values) };
}

describe("prod on Cilium: the FQDN policy lets the service reach every Genesys Cloud host it calls", function () {
  this.timeout(60_000);
  const variants: Array<{ name: string; genesys: Record<string, string>; expected: string[] }> = [
    {
      name: "the region's hosts (the committed prod stack)",
      genesys: {},
      expected: ["api.mypurecloud.ie", "login.mypurecloud.ie", "apps.mypurecloud.ie"],
    },
    {
      name: "a private API and login endpoint, which the uploads follow",
      genesys: {
        apiBaseUrl: "https://api.genesys.corp.example",
        loginBaseUrl: "https://login.genesys.corp.example",
      },
      expected: ["api.genesys.corp.example", "login.genesys.corp.example", "apps.genesys.corp.example"],
    },
    {
      name: "an overridden bulk upload host",
      genesys: { appsBaseUrl: "https://uploads.genesys.corp.example" },
      expected: ["api.mypurecloud.ie", "login.mypurecloud.ie", "uploads.genesys.corp.example"],
    },
  ];
  variants.forEach(({ name, genesys, expected }, index) =>
    describe(name, () => {
      const { one, built } = stacksUnderMocks(
        (environment) => withGenesys(stackConfig(environment), genesys),
        `hosts-${index}-`,
      );
      it("allows HTTPS to the host of each base URL the service resolves from the rendered ConfigMap", () => {
        const chart = one("prod", "kubernetes:helm.sh/v4:Chart");
        const calls = hostsTheServiceCalls(chart.values);
        expect(calls).to.deep.equal(expected);
        const cilium = built.prod.resources.filter((resource) =>
          resource.type.endsWith(":CiliumNetworkPolicy"),
        );
        expect(cilium).to.have.length(1);
        const toGenesys = (cilium[0]!.inputs as any).spec.egress.find((rule: any) => rule.toFQDNs);
        expect(toGenesys.toPorts).to.deep.equal([{ ports: [{ port: "443", protocol: "TCP" }] }]);
        const allowed = toGenesys.toFQDNs.map((entry: any) => entry.matchName);
        expect(allowed).to.include.members(calls);
        // The notification host of the region stays allowed, as before.
        expect(allowed).to.include("streaming.mypurecloud.ie");
      });
    }),
  );
});

describe("Pulumi program behind a TLS-inspecting forward proxy (dev and prod, under mocks)", function () {
  this.timeout(30_000);
  const { built, of, one } = stacksUnderMocks(proxiedStackConfig, "proxied-");
  const genesysRanges = (environment: "dev" | "prod") =>
    readStackSettings(stackConfig(environment), new Set(), environment).egress.genesysCidrs;

  for (const environment of ["dev", "prod"] as const) {
    describe(environment, () => {
      it("creates the CA bundle ConfigMap in the namespace and has the chart trust it", () => {
        const bundle = of(environment, "kubernetes:core/v1:ConfigMap").find(
          (resource) => resource.inputs.metadata.name === "genesys-sync-ca",
        );
        expect(bundle, "ConfigMap genesys-sync-ca").to.not.equal(undefined);
        expect(bundle!.inputs.data).to.deep.equal({ "ca.crt": EXTRA_CA_PEM });
        const namespace = one(environment, "kubernetes:core/v1:Namespace").metadata.name;
        expect(bundle!.inputs.metadata.namespace).to.equal(namespace);
        const values = one(environment, "kubernetes:helm.sh/v4:Chart").values;
        expect(values.extraCaCerts).to.deep.equal({ configMap: { name: "genesys-sync-ca", key: "ca.crt" } });
        expect(values.podAnnotations["checksum/extra-ca-certs"]).to.match(/^[a-f0-9]{64}$/);
      });

      it("passes the proxy and its exceptions to the chart", () => {
        const values = one(environment, "kubernetes:helm.sh/v4:Chart").values;
        expect(values.proxy).to.deep.equal({
          httpsProxy: PROXY[environment].url,
          noProxy: [".svc", ".cluster.local", "10.96.0.1"],
        });
      });

      it("allows the proxy on its port instead of the Genesys ranges, and nothing open", () => {
        const policy = one(environment, "kubernetes:networking.k8s.io/v1:NetworkPolicy");
        const toProxy = policy.spec.egress.filter((rule: any) =>
          rule.to.some((peer: any) => PROXY[environment].cidrs.includes(peer.ipBlock?.cidr)),
        );
        expect(toProxy).to.deep.equal([
          {
            to: PROXY[environment].cidrs.map((cidr) => ({ ipBlock: { cidr } })),
            ports: [{ protocol: "TCP", port: PROXY[environment].port }],
          },
        ]);
        const cidrs = policy.spec.egress.flatMap((rule: any) =>
          rule.to.map((peer: any) => peer.ipBlock?.cidr).filter(Boolean),
        );
        expect(genesysRanges(environment)).to.have.length.greaterThan(0);
        for (const range of [...genesysRanges(environment), "0.0.0.0/0", "::/0"])
          expect(cidrs).not.to.include(range);
      });

      it("exports the proxy among the egress destinations, and no Genesys ranges", () => {
        const destinations = built[environment].stack.egressDestinations;
        expect(destinations.proxy).to.deep.equal({
          cidrs: [...PROXY[environment].cidrs],
          port: PROXY[environment].port,
        });
        expect(destinations.genesysCidrs).to.deep.equal([]);
      });
    });
  }

  it("prod keeps egress to its identity provider and on-premises hosts, and drops the Cilium FQDN policy that would bypass the proxy", () => {
    const policy = one("prod", "kubernetes:networking.k8s.io/v1:NetworkPolicy");
    const cidrs = policy.spec.egress.flatMap((rule: any) =>
      rule.to.map((peer: any) => peer.ipBlock?.cidr).filter(Boolean),
    );
    expect(cidrs).to.include.members(["192.0.2.64/28", "10.40.0.0/28", "10.40.1.5/32"]);
    expect(
      built.prod.resources.filter((resource) => resource.type.endsWith(":CiliumNetworkPolicy")),
    ).to.have.length(0);
  });

  it("prod behind a proxy without Genesys ranges or Cilium deploys (the proxy is the only path out)", async () => {
    const config = proxiedStackConfig("prod");
    config["genesys-middleware-stack:egress"] = JSON.stringify({
      genesysCidrs: [],
      identityProviderCidrs: ["192.0.2.64/28"],
    });
    const settings = readStackSettings(config, new Set(), "prod");
    const platform = { ...(await resolvePlatform(settings)), cni: "calico" };
    const stack = new GenesysMiddlewareStack("proxied-prod-calico", {
      plan: plan(settings, platform, credentials("prod")),
    });
    await promiseOf(stack.metricsEndpoint);
    await settled();
    expect(stack.egressDestinations.proxy?.cidrs).to.deep.equal([...PROXY.prod.cidrs]);
  });

  it("without a proxy, prod without Genesys ranges on a CNI without FQDN rules is still refused, by the plan", async () => {
    const config = stackConfig("prod");
    config["genesys-middleware-stack:egress"] = JSON.stringify({
      genesysCidrs: [],
      identityProviderCidrs: ["192.0.2.64/28"],
    });
    const settings = readStackSettings(config, new Set(), "prod");
    const platform = { ...(await resolvePlatform(settings)), cni: "calico" };
    const error = (() => {
      try {
        plan(settings, platform, credentials("prod"));
      } catch (caught) {
        return caught as pulumi.InputPropertiesError;
      }
      throw new Error("expected the plan to fail");
    })();
    expect(error.errors.map((problem) => `${problem.propertyPath}: ${problem.reason}`)).to.deep.equal([
      "genesys-middleware-stack:egress.genesysCidrs: no Genesys Cloud IP ranges for eu-west-1: run `npm run ipranges:refresh` against your org, or list them in egress.genesysCidrs",
    ]);
  });
});
