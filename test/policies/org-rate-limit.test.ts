import { expect } from "chai";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { GenesysMiddlewareStack } from "../../components/stack";
import { parseManifests } from "../../policies/check";
import { evaluate, type PackConfig } from "../../policies/engine";
import { inputFromStack } from "../../policies/pulumi-adapter";
import { withOrgLimit } from "../../stacks/org-rate-limit";
import { resolvePlatform } from "../../stacks/platform";
import { plan } from "../../stacks/plan";
import { PROJECT, readStackSettings } from "../../stacks/settings";
import { CHART, helm, KUBE_VERSION } from "../support/helm";
import { installMocks, promiseOf, recorded, settled, stackConfig } from "../support/pulumi-mocks";

installMocks();

const ROOT = path.resolve(__dirname, "../..");
const packFile = (environment: "dev" | "prod") =>
  JSON.parse(
    readFileSync(path.join(ROOT, "policies", "config", `${environment}.json`), "utf8"),
  ) as PackConfig;
const jwt = { vaultJwt: pulumi.secret("jwt") };

/** The prod stack with `orgRequestsPerMinute` set to `limit`, built under the mocks; its plan and hpa-sane's findings. */
async function prodStackAgainst(limit: number) {
  const settings = readStackSettings(
    { ...stackConfig("prod"), [`${PROJECT}:orgRequestsPerMinute`]: String(limit) },
    new Set(),
    "prod",
  );
  const deployment = plan(settings, await resolvePlatform(settings), jwt);
  const start = recorded.length;
  const stack = new GenesysMiddlewareStack(`org-limit-${limit}`, { plan: deployment });
  await promiseOf(stack.metricsEndpoint);
  await settled();
  const resources = recorded.slice(start).map((resource) => ({
    type: resource.type,
    urn: `urn:pulumi:test::genesys::${resource.type}::${resource.name}`,
    props: resource.inputs,
  }));
  const { input } = inputFromStack(resources);
  // The HPA and the ConfigMap come from the chart: rendered by helm with the values the stack passes.
  const chart = resources.find((resource) => resource.type === "kubernetes:helm.sh/v4:Chart")!.props;
  const valuesFile = path.join(mkdtempSync(path.join(tmpdir(), "org-limit-values-")), "values.yaml");
  writeFileSync(valuesFile, stringify(chart.values));
  const rendered = helm([
    "template",
    chart.name,
    CHART,
    "--namespace",
    await promiseOf(stack.namespace),
    "--kube-version",
    KUBE_VERSION,
    "-f",
    valuesFile,
  ]);
  expect(rendered.status, rendered.stderr).to.equal(0);
  const objects = [...input.objects, ...parseManifests(rendered.stdout, "helm template")];
  const findings = evaluate(
    { objects, charts: input.charts },
    withOrgLimit(packFile("prod"), settings) as PackConfig,
  ).filter((finding) => finding.policy === "hpa-sane");
  return { deployment, findings };
}

describe("the organisation's rate limit, from the stack to hpa-sane (stacks/org-rate-limit.ts)", function () {
  this.timeout(60_000);

  it("hpa-sane fails a prod stack whose maxReplicas × token pool × per-token limit exceeds its orgRequestsPerMinute", async () => {
    // Pulumi.prod.yaml: at most 6 replicas × 2 tokens × 300 requests/min = 3,600/min.
    const { deployment, findings } = await prodStackAgainst(3000);
    const expected =
      "maxReplicas 6 × 2 token(s) per pod × 300 requests/min per token = 3600/min, above the organisation's limit of 3000/min";
    expect(findings.map((finding) => `${finding.kind} ${finding.enforcementLevel}`)).to.deep.equal([
      "HorizontalPodAutoscaler mandatory",
    ]);
    expect(findings[0]!.message).to.contain(expected).and.contain("Lower maxReplicas to 5");
    // plan() says the same, in the same words, before anything is created.
    expect(deployment.warnings.join("\n")).to.contain(expected);
  });

  it("within the limit, neither plan() nor hpa-sane says a word", async () => {
    const { deployment, findings } = await prodStackAgainst(3600);
    expect(findings).to.deep.equal([]);
    expect(deployment.warnings.join("\n")).not.to.contain("orgRequestsPerMinute");
  });

  it("prod must state the limit: plan() asks for orgRequestsPerMinute, with where to find it", async () => {
    const config = { ...stackConfig("prod") };
    delete config[`${PROJECT}:orgRequestsPerMinute`];
    const settings = readStackSettings(config, new Set(), "prod");
    const platform = await resolvePlatform(settings);
    let error: unknown;
    try {
      plan(settings, platform, jwt);
    } catch (caught) {
      error = caught;
    }
    expect(pulumi.InputPropertiesError.isInstance(error), String(error)).to.equal(true);
    const problems = (error as pulumi.InputPropertiesError).errors;
    expect(problems.map((problem) => problem.propertyPath)).to.deep.equal([
      `${PROJECT}:orgRequestsPerMinute`,
    ]);
    expect(problems[0]!.reason).to.contain("is required in prod").and.contain("/api/v2/organizations/limits");
    // dev may leave it unset.
    const dev = readStackSettings(stackConfig("dev"), new Set(), "dev");
    expect(dev.orgRequestsPerMinute).to.equal(undefined);
    expect(() => plan(dev, platform)).not.to.throw();
  });

  it("orgRequestsPerMinute is a whole number of at least 1", () => {
    for (const bad of ["0", "-5", "12.5", "lots"]) {
      expect(() =>
        readStackSettings(
          { ...stackConfig("prod"), [`${PROJECT}:orgRequestsPerMinute`]: bad },
          new Set(),
          "prod",
        ),
      )
        .to.throw(pulumi.InputPropertiesError)
        .with.property("message")
        .that.contains(`${PROJECT}:orgRequestsPerMinute: must be a whole number of requests a minute`);
    }
  });

  for (const environment of ["dev", "prod"] as const) {
    it(`policies/config/${environment}.json hands hpa-sane the ${environment} stack's orgRequestsPerMinute`, () => {
      const settings = readStackSettings(stackConfig(environment), new Set(), environment);
      const pack = packFile(environment);
      expect(
        pack,
        `set "hpa-sane": { "orgRequestsPerMinute": ${settings.orgRequestsPerMinute} } in policies/config/${environment}.json, as Pulumi.${environment}.yaml states it`,
      ).to.deep.equal(withOrgLimit(pack, settings));
    });
  }
});
