import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { stringify } from "yaml";
import { loadConfig } from "../../app/src/config";
import { routeSetProblems, type RouteSpec } from "../../app/src/shared/routes";
import { SETTING } from "../../app/src/shared/settings";
import { evaluate } from "../../policies/engine";
import { CHART, find, helm, renderChart, valuesFile, type K8sObject } from "../support/helm";
import { validateAgainstKubernetesSchema } from "../support/k8s-schemas";

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered manifests are checked field by field */

/** Two campaigns' lists: one by name with the CRM's column names, one by id that drops the rest. */
const ROUTES: RouteSpec[] = [
  {
    name: "spring-campaign",
    contactListName: 'Spring <campaign> & "2025"',
    columns: { "Customer No": "id", "Mobile Phone": "mobile", Prénom: "firstName" },
  },
  {
    name: "renewals",
    contactListId: "5f3c9a1e-2b7d-4c8e-9f01-23456789abcd",
    idColumn: "accountNumber",
    phoneColumns: ["mobile", "home"],
    defaultCountry: "GB",
    unmappedColumns: "drop",
    allowClear: true,
  },
];

const ROUTES_FILE = "/etc/genesys-sync/routes/routes.json";

/** A values file holding these values (lists of objects are awkward with --set). */
function valuesOf(values: Record<string, unknown>): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "chart-routes-")), "values.yaml");
  writeFileSync(file, stringify(values));
  return file;
}

function render(routes: unknown, files: string[] = []): { text: string; objects: K8sObject[] } {
  return renderChart({ files: [...files, valuesOf({ routes })] });
}

/** The message helm fails with for these routes. */
function refusal(routes: unknown): string {
  try {
    render(routes);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`expected helm to refuse these routes: ${JSON.stringify(routes)}`);
}

const routesConfigMap = (objects: K8sObject[]) =>
  objects.find((object) => object.kind === "ConfigMap" && object.metadata.name.endsWith("-routes")) as any;
const podOf = (objects: K8sObject[]) => find<any>(objects, "Deployment").spec.template.spec;

