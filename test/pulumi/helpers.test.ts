import { expect } from "chai";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { parse, stringify } from "yaml";
import { ciValuesPath, ciValuesText, REGENERATE } from "../../scripts/chart-ci-values";
import { chartValuesProblems } from "../../stacks/chart-schema";
import { ciliumFqdnPolicySpec, egressPolicySpec, type EgressInputs } from "../../components/egress";
import { egressDestinations } from "../../stacks/egress-destinations";
import { Registry } from "prom-client";
import { ExportMetrics, ListSnapshotMetrics } from "../../app/src/export/metrics";
import { GenesysMetrics } from "../../app/src/genesys/metrics";
import { ImportMetrics } from "../../app/src/import/metrics";
import { alertRules, type AlertRule } from "../../components/monitoring";
import { localChartVersion, PINNED_CHART_VERSION } from "../../stacks/chart";
import { vaultReadPolicy } from "../../components/secrets";
import { chartValues } from "../../stacks/chart-values";
import { genesysHostNames } from "../../app/src/shared/regions";
import { DEV_PLATFORM } from "../../stacks/platform";
import { PROJECT, readStackSettings } from "../../stacks/settings";
import { CHART, helm, renderChart } from "../support/helm";
import {
  EXTRA_CA_PEM,
  PROXY,
  proxiedStackConfig,
  stackConfig,
  VAULT_OIDC_CLIENT_SECRET,
} from "../support/pulumi-mocks";

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered manifests and spec objects are checked field by field */

const NAMES = {
  release: "genesys-sync",
  secretName: "genesys-integration-secrets",
  claimName: "genesys-sync-data",
  caConfigMapName: "genesys-sync-ca",
};

function configProblems(
  config: Record<string, string>,
  secretKeys: string[] = [],
  stack = "dev",
): Array<{ propertyPath: string; reason: string }> {
  try {
    readStackSettings(config, new Set(secretKeys), stack);
  } catch (error) {
    expect(pulumi.InputPropertiesError.isInstance(error), String(error)).to.equal(true);
    return (error as pulumi.InputPropertiesError).errors;
  }
  throw new Error("expected the config to be refused");
}

