import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { routeSetProblems, type RouteSpec } from "../../app/src/shared/routes";
import { GenesysMiddlewareStack } from "../../components/stack";
import { chartValues, RELEASE_NAMES } from "../../stacks/chart-values";
import { DEV_PLATFORM } from "../../stacks/platform";
import { plan } from "../../stacks/plan";
import { PROJECT, readStackSettings, type Environment } from "../../stacks/settings";
import { renderChart } from "../support/helm";
import { installMocks, promiseOf, recorded, settled, stackConfig } from "../support/pulumi-mocks";

// Under Pulumi's mocks, like test/pulumi/stack.test.ts: no engine, provider, cluster or Vault here.
installMocks();

/* eslint-disable @typescript-eslint/no-explicit-any -- recorded mock inputs are checked field by field */

/** Two campaigns' lists, as docs/configuration.md shows them in a stack's config. */
const ROUTES: RouteSpec[] = [
  {
    name: "spring-campaign",
    contactListName: "Spring campaign 2025",
    columns: { "Customer No": "id", "Mobile Phone": "mobile" },
  },
  {
    name: "renewals",
    contactListId: "5f3c9a1e-2b7d-4c8e-9f01-23456789abcd",
    unmappedColumns: "drop",
    allowClear: true,
  },
];

const PLATFORM = { kubeconfig: undefined, ...DEV_PLATFORM };
/** prod logs in to Vault with the CI's OIDC token. */
const CREDENTIALS = { vaultJwt: pulumi.secret("ci-oidc-token") };