describe("Helm chart: import routes (real helm)", function () {
  this.timeout(60_000);

  describe("with two routes over the prod values", () => {
    let objects: K8sObject[];
    let pod: any;
    let container: any;
    before(() => {
      ({ objects } = render(ROUTES, [valuesFile("prod")]));
      pod = podOf(objects);
      container = pod.containers[0];
    });

    it("writes the routes as routes.json into a ConfigMap of their own, beside the settings' ConfigMap", () => {
      const configMap = routesConfigMap(objects);
      expect(configMap.metadata.name).to.equal("genesys-sync-routes");
      expect(Object.keys(configMap.data)).to.deep.equal(["routes.json"]);
      expect(objects.filter((object) => object.kind === "ConfigMap")).to.have.length(2);
    });

    it("renders a routes.json the service's own check accepts, holding exactly the routes given", () => {
      const parsed: unknown = JSON.parse(routesConfigMap(objects).data["routes.json"]);
      expect(routeSetProblems(parsed, { where: "routes file" })).to.deep.equal([]);
      expect(parsed).to.deep.equal(ROUTES);
    });

    it("starts the service's own loader with these routes, read from the file the pod mounts", () => {
      // The kubelet's part: the ConfigMap's key as a file, where IMPORT_ROUTES_FILE points.
      const mounted = path.join(mkdtempSync(path.join(tmpdir(), "mounted-routes-")), "routes.json");
      writeFileSync(mounted, routesConfigMap(objects).data["routes.json"]);
      const settings = objects.find(
        (object) => object.kind === "ConfigMap" && object.metadata.name === "genesys-sync",
      ) as any;
      const plainEnv = Object.fromEntries(
        (container.env as any[])
          .filter((entry) => "value" in entry)
          .map((entry) => [entry.name, entry.value]),
      );
      const config = loadConfig({
        ...settings.data,
        ...plainEnv,
        IMPORT_ROUTES_FILE: mounted,
        GENESYS_CLIENT_SECRET: "from-the-secret",
        OIDC_CLIENT_SECRET: "oidc-from-the-secret",
        CONSOLE_SESSION_SECRET: "s".repeat(32),
        KUBERNETES_SERVICE_HOST: "10.96.0.1",
        POD_NAME: "sync-abc",
        POD_NAMESPACE: "genesys-sync",
      });
      expect(plainEnv.IMPORT_ROUTES_FILE).to.equal(ROUTES_FILE);
      expect(config.routes).to.deep.equal(ROUTES);
    });

    it("mounts it read-only at the file IMPORT_ROUTES_FILE names, from a configMap volume", () => {
      expect(container.env).to.deep.include({ name: "IMPORT_ROUTES_FILE", value: ROUTES_FILE });
      expect(container.volumeMounts).to.deep.include({
        name: "import-routes",
        mountPath: path.posix.dirname(ROUTES_FILE),
        readOnly: true,
      });
      expect(pod.volumes).to.deep.include({
        name: "import-routes",
        configMap: {
          name: "genesys-sync-routes",
          items: [{ key: "routes.json", path: path.posix.basename(ROUTES_FILE) }],
        },
      });
    });

    it("sets the variable the settings table describes, which the table leaves to the chart", () => {
      expect(SETTING.IMPORT_ROUTES_FILE.env).to.equal("IMPORT_ROUTES_FILE");
      expect(SETTING.IMPORT_ROUTES_FILE.chart).to.have.property("unset").that.contains("`routes`");
    });

    it("stays within the restricted Pod Security Standard and the Kubernetes schemas", () => {
      expect(pod.securityContext).to.deep.include({ runAsNonRoot: true, runAsUser: 500 });
      expect(container.securityContext).to.deep.include({ readOnlyRootFilesystem: true });
      expect(pod.volumes.filter((volume: any) => volume.hostPath !== undefined)).to.deep.equal([]);
      for (const object of objects)
        expect(
          () => validateAgainstKubernetesSchema(object),
          `${object.kind} ${object.metadata.name}`,
        ).not.to.throw();
    });

    it("trips no policy rule that the same release without routes does not", () => {
      const findings = (rendered: K8sObject[], routes: unknown) =>
        evaluate({ objects: rendered, charts: [{ name: "genesys-sync", values: { routes } }] }).map(
          (finding) => `${finding.policy} ${finding.kind} ${finding.name}: ${finding.message}`,
        );
      const without = render([], [valuesFile("prod")]).objects;
      expect(findings(objects, ROUTES)).to.deep.equal(findings(without, []));
    });

    it("passes helm lint --strict", () => {
      const result = helm([
        "lint",
        "--strict",
        CHART,
        "-f",
        valuesFile("prod"),
        "-f",
        valuesOf({ routes: ROUTES }),
      ]);
      expect(result.status, result.stdout + result.stderr).to.equal(0);
    });
  });

  it("rolls the pods when the routes change, and only then", () => {
    const annotations = (routes: unknown) =>
      find<any>(render(routes).objects, "Deployment").spec.template.metadata.annotations;
    const before = annotations(ROUTES);
    const changed = annotations([ROUTES[0], { ...ROUTES[1], unmappedColumns: "refuse" }]);
    expect(before["checksum/routes"]).to.match(/^[a-f0-9]{64}$/);
    expect(changed["checksum/routes"]).not.to.equal(before["checksum/routes"]);
    expect(changed["checksum/config"]).to.equal(before["checksum/config"]);
    expect(annotations(ROUTES)["checksum/routes"]).to.equal(before["checksum/routes"]);
  });

  it("with an empty routes list renders exactly the default release: no ConfigMap, mount, variable or annotation of routes", () => {
    const none = render([]);
    expect(none.text).to.equal(renderChart().text);
    expect(none.text).not.to.match(/routes|IMPORT_ROUTES_FILE/);
    expect(podOf(none.objects).volumes.map((volume: any) => volume.name)).to.deep.equal(["data", "tmp"]);
  });

  describe("refuses through its schema what routeSetProblems refuses", () => {
    const refused: ReadonlyArray<readonly [string, Record<string, unknown>, RegExp]> = [
      ["a route without a list", { name: "no-list" }, /'oneOf' failed/],
      [
        "a route with both a list id and a list name",
        { name: "both", contactListId: "l-1", contactListName: "List one" },
        /'oneOf' failed/,
      ],
      ["a reserved name", { name: "bulk", contactListId: "l-1" }, /'not' failed/],
      ["an unknown field", { name: "typo", contactListId: "l-1", phoneColumn: "mobile" }, /phoneColumn/],
      [
        "an unmappedColumns other than refuse or drop",
        { name: "keep", contactListId: "l-1", unmappedColumns: "keep" },
        /unmappedColumns.*refuse.*drop/,
      ],
      ["a name that is no folder name", { name: "Spring Campaign", contactListId: "l-1" }, /routes\/0\/name/],
    ];
    for (const [label, route, message] of refused)
      it(label, () => {
        expect(routeSetProblems([route]), "the stack and the service refuse it too").not.to.deep.equal([]);
        const error = refusal([route]);
        expect(error).to.contain("values don't meet the specifications of the schema");
        expect(error).to.contain("/routes/0");
        expect(error).to.match(message);
      });
  });

  it("refuses a route name used twice, in the words of routeSetProblems", () => {
    const routes = [
      { name: "spring-campaign", contactListId: "l-1" },
      { name: "renewals", contactListId: "l-2" },
      { name: "spring-campaign", contactListName: "Spring" },
    ];
    const expected = routeSetProblems(routes);
    expect(expected).to.have.length(1);
    expect(refusal(routes)).to.contain(`VALUES VALIDATION:\n- ${expected[0]}\n`);
  });
});