describe("stack settings (stacks/settings.ts)", () => {
  it("reads the committed dev and prod stack files", () => {
    const dev = readStackSettings(stackConfig("dev"), new Set(), "dev");
    const prod = readStackSettings(stackConfig("prod"), new Set(), "prod");
    expect(dev).to.deep.include({
      environment: "dev",
      namespace: "genesys-sync-dev",
      platformStack: undefined,
    });
    expect(prod.secrets).to.deep.include({
      mode: "vault",
      vaultLogin: "jwt",
      vaultJwtRole: "genesys-sync-deployer",
    });
    expect(prod.image.digest).to.match(/^sha256:/);
    expect(prod.values.autoscaling).to.deep.include({ minReplicas: 3, maxReplicas: 6 });
    expect(prod.genesys).to.deep.equal({
      region: "eu-west-1",
      hosts: [
        "api.mypurecloud.ie",
        "login.mypurecloud.ie",
        "apps.mypurecloud.ie",
        "streaming.mypurecloud.ie",
      ],
    });
    expect(prod.console).to.equal(true);
  });

  it("prod runs the console at https://<ingress host>/console, with egress to the identity provider", () => {
    const prod = readStackSettings(stackConfig("prod"), new Set(), "prod");
    const values = chartValues(prod, NAMES, "nginx") as any;
    expect(values.console).to.deep.include({
      enabled: true,
      publicUrl: "https://genesys-sync.contact-centre.example.com",
      allowedGroups: ["contact-centre-sync-operators"],
    });
    expect(JSON.stringify(values), "no secret in the values").not.to.contain(VAULT_OIDC_CLIENT_SECRET);
    const dev = readStackSettings(stackConfig("dev"), new Set(), "dev");
    expect((chartValues(dev, NAMES, "nginx") as any).console).to.deep.equal({ enabled: false });
  });

  it("refuses a console without ingress, provider, groups or egress to the provider", () => {
    const devValues = JSON.parse(stackConfig("dev")[`${PROJECT}:values`]!) as Record<string, unknown>;
    const reasons = configProblems({
      ...stackConfig("dev"),
      [`${PROJECT}:values`]: JSON.stringify({
        ...devValues,
        console: { enabled: true, issuerUrl: "http://idp.example.com" },
      }),
    }).map((error) => `${error.propertyPath}: ${error.reason}`);
    const text = reasons.join("\n");
    expect(text).to.contain(`${PROJECT}:values.console.enabled: needs ${PROJECT}:ingress enabled`);
    expect(text).to.contain("values.console.issuerUrl: must match ^(https://.+)?$");
    expect(text).to.contain("values.console.clientId: is required");
    expect(text).to.contain("values.console.allowedGroups: is required");
    expect(text).to.contain(`${PROJECT}:egress.identityProviderCidrs: is required with the console`);
    const open = configProblems({
      ...stackConfig("prod"),
      [`${PROJECT}:egress`]: JSON.stringify({ genesysCidrs: [], identityProviderCidrs: ["0.0.0.0/0"] }),
    });
    expect(open.map((error) => `${error.propertyPath}: ${error.reason}`).join("\n")).to.contain(
      `${PROJECT}:egress.identityProviderCidrs: 0.0.0.0/0 opens egress to the whole internet`,
    );
  });

  it("refuses the old service settings with where they moved", () => {
    const found = configProblems({
      ...stackConfig("dev"),
      [`${PROJECT}:genesys`]: JSON.stringify({ tokenPoolSize: 2 }),
      [`${PROJECT}:console`]: JSON.stringify({ enabled: false }),
    });
    const byPath = Object.fromEntries(found.map((problem) => [problem.propertyPath, problem.reason]));
    expect(byPath[`${PROJECT}:genesys`]).to.contain(`moved under ${PROJECT}:values.genesys`);
    expect(byPath[`${PROJECT}:console`]).to.contain(`${PROJECT}:egress.identityProviderCidrs`);
    expect(found).to.have.length(2);
  });

  it("refuses, in values, the keys the stack sets itself, naming the setting to use", () => {
    const devValues = JSON.parse(stackConfig("dev")[`${PROJECT}:values`]!) as Record<string, unknown>;
    const found = configProblems({
      ...stackConfig("dev"),
      [`${PROJECT}:values`]: JSON.stringify({
        ...devValues,
        image: { repository: "elsewhere/genesys-sync", tag: "0.2.0" },
        persistence: { existingClaim: "mine" },
        proxy: { httpsProxy: "http://10.0.0.1:3128" },
        console: { publicUrl: "https://elsewhere.example.com" },
      }),
    });
    const byPath = Object.fromEntries(found.map((problem) => [problem.propertyPath, problem.reason]));
    expect(byPath[`${PROJECT}:values.image`]).to.contain(`is set from ${PROJECT}:image`);
    expect(byPath[`${PROJECT}:values.persistence`]).to.contain(`${PROJECT}:storage`);
    expect(byPath[`${PROJECT}:values.proxy`]).to.contain(`${PROJECT}:network (httpsProxy, noProxy)`);
    expect(byPath[`${PROJECT}:values.console.publicUrl`]).to.contain(`${PROJECT}:ingress.host`);
    expect(found).to.have.length(4);
  });

  it("checks values against the chart's schema, naming the key and what it must be", () => {
    const found = configProblems({
      ...stackConfig("dev"),
      [`${PROJECT}:values`]: JSON.stringify({
        genesys: {
          region: "eu-west-1",
          clientId: "a",
          contactListId: "b",
          tokenPoolSize: 500,
          pollingInterval: 60,
        },
        auth: { tokenRefreshBufferSeconds: 5 },
        export: { enabled: "yes" },
        logLevel: "verbose",
        replicas: 3,
      }),
    });
    const byPath = Object.fromEntries(found.map((problem) => [problem.propertyPath, problem.reason]));
    expect(byPath[`${PROJECT}:values.genesys.tokenPoolSize`]).to.match(/^must be from 1 to 50\b/);
    expect(byPath[`${PROJECT}:values.genesys.pollingInterval`]).to.match(
      /^is not a key of the chart's values under genesys; known: region, .*pollingIntervalSeconds/,
    );
    expect(byPath[`${PROJECT}:values.auth.tokenRefreshBufferSeconds`]).to.match(/^must be from 30 to 3600\b/);
    expect(byPath[`${PROJECT}:values.export.enabled`]).to.match(/^must be true or false\b/);
    expect(byPath[`${PROJECT}:values.logLevel`]).to.contain("must be one of fatal, error, warn, info, debug");
    const unknown = byPath[`${PROJECT}:values.replicas`]!;
    expect(unknown).to.contain("is not a key of the chart's values; known:").and.to.contain("replicaCount");
    expect(unknown, "keys the stack sets are not offered").not.to.match(/\bimage\b|existingSecret/);
    expect(found).to.have.length(6);
  });

  it("refuses an unknown region, an http endpoint, a 20 % CPU target and a secret in plain config, all at once", () => {
    const config = {
      ...stackConfig("dev"),
      [`${PROJECT}:values`]: JSON.stringify({
        genesys: {
          region: "eu-north-9",
          apiBaseUrl: "http://genesys-proxy.corp:8080",
          clientId: "abc",
          contactListId: "list",
          clientSecret: "do-not-put-me-here",
        },
        autoscaling: { targetCPUUtilizationPercentage: 20 },
      }),
      [`${PROJECT}:vaultToken`]: "hvs.plain-text-token",
    };
    const problems = configProblems(config);
    const byPath = Object.fromEntries(problems.map((problem) => [problem.propertyPath, problem.reason]));
    expect(byPath[`${PROJECT}:values.genesys.region`]).to.contain(
      'unknown Genesys Cloud region "eu-north-9"',
    );
    // The chart's schema refuses plain http first (https only); its pattern names the fix.
    expect(byPath[`${PROJECT}:values.genesys.apiBaseUrl`]).to.contain("must match ^(https://.+)?$");
    expect(byPath[`${PROJECT}:values.autoscaling.targetCPUUtilizationPercentage`]).to.contain("50-90");
    expect(byPath[`${PROJECT}:values.genesys.clientSecret`]).to.contain("NO SECRETS IN VALUES");
    expect(byPath[`${PROJECT}:vaultToken`]).to.contain("pulumi config set --secret vaultToken");
    expect(problems).to.have.length(5);
    expect(JSON.stringify(problems)).not.to.contain("do-not-put-me-here");
    expect(JSON.stringify(problems)).not.to.contain("plain-text-token");
  });

  it("accepts the secret settings only when they are secret, and names typos with the known keys", () => {
    const config = {
      ...stackConfig("dev"),
      [`${PROJECT}:vaultToken`]: "[secret]",
      [`${PROJECT}:replicas`]: "3",
    };
    const problems = configProblems(config, [`${PROJECT}:vaultToken`]);
    expect(problems).to.have.length(1);
    expect(problems[0]!.propertyPath).to.equal(`${PROJECT}:replicas`);
    expect(problems[0]!.reason).to.contain("known settings: environment, namespace");
  });

  it("holds prod to prod rules: digest, jwt login, at least two replicas", () => {
    const prodValues = JSON.parse(stackConfig("prod")[`${PROJECT}:values`]!) as Record<string, unknown>;
    const config = {
      ...stackConfig("prod"),
      [`${PROJECT}:image`]: JSON.stringify({ tag: "0.1.0" }),
      [`${PROJECT}:secrets`]: JSON.stringify({ mode: "vault", vaultLogin: "token" }),
      [`${PROJECT}:values`]: JSON.stringify({
        ...prodValues,
        autoscaling: { minReplicas: 1, maxReplicas: 4 },
      }),
    };
    const problems = configProblems(config, [], "prod");
    expect(problems.map((problem) => problem.propertyPath)).to.have.members([
      `${PROJECT}:image.digest`,
      `${PROJECT}:secrets.vaultLogin`,
      `${PROJECT}:values.autoscaling.minReplicas`,
    ]);
  });

  it("refuses out-of-range numbers and malformed lists instead of falling back to defaults", () => {
    const config = {
      ...stackConfig("dev"),
      [`${PROJECT}:values`]: JSON.stringify({
        genesys: {
          region: "eu-west-1",
          clientId: "a",
          contactListId: "b",
          pollingIntervalSeconds: 2.5,
          tokenPoolSize: 500,
          rateLimitPerMinute: 0,
        },
        import: { columns: "id,phone", phoneColumns: [1] },
      }),
    };
    const paths = configProblems(config).map((problem) => problem.propertyPath);
    expect(paths).to.have.members([
      `${PROJECT}:values.genesys.pollingIntervalSeconds`,
      `${PROJECT}:values.genesys.tokenPoolSize`,
      `${PROJECT}:values.genesys.rateLimitPerMinute`,
      `${PROJECT}:values.import.columns`,
      `${PROJECT}:values.import.phoneColumns[0]`,
    ]);
  });

  describe("network: forward proxy and extra CAs", () => {
    const withNetwork = (network: Record<string, unknown>, stack: "dev" | "prod" = "dev") => ({
      ...stackConfig(stack),
      [`${PROJECT}:network`]: JSON.stringify(network),
    });

    it("reads a proxy named by host with its CIDRs, and derives host/32 from an IP literal", () => {
      const prod = readStackSettings(proxiedStackConfig("prod"), new Set(), "prod");
      expect(prod.network.proxy).to.deep.equal({
        url: PROXY.prod.url,
        port: 8080,
        cidrs: PROXY.prod.cidrs,
        noProxy: [".svc", ".cluster.local", "10.96.0.1"],
      });
      expect(prod.network.caBundle).to.equal(EXTRA_CA_PEM);
      const dev = readStackSettings(proxiedStackConfig("dev"), new Set(), "dev");
      expect(dev.network.proxy).to.deep.include({ port: 3128, cidrs: ["10.96.50.7/32"] });
      const https = readStackSettings(withNetwork({ httpsProxy: "https://[fd00::7]" }), new Set(), "dev");
      expect(https.network.proxy).to.deep.include({ port: 443, cidrs: ["fd00::7/128"] });
    });

    it("is off by default: no proxy, no CA, IfNotPresent", () => {
      const dev = readStackSettings(stackConfig("dev"), new Set(), "dev");
      expect(dev.network).to.deep.equal({ proxy: undefined, caBundle: undefined });
      expect(dev.image.pullPolicy).to.equal("IfNotPresent");
    });

    it("refuses credentials (without echoing them), other schemes, a host without proxyCidrs, open CIDRs and a non-PEM bundle, all at once", () => {
      const problems = configProblems({
        ...withNetwork({
          httpsProxy: "http://svc-sync:Hunter2pw@proxy.corp.example.com:3128",
          proxyCidrs: ["0.0.0.0/0", "proxy.corp"],
          caBundle: "MIIBqDCCAU2gAwIBAgIU",
        }),
        [`${PROJECT}:image`]: JSON.stringify({ tag: "0.1.0", pullPolicy: "Sometimes" }),
      });
      const text = problems.map((problem) => `${problem.propertyPath}: ${problem.reason}`).join("\n");
      expect(text).to.contain(`${PROJECT}:network.httpsProxy: carries credentials`);
      expect(text).to.contain(`${PROJECT}:network.proxyCidrs: 0.0.0.0/0 opens egress to the whole internet`);
      expect(text).to.contain(`${PROJECT}:network.proxyCidrs: "proxy.corp" is not a CIDR`);
      expect(text).to.contain(`${PROJECT}:network.caBundle: must be PEM text`);
      expect(text).to.contain(`${PROJECT}:image.pullPolicy: must be IfNotPresent, Always, Never`);
      expect(text).not.to.contain("Hunter2pw");
      expect(problems).to.have.length(5);

      const more = configProblems(
        withNetwork({
          httpsProxy: "socks5://proxy.corp.example.com:1080/x",
          caBundle: `${EXTRA_CA_PEM}-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n`,
        }),
      ).map((problem) => `${problem.propertyPath}: ${problem.reason}`);
      expect(more.join("\n"))
        .to.contain("network.httpsProxy: uses socks5")
        .and.to.contain("network.httpsProxy: has a path or query")
        .and.to.contain("network.caBundle: holds a private key");
    });

    it("requires proxyCidrs for a proxy named by host, and a proxy for noProxy or proxyCidrs", () => {
      expect(
        configProblems(withNetwork({ httpsProxy: "http://proxy.corp.example.com:3128" }))[0]!.reason,
      ).to.contain("is required with a proxy named by host (proxy.corp.example.com)");
      const orphan = configProblems(withNetwork({ noProxy: [".svc"], proxyCidrs: ["10.0.0.1/32"] }));
      expect(orphan.map((problem) => problem.propertyPath)).to.deep.equal([`${PROJECT}:network.httpsProxy`]);
      expect(
        configProblems(withNetwork({ httpsProxy: "http://10.0.0.1:3128", noProxy: ["a, b"] }))[0]!.reason,
      ).to.contain("no spaces or commas");
    });

    it("refuses an address range in noProxy, which the service would never match", () => {
      const found = configProblems(
        withNetwork({ httpsProxy: "http://10.0.0.1:3128", noProxy: ["10.0.0.0/8"] }),
      );
      expect(found.map((problem) => problem.propertyPath)).to.deep.equal([`${PROJECT}:network.noProxy`]);
      expect(found[0]!.reason).to.contain("is an address range, which the service never matches");
    });

    it("passes the proxy, the CA ConfigMap (with a checksum that rolls the pods) and the pull policy to the chart", () => {
      const config: Record<string, string> = {
        ...proxiedStackConfig("dev"),
        [`${PROJECT}:image`]: JSON.stringify({ tag: "0.1.0", pullPolicy: "Never" }),
      };
      const values = chartValues(readStackSettings(config, new Set(), "dev"), NAMES, "nginx") as any;
      expect(values.image.pullPolicy).to.equal("Never");
      expect(values.proxy).to.deep.equal({
        httpsProxy: PROXY.dev.url,
        noProxy: [".svc", ".cluster.local", "10.96.0.1"],
      });
      expect(values.extraCaCerts).to.deep.equal({ configMap: { name: "genesys-sync-ca", key: "ca.crt" } });
      const rotated = JSON.parse(config[`${PROJECT}:network`]!) as Record<string, unknown>;
      rotated.caBundle = `${EXTRA_CA_PEM}${EXTRA_CA_PEM}`;
      const after = chartValues(
        readStackSettings({ ...config, [`${PROJECT}:network`]: JSON.stringify(rotated) }, new Set(), "dev"),
        NAMES,
        "nginx",
      ) as any;
      expect(after.podAnnotations["checksum/extra-ca-certs"]).not.to.equal(
        values.podAnnotations["checksum/extra-ca-certs"],
      );
      const direct = chartValues(
        readStackSettings(stackConfig("dev"), new Set(), "dev"),
        NAMES,
        "nginx",
      ) as any;
      expect(direct).not.to.have.any.keys("proxy", "extraCaCerts", "podAnnotations");
    });
  });

  it("refuses 0.0.0.0/0 as a destination", () => {
    const config = {
      ...stackConfig("dev"),
      [`${PROJECT}:egress`]: JSON.stringify({ genesysCidrs: ["0.0.0.0/0"] }),
    };
    expect(configProblems(config)[0]!.reason).to.contain("opens egress to the whole internet");
  });
});

