import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { GenesysMiddlewareStack } from "../../components/stack";
import { parseManifests } from "../../policies/check";
import { evaluate, type PackConfig } from "../../policies/engine";
import type { K8sObject } from "../../policies/lib";
import { inputFromStack } from "../../policies/pulumi-adapter";
import { resolvePlatform } from "../../stacks/platform";
import { plan } from "../../stacks/plan";
import { readStackSettings } from "../../stacks/settings";
import { CHART, helm } from "../support/helm";
import {
  installMocks,
  promiseOf,
  proxiedStackConfig,
  recorded,
  settled,
  stackConfig,
} from "../support/pulumi-mocks";
import devPack from "../../policies/config/dev.json";
import prodPack from "../../policies/config/prod.json";

// The Pulumi program runs under Pulumi's mocks (no engine, provider, cluster or Vault here);
// the chart it deploys is rendered by the real helm with the values the program passes.
installMocks();

describe("the policy pack on the whole deployment (Pulumi resources under mocks + the chart rendered by helm)", function () {
  this.timeout(60_000);

  for (const [environment, pack, proxied] of [
    ["dev", devPack, false],
    ["prod", prodPack, false],
    // Behind a TLS-inspecting proxy: egress to the proxy instead of the Genesys ranges, a CA ConfigMap.
    ["dev", devPack, true],
    ["prod", prodPack, true],
  ] as const) {
    const label = proxied ? `${environment} behind a forward proxy` : environment;
    it(`${label}: zero violations with the ${environment} policy config set to mandatory`, async () => {
      const config = proxied ? proxiedStackConfig(environment) : stackConfig(environment);
      const settings = readStackSettings(config, new Set(), environment);
      const platform = await resolvePlatform(settings);
      const start = recorded.length;
      const stack = new GenesysMiddlewareStack(`policy-${proxied ? "proxied-" : ""}${environment}`, {
        plan: plan(settings, platform, environment === "prod" ? { vaultJwt: pulumi.secret("jwt") } : {}),
      });
      await promiseOf(stack.metricsEndpoint);
      await settled();
      const resources = recorded.slice(start).map((resource) => ({
        type: resource.type,
        urn: `urn:pulumi:test::genesys::${resource.type}::${resource.name}`,
        props: resource.inputs,
      }));
      const { input } = inputFromStack(resources);
      expect(input.charts).to.have.length(1);

      // The objects the Chart resource renders in a real preview: helm template with its values.
      const chart = resources.find((resource) => resource.type === "kubernetes:helm.sh/v4:Chart")!.props;
      const valuesFile = path.join(mkdtempSync(path.join(tmpdir(), "policy-values-")), "values.yaml");
      writeFileSync(valuesFile, stringify(chart.values));
      const namespace = await promiseOf(stack.namespace);
      const rendered = helm([
        "template",
        chart.name,
        CHART,
        "--namespace",
        namespace,
        "--kube-version",
        "1.31.0",
        "-f",
        valuesFile,
      ]);
      expect(rendered.status, rendered.stderr).to.equal(0);
      const chartObjects: K8sObject[] = parseManifests(rendered.stdout, "helm template");
      expect(chartObjects.map((object) => object.kind)).to.include("Deployment");
      if (proxied) {
        const egress = input.objects.find((object) => object.kind === "NetworkPolicy")!.spec.egress as Array<{
          ports: Array<{ port: number }>;
        }>;
        expect(egress.flatMap((rule) => rule.ports.map((port) => port.port))).to.include(
          environment === "prod" ? 8080 : 3128,
        );
      }

      const strict: PackConfig = { ...(pack as PackConfig), all: "mandatory" };
      const findings = evaluate(
        { objects: [...input.objects, ...chartObjects], charts: input.charts },
        strict,
      );
      expect(
        findings.map((finding) => `${finding.policy}: ${finding.kind} ${finding.name}: ${finding.message}`),
      ).to.deep.equal([]);
    });
  }

  it("the chart alone lacks exactly the two objects the Pulumi program owns, and says who provides them", () => {
    const rendered = helm([
      "template",
      "genesys-sync",
      CHART,
      "--namespace",
      "ns",
      "--kube-version",
      "1.31.0",
      "-f",
      path.join(CHART, "ci/prod-values.yaml"),
    ]);
    const findings = evaluate(
      { objects: parseManifests(rendered.stdout, "helm"), charts: [] },
      prodPack as PackConfig,
    );
    expect(findings.map((finding) => finding.policy).sort()).to.deep.equal([
      "network-policy-required",
      "servicemonitor-required",
    ]);
    expect(findings.map((finding) => finding.message).join("\n")).to.contain(
      "the Pulumi program's EgressPolicy",
    );
  });
});
