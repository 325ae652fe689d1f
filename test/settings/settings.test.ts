import { expect } from "chai";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { loadConfig } from "../../app/src/config";
import {
  CHART_SWITCHES,
  chartPathOf,
  chartValueAt,
  SETTINGS,
  type SettingDescriptor,
  type SettingName,
} from "../../app/src/shared/settings";
import { CONFIGURATION_PAGE, generatedFiles, REGENERATE, ROOT } from "../../scripts/settings-files";
import { requiredValueProblems } from "../../stacks/settings";
import { find, renderChart, type K8sObject } from "../support/helm";

const ALL = SETTINGS as readonly SettingDescriptor[];

/** A required setting's message without its variable's name: how the stack says it. */
const SETTING_REQUIRED = (env: string) =>
  ALL.find((setting) => setting.env === env)!.required!.slice(env.length + 1);

interface EnvSource {
  readonly secretKeyRef?: { readonly key: string };
  readonly fieldRef?: { readonly fieldPath: string };
}

/** Valid values that differ from the defaults, where picking one needs the other settings in mind. */
const CHOSEN: Readonly<Record<string, unknown>> = {
  GENESYS_REGION: "eu-west-2",
  GENESYS_API_BASE_URL: "https://api.example.com",
  GENESYS_LOGIN_BASE_URL: "https://login.example.com",
  GENESYS_APPS_BASE_URL: "https://apps.example.com",
  HTTPS_PROXY: "http://proxy.example.com:3128",
  HTTP_PROXY: "http://proxy.example.com:3128",
  NO_PROXY: ["internal.example.com", ".svc"],
  IMPORT_ID_COLUMN: "id",
  IMPORT_DEFAULT_COUNTRY: "IE",
  IMPORT_PHONE_COLUMNS: ["mobile", "home"],
  IMPORT_COLUMNS: ["id", "mobile", "home", "name"],
  CONSOLE_ALLOWED_GROUPS: ["contact-centre-ops"],
  OIDC_ISSUER_URL: "https://idp.example.com",
  CONSOLE_PUBLIC_URL: "https://sync.example.com",
  SYNC_DATA_DIR: "/shared",
  // One snapshot schedule at a time (setting-rules.ts, list-snapshot-one-schedule): the daily one.
  EXPORT_LIST_SNAPSHOT_INTERVAL_SECONDS: 0,
  EXPORT_LIST_SNAPSHOT_DAILY_AT: "02:30",
};

function chosenValue(setting: SettingDescriptor): unknown {
  if (setting.env in CHOSEN) return CHOSEN[setting.env];
  const fallback = setting.chartDefault ?? setting.default;
  switch (setting.type) {
    case "integer":
    case "number": {
      if (typeof fallback !== "number") return (setting.min ?? 0) + 1;
      return setting.max !== undefined && fallback + 1 > setting.max ? fallback - 1 : fallback + 1;
    }
    case "boolean":
      return !fallback;
    case "enum":
      return setting.choices!.find((choice) => choice !== fallback);
    case "list":
      return ["first", "second"];
    default:
      return `chosen-${setting.env.toLowerCase().replace(/_/g, "-")}`;
  }
}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split(".");
  let cursor = target;
  for (const key of keys.slice(0, -1)) cursor = (cursor[key] ??= {}) as Record<string, unknown>;
  cursor[keys.at(-1)!] = value;
}