describe("egress rules (components/egress.ts)", () => {
  const cidr = fc.oneof(
    fc
      .tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255), fc.integer({ min: 0, max: 32 }))
      .map(([a, b, c, d, bits]) => `${a}.${b}.${c}.${d}/${bits}`),
    fc.constantFrom("0.0.0.0/0", "::/0", "2001:db8::/32"),
  );
  const inputs: fc.Arbitrary<EgressInputs> = fc.record({
    podLabels: fc.constant({ "app.kubernetes.io/name": "genesys-middleware-stack" }),
    genesysCidrs: fc.array(cidr, { maxLength: 6 }),
    downloadCidrs: fc.array(cidr, { maxLength: 2 }),
    nfsCidrs: fc.array(cidr, { maxLength: 2 }),
    vaultCidrs: fc.array(cidr, { maxLength: 2 }),
    apiServerCidrs: fc.array(cidr, { maxLength: 2 }),
    onPremises: fc.array(fc.record({ cidr, port: fc.integer({ min: 1, max: 65535 }) }), { maxLength: 4 }),
    proxy: fc.option(
      fc.record({ cidrs: fc.array(cidr, { maxLength: 3 }), port: fc.integer({ min: 1, max: 65535 }) }),
      { nil: undefined },
    ),
    ingressNamespace: fc.constant("ingress-nginx"),
    prometheusNamespace: fc.constant("monitoring"),
    servicePort: fc.constant(8080),
  });

  it("never opens 0.0.0.0/0 or ::/0, never puts from in an egress rule, and gives every rule to and ports (property)", () => {
    fc.assert(
      fc.property(inputs, (generated) => {
        const spec = egressPolicySpec(generated) as any;
        expect(spec.policyTypes).to.deep.equal(["Ingress", "Egress"]);
        for (const rule of spec.egress) {
          expect(rule).to.have.keys(["to", "ports"]);
          expect(rule.to.length).to.be.greaterThan(0);
          expect(rule.ports.length).to.be.greaterThan(0);
          for (const peer of rule.to) expect(peer.ipBlock?.cidr).to.not.be.oneOf(["0.0.0.0/0", "::/0"]);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("always allows DNS to the cluster DNS, and HTTPS to Genesys only on 443", () => {
    const spec = egressPolicySpec({
      podLabels: { app: "x" },
      genesysCidrs: ["198.51.100.0/24"],
      downloadCidrs: [],
      nfsCidrs: [],
      vaultCidrs: [],
      apiServerCidrs: [],
      onPremises: [],
      ingressNamespace: "ingress-nginx",
      prometheusNamespace: "monitoring",
      servicePort: 8080,
    }) as any;
    expect(spec.egress[0].ports).to.deep.equal([
      { protocol: "UDP", port: 53 },
      { protocol: "TCP", port: 53 },
    ]);
    expect(spec.egress[1]).to.deep.equal({
      to: [{ ipBlock: { cidr: "198.51.100.0/24" } }],
      ports: [{ protocol: "TCP", port: 443 }],
    });
  });

  it("behind a proxy, allows the proxy on its port instead of the Genesys ranges, and adds no NO_PROXY destination", () => {
    const proxied = egressDestinations(
      readStackSettings(proxiedStackConfig("dev"), new Set(), "dev"),
      DEV_PLATFORM,
      { app: "x" },
    );
    const direct = egressDestinations(readStackSettings(stackConfig("dev"), new Set(), "dev"), DEV_PLATFORM, {
      app: "x",
    });
    expect(direct.genesysCidrs).to.deep.equal(["203.0.113.0/24"]);
    expect(direct).not.to.have.property("proxy");
    expect(proxied.genesysCidrs).to.deep.equal([]);
    expect(proxied.proxy).to.deep.equal({ cidrs: ["10.96.50.7/32"], port: 3128 });
    const rules = (inputs: EgressInputs) =>
      (egressPolicySpec(inputs) as any).egress.map((rule: any) => JSON.stringify(rule)).sort();
    const toGenesys = JSON.stringify({
      to: [{ ipBlock: { cidr: "203.0.113.0/24" } }],
      ports: [{ protocol: "TCP", port: 443 }],
    });
    const toProxy = JSON.stringify({
      to: [{ ipBlock: { cidr: "10.96.50.7/32" } }],
      ports: [{ protocol: "TCP", port: 3128 }],
    });
    // Exactly one rule swapped: the proxy's for the Genesys ranges'; nothing else changes.
    expect(rules(proxied)).to.deep.equal(
      [...rules(direct).filter((rule: string) => rule !== toGenesys), toProxy].sort(),
    );
  });

  it("names every host of the region for Cilium: api., login., apps. and streaming.", () => {
    const spec = ciliumFqdnPolicySpec(genesysHostNames({ region: "eu-west-2" }), { app: "x" }) as any;
    expect(spec.egress[1].toFQDNs.map((entry: any) => entry.matchName)).to.deep.equal([
      "api.euw2.pure.cloud",
      "login.euw2.pure.cloud",
      "apps.euw2.pure.cloud",
      "streaming.euw2.pure.cloud",
    ]);
  });
});

describe("Genesys Cloud hosts (app/src/shared/regions.ts), as the stack reads them", () => {
  it("takes the hosts of the overridden base URLs, with the uploads following an overridden API", () => {
    expect(
      genesysHostNames({ region: "eu-west-1", apiBaseUrl: "https://api.genesys.corp.example/v2/" }),
    ).to.deep.equal([
      "api.genesys.corp.example",
      "login.mypurecloud.ie",
      "apps.genesys.corp.example",
      "streaming.mypurecloud.ie",
    ]);
    // Without a region there is no streaming host to name; one host serving everything is listed once.
    expect(
      genesysHostNames({
        apiBaseUrl: "https://genesys.corp.example",
        loginBaseUrl: "https://genesys.corp.example",
      }),
    ).to.deep.equal(["genesys.corp.example"]);
  });

  it("gives the stack the hosts of its values' region and overrides", () => {
    const config = stackConfig("prod");
    const values = JSON.parse(config[`${PROJECT}:values`]!) as { genesys: Record<string, unknown> };
    values.genesys.appsBaseUrl = "https://uploads.genesys.corp.example";
    const settings = readStackSettings(
      { ...config, [`${PROJECT}:values`]: JSON.stringify(values) },
      new Set(),
      "prod",
    );
    expect(settings.genesys.hosts).to.deep.equal([
      "api.mypurecloud.ie",
      "login.mypurecloud.ie",
      "uploads.genesys.corp.example",
      "streaming.mypurecloud.ie",
    ]);
  });
});

describe("chart values (stacks/chart-values.ts) through the real helm", function () {
  this.timeout(60_000);
  for (const environment of ["dev", "prod"] as const) {
    it(`${environment}: lint --strict passes, the render has no secret and the stack's settings`, () => {
      const settings = readStackSettings(stackConfig(environment), new Set(), environment);
      const values = chartValues(settings, NAMES, "nginx");
      const file = path.join(mkdtempSync(path.join(tmpdir(), "values-")), `${environment}.yaml`);
      writeFileSync(file, stringify(values));
      const lint = helm(["lint", "--strict", CHART, "-f", file]);
      expect(lint.status, lint.stdout + lint.stderr).to.equal(0);
      const { objects, text } = renderChart({ files: [file] });
      expect(text).not.to.match(/client[_-]?secret\s*:\s*[^\s{]/i);
      const hpa = objects.find((object) => object.kind === "HorizontalPodAutoscaler") as any;
      expect(hpa.spec.minReplicas).to.equal((settings.values.autoscaling as any).minReplicas);
      const service = objects.find((object) => object.kind === "Service")!;
      expect(service.metadata.name).to.equal("genesys-sync");
      expect(objects.some((object) => object.kind === "Ingress")).to.equal(settings.ingress.enabled);
    });
  }

  it("behind a proxy with a CA: lint passes, HTTPS_PROXY and NO_PROXY in the ConfigMap, the CA mounted for NODE_EXTRA_CA_CERTS", () => {
    const settings = readStackSettings(proxiedStackConfig("prod"), new Set(), "prod");
    const file = path.join(mkdtempSync(path.join(tmpdir(), "values-")), "proxied.yaml");
    writeFileSync(file, stringify(chartValues(settings, NAMES, "nginx")));
    const lint = helm(["lint", "--strict", CHART, "-f", file]);
    expect(lint.status, lint.stdout + lint.stderr).to.equal(0);
    const { objects } = renderChart({ files: [file] });
    const data = (objects.find((object) => object.kind === "ConfigMap") as any).data;
    expect(data).to.include({
      HTTPS_PROXY: PROXY.prod.url,
      NO_PROXY: ".svc,.cluster.local,10.96.0.1",
    });
    const pod = (objects.find((object) => object.kind === "Deployment") as any).spec.template.spec;
    expect(pod.volumes).to.deep.include({
      name: "extra-ca-certs",
      configMap: { name: "genesys-sync-ca", items: [{ key: "ca.crt", path: "ca.crt" }] },
    });
    expect(pod.containers[0].env).to.deep.include({
      name: "NODE_EXTRA_CA_CERTS",
      value: "/etc/genesys-sync/ca/ca.crt",
    });
  });

  for (const environment of ["dev", "prod"] as const) {
    it(`app/chart/ci/${environment}-values.yaml is what the program passes the chart for ${environment}, and valid under the schema`, () => {
      const committed = readFileSync(ciValuesPath(environment), "utf8");
      expect(committed, `stale: run \`${REGENERATE}\` and commit the result`).to.equal(
        ciValuesText(environment),
      );
      expect(chartValuesProblems(parse(committed))).to.deep.equal([]);
    });
  }

  it("pins the chart version the program was tested with", () => {
    expect(localChartVersion()).to.equal(PINNED_CHART_VERSION);
  });
});

describe("Vault policy and alerts", () => {
  it("grants read on the middleware's three paths and nothing else", () => {
    expect(vaultReadPolicy("secret", "genesys/prod/middleware")).to.equal(
      'path "secret/data/genesys/prod/middleware" {\n  capabilities = ["read"]\n}\npath "secret/data/genesys/prod/middleware-webhook" {\n  capabilities = ["read"]\n}\npath "secret/data/genesys/prod/middleware-console" {\n  capabilities = ["read"]\n}\n',
    );
  });

  it("scopes every alert to the namespace and only uses metrics the service registers", () => {
    const registry = new Registry();
    new GenesysMetrics(registry);
    new ImportMetrics(registry);
    new ExportMetrics(
      registry,
      async () => undefined,
      () => 0,
    );
    new ListSnapshotMetrics(registry);
    const registered = new Set(registry.getMetricsAsArray().map((metric) => metric.name));
    const hourly = { schedule: { kind: "interval", seconds: 3600 }, readyTimeoutSeconds: 1800 } as const;
    for (const rule of alertRules("genesys-sync", { listSnapshots: hourly })) {
      expect(rule.expr, rule.alert).to.contain('namespace="genesys-sync"');
      const used = [...rule.expr.matchAll(/([a-z_]+)\{/g)].map((match) => match[1]!);
      expect(used, rule.alert).to.not.deep.equal([]);
      for (const name of used) expect(registered.has(name), `${rule.alert} uses ${name}`).to.equal(true);
    }
  });

  const alert = (rules: AlertRule[], name: string) => rules.find((rule) => rule.alert === name);

  it("words the refusing-list alert for a contact list and a DNC route's DNC list alike", () => {
    const refusing = alert(alertRules("genesys-sync"), "ImportContactListRefusing")!;
    expect(refusing.expr).to.contain("max by (route, contact_list) (import_target_blocked{");
    expect(refusing.annotations.summary).to.match(
      /^List \{\{ \$labels\.contact_list \}\} \(route \{\{ \$labels\.route \}\}/,
    );
    expect(refusing.annotations.summary).to.not.contain("Contact list");
    expect(refusing.annotations.runbook).to.contain("DNC");
  });

  it("alerts on a failed contact-list snapshot by route and outcome, whatever the schedule", () => {
    for (const rules of [
      alertRules("genesys-sync"),
      alertRules("genesys-sync", {
        listSnapshots: { schedule: { kind: "daily", atUtc: "02:30" }, readyTimeoutSeconds: 1800 },
      }),
    ]) {
      const failing = alert(rules, "ExportListSnapshotFailing")!;
      expect(failing.expr).to.equal(
        'sum by (route, outcome) (increase(export_list_snapshots_total{namespace="genesys-sync",outcome!="ok"}[1h])) > 0',
      );
      expect(failing.annotations.runbook).to.contain("EXPORT_LIST_SNAPSHOT_READY_TIMEOUT_SECONDS");
    }
  });

  it("alerts on a snapshot older than two periods of its schedule and the ready timeout, and not while snapshots are off", () => {
    const staleAfter = (schedule: Parameters<typeof alertRules>[1]) =>
      alert(alertRules("genesys-sync", schedule), "ExportListSnapshotStale")?.expr;
    expect(staleAfter({})).to.equal(undefined);
    expect(staleAfter({ listSnapshots: { schedule: { kind: "off" }, readyTimeoutSeconds: 1800 } })).to.equal(
      undefined,
    );
    expect(
      staleAfter({
        listSnapshots: { schedule: { kind: "interval", seconds: 21_600 }, readyTimeoutSeconds: 1800 },
      }),
    ).to.equal(
      'time() - max by (route) (export_list_snapshot_last_success_timestamp_seconds{namespace="genesys-sync"}) > 45000',
    );
    expect(
      staleAfter({
        listSnapshots: { schedule: { kind: "daily", atUtc: "02:30" }, readyTimeoutSeconds: 600 },
      }),
    ).to.match(/ > 173400$/);
  });
});
