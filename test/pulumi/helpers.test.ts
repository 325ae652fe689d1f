import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { ciliumFqdnPolicySpec, egressPolicySpec, type EgressInputs } from "../../components/egress";
import { alertRules } from "../../components/monitoring";
import { localChartVersion, PINNED_CHART_VERSION } from "../../components/release";
import { vaultReadPolicy } from "../../components/secrets";
import { chartValues } from "../../components/values";
import { PROJECT, readStackSettings } from "../../stacks/settings";
import { CHART, helm, renderChart } from "../support/helm";
import { stackConfig, VAULT_OIDC_CLIENT_SECRET } from "../support/pulumi-mocks";

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered manifests and spec objects are checked field by field */

const NAMES = {
  release: "genesys-sync",
  secretName: "genesys-integration-secrets",
  claimName: "genesys-sync-data",
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
    expect(prod.secrets.vaultLogin).to.equal("jwt");
    expect(prod.image.digest).to.match(/^sha256:/);
    expect(prod.autoscaling.minReplicas).to.equal(3);
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
    const reasons = configProblems({
      ...stackConfig("dev"),
      [`${PROJECT}:console`]: JSON.stringify({
        enabled: true,
        issuerUrl: "http://idp.example.com",
        identityProviderCidrs: ["0.0.0.0/0"],
      }),
    }).map((error) => `${error.propertyPath}: ${error.reason}`);
    const text = reasons.join("\n");
    expect(text).to.contain("console: needs ingress.enabled");
    expect(text).to.contain("console.issuerUrl: is required");
    expect(text).to.contain("console.clientId: is required");
    expect(text).to.contain("console.allowedGroups: is required");
    expect(text).to.contain("opens egress to the whole internet");
  });

  it("refuses an unknown region, an http endpoint, a 20 % CPU target and a secret in plain config, all at once", () => {
    const config = {
      ...stackConfig("dev"),
      [`${PROJECT}:genesys`]: JSON.stringify({
        region: "eu-north-9",
        apiBaseUrl: "http://genesys-proxy.corp:8080",
        clientId: "abc",
        contactListId: "list",
        clientSecret: "do-not-put-me-here",
      }),
      [`${PROJECT}:autoscaling`]: JSON.stringify({ targetCpuPercent: 20 }),
      [`${PROJECT}:vaultToken`]: "hvs.plain-text-token",
    };
    const problems = configProblems(config);
    const byPath = Object.fromEntries(problems.map((problem) => [problem.propertyPath, problem.reason]));
    expect(byPath[`${PROJECT}:genesys.region`]).to.contain('unknown Genesys Cloud region "eu-north-9"');
    expect(byPath[`${PROJECT}:genesys.apiBaseUrl`]).to.contain("plain http");
    expect(byPath[`${PROJECT}:autoscaling.targetCpuPercent`]).to.contain("use 50-90");
    expect(byPath[`${PROJECT}:genesys.clientSecret`]).to.contain("secret in plain config");
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
    const config = {
      ...stackConfig("prod"),
      [`${PROJECT}:image`]: JSON.stringify({ tag: "0.1.0" }),
      [`${PROJECT}:secrets`]: JSON.stringify({ mode: "vault", vaultLogin: "token" }),
      [`${PROJECT}:autoscaling`]: JSON.stringify({ minReplicas: 1, maxReplicas: 4 }),
    };
    const paths = configProblems(config, [], "prod").map((problem) => problem.propertyPath);
    expect(paths).to.include.members([
      `${PROJECT}:image.digest`,
      `${PROJECT}:secrets.vaultLogin`,
      `${PROJECT}:autoscaling.minReplicas`,
    ]);
  });

  it("refuses out-of-range numbers and malformed lists instead of falling back to defaults", () => {
    const config = {
      ...stackConfig("dev"),
      [`${PROJECT}:genesys`]: JSON.stringify({
        region: "eu-west-1",
        clientId: "a",
        contactListId: "b",
        pollingIntervalSeconds: 5,
        tokenPoolSize: 500,
        rateLimitPerMinute: 0,
      }),
      [`${PROJECT}:import`]: JSON.stringify({ columns: "id,phone", phoneColumns: [1] }),
    };
    const paths = configProblems(config).map((problem) => problem.propertyPath);
    expect(paths).to.have.members([
      `${PROJECT}:genesys.pollingIntervalSeconds`,
      `${PROJECT}:genesys.tokenPoolSize`,
      `${PROJECT}:genesys.rateLimitPerMinute`,
      `${PROJECT}:import.columns`,
      `${PROJECT}:import.phoneColumns`,
    ]);
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
    nfsCidrs: fc.array(cidr, { maxLength: 2 }),
    vaultCidrs: fc.array(cidr, { maxLength: 2 }),
    apiServerCidrs: fc.array(cidr, { maxLength: 2 }),
    onPremises: fc.array(fc.record({ cidr, port: fc.integer({ min: 1, max: 65535 }) }), { maxLength: 4 }),
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

  it("names api., login. and streaming. of the region's domain for Cilium", () => {
    const spec = ciliumFqdnPolicySpec("euw2.pure.cloud", { app: "x" }) as any;
    expect(spec.egress[1].toFQDNs.map((entry: any) => entry.matchName)).to.deep.equal([
      "api.euw2.pure.cloud",
      "login.euw2.pure.cloud",
      "streaming.euw2.pure.cloud",
    ]);
  });
});

describe("chart values (components/values.ts) through the real helm", function () {
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
      expect(hpa.spec.minReplicas).to.equal(settings.autoscaling.minReplicas);
      const service = objects.find((object) => object.kind === "Service")!;
      expect(service.metadata.name).to.equal("genesys-sync");
      expect(objects.some((object) => object.kind === "Ingress")).to.equal(settings.ingress.enabled);
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

  it("scopes every alert to the namespace and only uses metrics the service exposes (or the export will)", () => {
    const exposed =
      /genesys_token_refreshes_total|genesys_rate_limited_total|genesys_requests_total|genesys_circuit_breaker_state|import_inbox_oldest_file_age_seconds|export_watermark_lag_seconds/;
    for (const rule of alertRules("genesys-sync")) {
      expect(rule.expr, rule.alert).to.contain('namespace="genesys-sync"');
      expect(rule.expr, rule.alert).to.match(exposed);
    }
  });
});