describe("one table for every setting", () => {
  it(`keeps every generated file up to date (else: ${REGENERATE})`, async () => {
    for (const { file, content } of await generatedFiles()) {
      const current = readFileSync(path.join(ROOT, file), "utf8");
      if (current !== content)
        expect.fail(
          `${file} is stale: the settings table changed since it was generated. Run \`${REGENERATE}\`.`,
        );
    }
  });

  it(`keeps the variable table in ${CONFIGURATION_PAGE} alone, with no second copy in the README`, () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    expect(readme).not.to.contain("generated from app/src/shared/settings.ts");
    expect(readme, "the README links to the table").to.contain(`(${CONFIGURATION_PAGE})`);
  });

  it("lets the chart set every setting, or says why not", () => {
    const unset = ALL.filter((setting) => "unset" in setting.chart).map((setting) => setting.env);
    // IMPORT_ROUTES_FILE is the chart's own, set from `routes` (test/chart: import routes).
    expect(unset).to.deep.equal([
      "HOST",
      "IMPORT_ROUTES_FILE",
      "LEADER_ELECTION_API_URL",
      "LEADER_ELECTION_SERVICE_ACCOUNT_DIR",
    ]);
  });

  it("gives the policies a chart path for each setting they read, and refuses one the chart does not set", () => {
    const read: SettingName[] = [
      "GENESYS_TOKEN_POOL_SIZE",
      "GENESYS_RATE_LIMIT_PER_WINDOW",
      "GENESYS_RATE_LIMIT_WINDOW_MS",
      "TOKEN_REFRESH_BUFFER_SECONDS",
    ];
    const defaults = parseYaml(readFileSync(path.join(ROOT, "app/chart/values.yaml"), "utf8")) as Record<
      string,
      unknown
    >;
    for (const env of read) expect(chartValueAt(defaults, chartPathOf(env)), env).to.not.equal(undefined);
    expect(() => chartPathOf("GENESYS_CLIENT_SECRET")).to.throw(
      /GENESYS_CLIENT_SECRET is not set from chart values/,
    );
  });

  it("has the stack require what the service requires, in the service's words, except what the stack sets itself", () => {
    expect(requiredValueProblems({})).to.deep.equal([
      {
        path: "genesys.clientId",
        reason: SETTING_REQUIRED("GENESYS_CLIENT_ID"),
      },
      {
        path: "genesys.contactListId",
        reason: SETTING_REQUIRED("GENESYS_CONTACT_LIST_ID"),
      },
    ]);
  });

  it("has the chart refuse a console issuer or public address that is not https, as the service and the stack do", () => {
    for (const key of ["console.issuerUrl", "console.publicUrl"])
      expect(
        () => renderChart({ set: { "genesys.clientId": "c", [key]: "http://idp.example.com" } }),
        key,
      ).to.throw(new RegExp(key.split(".")[1]!));
  });

  it("has the chart refuse what the service would not match: a CIDR range in proxy.noProxy", () => {
    expect(() => renderChart({ set: { "genesys.clientId": "c", "proxy.noProxy": "{10.0.0.0/8}" } })).to.throw(
      /noProxy/,
    );
  });

  describe("through the chart", () => {
    let objects: K8sObject[];
    const values: Record<string, unknown> = {};
    before(() => {
      for (const setting of ALL)
        if ("value" in setting.chart) setPath(values, setting.chart.value, chosenValue(setting));
      for (const entry of CHART_SWITCHES) setPath(values, entry.value, true);
      const file = path.join(mkdtempSync(path.join(tmpdir(), "settings-")), "values.json");
      writeFileSync(file, JSON.stringify(values));
      objects = renderChart({ files: [file] }).objects;
    });

    it("puts each value under its variable in the ConfigMap, and nothing undescribed", () => {
      const data = find<{ data: Record<string, string> }>(objects, "ConfigMap").data;
      for (const setting of ALL) {
        if (!("value" in setting.chart)) continue;
        const chosen = chosenValue(setting);
        expect(data[setting.env], setting.env).to.equal(
          Array.isArray(chosen) ? chosen.join(",") : String(chosen),
        );
      }
      const described = new Set(ALL.map((setting) => setting.env));
      expect(Object.keys(data).filter((name) => !described.has(name))).to.deep.equal(["NODE_OPTIONS"]);
    });

    it("renders a configuration the service accepts", () => {
      const data = find<{ data: Record<string, string> }>(objects, "ConfigMap").data;
      const config = loadConfig({
        ...data,
        GENESYS_CLIENT_SECRET: "client-secret",
        OIDC_CLIENT_SECRET: "oidc-secret",
        CONSOLE_SESSION_SECRET: "s".repeat(32),
      });
      expect(config.tokenRefreshBufferSeconds).to.equal(
        chosenValue(ALL.find((s) => s.env === "TOKEN_REFRESH_BUFFER_SECONDS")!),
      );
      expect(config.rateLimit.safetyMarginMs).to.equal(1);
      expect(config.console?.sessionHours).to.equal(9);
    });

    it("takes secrets from the Secret and the pod's identity from the pod, never from values", () => {
      const deployment = find<{
        spec: {
          template: { spec: { containers: Array<{ env: Array<{ name: string; valueFrom?: EnvSource }> }> } };
        };
      }>(objects, "Deployment");
      const env = new Map(
        deployment.spec.template.spec.containers[0]!.env.map((entry) => [entry.name, entry]),
      );
      const defaults = readFileSync(path.join(ROOT, "app/chart/values.yaml"), "utf8");
      for (const setting of ALL) {
        const chart = setting.chart;
        if ("secretKey" in chart) {
          const key = new RegExp(`^\\s+${chart.secretKey}: (\\S+)$`, "m").exec(defaults)?.[1];
          expect(env.get(setting.env)?.valueFrom?.secretKeyRef?.key, setting.env).to.equal(key);
        }
        if ("fieldRef" in chart)
          expect(env.get(setting.env)?.valueFrom?.fieldRef?.fieldPath, setting.env).to.equal(chart.fieldRef);
      }
    });
  });
});