/** The committed stack's config with these routes (and these other keys) set. */
function configWith(environment: Environment, extra: Record<string, unknown>): Record<string, string> {
  const config = stackConfig(environment);
  for (const [key, value] of Object.entries(extra))
    config[`${PROJECT}:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  return config;
}

function planned(environment: Environment, extra: Record<string, unknown>) {
  return plan(
    readStackSettings(configWith(environment, extra), new Set(), environment),
    PLATFORM,
    CREDENTIALS,
  );
}

/** What plan() refuses, as `key: reason` lines; nothing may be registered meanwhile. */
function refusals(environment: Environment, extra: Record<string, unknown>): string[] {
  const start = recorded.length;
  try {
    new GenesysMiddlewareStack(`refused-${environment}`, { plan: planned(environment, extra) });
  } catch (error) {
    expect(pulumi.InputPropertiesError.isInstance(error), String(error)).to.equal(true);
    expect(recorded.length, "no resource exists").to.equal(start);
    const { message, errors } = error as pulumi.InputPropertiesError;
    expect(message).to.contain("nothing was created");
    return errors.map((problem) => `${problem.propertyPath}: ${problem.reason}`);
  }
  throw new Error("expected plan() to refuse these routes");
}

/** routeSetProblems' own words, under the stack's key: what plan() must say. */
function inTheServiceWords(routes: unknown, production: boolean, clearAllowedInProduction = false): string[] {
  return routeSetProblems(routes, { production, clearAllowedInProduction, where: "routes" }).map(
    (reason) => `${PROJECT}:routes: ${reason}`,
  );
}

describe("import routes in the stack (stacks/plan.ts, under mocks)", function () {
  this.timeout(60_000);

  it("refuses a route name used twice, naming both routes and the fix, before any resource exists", () => {
    const routes = [ROUTES[0], { name: "spring-campaign", contactListId: "l-2" }];
    const problems = refusals("dev", { routes });
    expect(problems).to.deep.equal(inTheServiceWords(routes, false));
    expect(problems[0]).to.contain('routes[1].name "spring-campaign" is also the name of routes[0]');
    expect(problems[0]).to.contain("one each");
  });

  it("refuses a route without a list, and says which to set", () => {
    const routes = [{ name: "winter", columns: { Phone: "phone" } }];
    const problems = refusals("prod", { routes });
    // Only the route's own words: the chart schema's restatement of the same problem is left out.
    expect(problems).to.deep.equal(inTheServiceWords(routes, true));
    expect(problems[0]).to.contain("routes[0] names no contact list: set contactListId or contactListName");
  });

  it("refuses, in prod only, a route that clears its list without allowClearInProduction", () => {
    const problems = refusals("prod", { routes: ROUTES });
    expect(problems).to.deep.equal(inTheServiceWords(ROUTES, true));
    expect(problems).to.have.length(1);
    expect(problems[0]).to.contain('routes[1] ("renewals") allows clearing its list in production');
    expect(problems[0]).to.contain("set allowClearInProduction: true beside routes");
    expect(planned("dev", { routes: ROUTES }).values.routes).to.deep.equal(ROUTES);
  });

  it("accepts a clearing route in prod with allowClearInProduction, and passes the routes to the chart", () => {
    const deployment = planned("prod", { routes: ROUTES, allowClearInProduction: "true" });
    expect(deployment.values.routes).to.deep.equal(ROUTES);
    expect(deployment.importRoutes.map((route) => route.name)).to.deep.equal([
      "default",
      "spring-campaign",
      "renewals",
    ]);
  });

  it("reports every bad route at once, with the plan's other problems", () => {
    const routes = [
      { name: "bulk", contactListId: "l-1" },
      { name: "x", contactListId: "l", contactListName: "L" },
    ];
    // prod without Genesys ranges on a CNI without FQDN rules: refused by plan() too.
    const egress = { genesysCidrs: [], identityProviderCidrs: ["192.0.2.64/28"] };
    const problems = refusals("prod", { routes, egress });
    expect(problems).to.include.members(inTheServiceWords(routes, true));
    expect(problems.filter((problem) => problem.startsWith(`${PROJECT}:routes`))).to.have.length(2);
    expect(problems.some((problem) => problem.startsWith(`${PROJECT}:egress.genesysCidrs`))).to.equal(true);
  });

  it("refuses routes that are not a list, an allowClearInProduction that is not true or false, and routes under values", () => {
    const refused = (extra: Record<string, unknown>) => {
      try {
        readStackSettings(configWith("dev", extra), new Set(), "dev");
      } catch (error) {
        return (error as pulumi.InputPropertiesError).errors.map((problem) => problem.propertyPath);
      }
      throw new Error("expected the config to be refused");
    };
    expect(refused({ routes: { name: "spring-campaign" } })).to.deep.equal([`${PROJECT}:routes`]);
    expect(refused({ allowClearInProduction: "yes" })).to.deep.equal([`${PROJECT}:allowClearInProduction`]);
    const values = JSON.parse(stackConfig("dev")[`${PROJECT}:values`]!) as Record<string, unknown>;
    expect(refused({ values: { ...values, routes: ROUTES } })).to.deep.equal([`${PROJECT}:values.routes`]);
  });

  it("leaves the chart values without routes when none are declared (the release renders as before)", () => {
    for (const environment of ["dev", "prod"] as const)
      expect(planned(environment, {}).values).not.to.have.property("routes");
  });

  it("renders, through the real helm, a routes.json the service's check accepts: the stack, the chart and the service agree", () => {
    const settings = readStackSettings(
      configWith("prod", { routes: ROUTES, allowClearInProduction: "true" }),
      new Set(),
      "prod",
    );
    const file = path.join(mkdtempSync(path.join(tmpdir(), "routes-values-")), "prod.yaml");
    writeFileSync(file, stringify(chartValues(settings, RELEASE_NAMES, "nginx")));
    const { objects } = renderChart({ files: [file] });
    const configMap = objects.find((object) => object.metadata.name === "genesys-sync-routes") as any;
    const parsed: unknown = JSON.parse(configMap.data["routes.json"]);
    expect(
      routeSetProblems(parsed, { production: true, clearAllowedInProduction: true, where: "routes file" }),
    ).to.deep.equal([]);
    expect(parsed).to.deep.equal(ROUTES);
  });

  it("accepts a DNC route and a contact route that checks it, and passes them to the chart as declared", () => {
    const routes = [
      ...ROUTES.slice(0, 1).map((route) => ({ ...route, checkDnc: ["opt-outs"] })),
      { name: "opt-outs", dncListName: "Opt-outs", expiryColumn: "Opted out until" },
      { name: "email-opt-outs", dncListId: "7d0c8e2a-1b3c-4d5e-8f90-0a1b2c3d4e5f", dncEntries: "email" },
    ];
    for (const environment of ["dev", "prod"] as const)
      expect(planned(environment, { routes }).values.routes).to.deep.equal(routes);
  });

  it("refuses a DNC route with a contact route's fields, and a checkDnc naming no DNC route, in the service's words", () => {
    const routes = [
      { name: "opt-outs", dncListId: "d-1", phoneColumns: ["mobile"] },
      { name: "spring", contactListId: "c-1", checkDnc: ["opt-outs", "renewals"] },
    ];
    const problems = refusals("dev", { routes });
    expect(problems).to.deep.equal(inTheServiceWords(routes, false));
    expect(problems).to.have.length(2);
    expect(problems[0]).to.contain(
      "routes[0].phoneColumns applies to contact-list routes only, and routes[0] is a DNC route",
    );
    expect(problems[1]).to.contain('routes[1].checkDnc names "renewals", which is no route of this set');
  });

  it("exports importRoutes: each route's name, list and folders on the shared volume, the default route first", async () => {
    const start = recorded.length;
    const stack = new GenesysMiddlewareStack("routes-dev", { plan: planned("dev", { routes: ROUTES }) });
    await promiseOf(stack.metricsEndpoint);
    await settled();
    expect(stack.importRoutes).to.deep.equal([
      {
        name: "default",
        contactListId: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        inbox: "inbox",
        archive: "archive",
        rejects: "rejects",
      },
      {
        name: "spring-campaign",
        contactListName: "Spring campaign 2025",
        inbox: "inbox/spring-campaign",
        archive: "archive/spring-campaign",
        rejects: "rejects/spring-campaign",
      },
      {
        name: "renewals",
        contactListId: "5f3c9a1e-2b7d-4c8e-9f01-23456789abcd",
        inbox: "inbox/renewals",
        archive: "archive/renewals",
        rejects: "rejects/renewals",
      },
    ]);
    const chart = recorded.slice(start).find((resource) => resource.type === "kubernetes:helm.sh/v4:Chart")!;
    expect(chart.inputs.values.routes).to.deep.equal(ROUTES);
  });

  it("exports a DNC route in importRoutes with its DNC list and its dnc/<route>/ folders, not an inbox", async () => {
    const routes = [
      ...ROUTES.slice(0, 1),
      { name: "opt-outs", dncListName: "Opt-outs", expiryColumn: "Opted out until" },
      { name: "email-opt-outs", dncListId: "7d0c8e2a-1b3c-4d5e-8f90-0a1b2c3d4e5f", dncEntries: "email" },
    ];
    const stack = new GenesysMiddlewareStack("dnc-routes-dev", { plan: planned("dev", { routes }) });
    await promiseOf(stack.metricsEndpoint);
    await settled();
    expect(stack.importRoutes.slice(2)).to.deep.equal([
      {
        name: "opt-outs",
        dncListName: "Opt-outs",
        add: "dnc/opt-outs/add",
        remove: "dnc/opt-outs/remove",
        archive: "archive/dnc/opt-outs",
        rejects: "rejects/dnc/opt-outs",
      },
      {
        name: "email-opt-outs",
        dncListId: "7d0c8e2a-1b3c-4d5e-8f90-0a1b2c3d4e5f",
        dncEntries: "email",
        add: "dnc/email-opt-outs/add",
        remove: "dnc/email-opt-outs/remove",
        archive: "archive/dnc/email-opt-outs",
        rejects: "rejects/dnc/email-opt-outs",
      },
    ]);
    expect(stack.importRoutes[1]).to.include({ name: "spring-campaign", inbox: "inbox/spring-campaign" });
  });
});
