import { expect } from "chai";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../../app/src/config";
import { ConfigurationError } from "../../app/src/shared/errors";
import { RULES, type SettingRule } from "../../app/src/shared/setting-rules";
import {
  chartPathOf,
  chartValueAt,
  SETTINGS,
  type SettingDescriptor,
  type SettingName,
} from "../../app/src/shared/settings";
import { generatedFiles, ROOT } from "../../scripts/settings-files";
import { settingRuleProblems } from "../../stacks/settings";
import { chartValuesProblems } from "../../stacks/chart-schema";
import { helm, KUBE_VERSION } from "../support/helm";

/** A setting and a rule that exist only in this test: one entry each, and everything else follows. */
const SCRATCH = "SCRATCH_WIDGET_SECONDS" as SettingName;
const SCRATCH_SETTING: SettingDescriptor = {
  env: SCRATCH,
  config: "export.scratchWidgetSeconds",
  type: "integer",
  unit: "seconds",
  doc: "Scratch: how long a widget waits",
  default: 30,
  min: 1,
  max: 3600,
  chart: { value: "export.scratchWidgetSeconds" },
};
const SCRATCH_RULE: SettingRule = {
  id: "scratch-below-overlap",
  subject: SCRATCH,
  test: { kind: "below", than: "EXPORT_OVERLAP_SECONDS" },
  problem: "must be shorter than {than}: a scratch rule of the test",
};

const BASE = {
  GENESYS_REGION: "eu-west-1",
  GENESYS_CLIENT_ID: "client-id",
  GENESYS_CLIENT_SECRET: "a-secret-value-123",
  GENESYS_CONTACT_LIST_ID: "list-id",
  SYNC_DATA_DIR: "/data",
};

function serviceProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (error instanceof ConfigurationError) return [...error.problems];
    throw error;
  }
}

describe("a scratch setting and rule, added to the table, appear everywhere", () => {
  // The table and the rules are arrays read at each use: the test adds to them and takes back.
  const settings = SETTINGS as unknown as SettingDescriptor[];
  const rules = RULES as SettingRule[];
  let chart: string;
  let files: Map<string, string>;

  before(async () => {
    settings.push(SCRATCH_SETTING);
    rules.push(SCRATCH_RULE);
    files = new Map((await generatedFiles()).map(({ file, content }) => [file, content]));
    chart = path.join(mkdtempSync(path.join(tmpdir(), "scratch-chart-")), "chart");
    cpSync(path.join(ROOT, "app/chart"), chart, { recursive: true });
    for (const [file, content] of files)
      if (file.startsWith("app/chart/"))
        writeFileSync(path.join(chart, file.slice("app/chart/".length)), content);
  });

  after(() => {
    settings.splice(settings.indexOf(SCRATCH_SETTING), 1);
    rules.splice(rules.indexOf(SCRATCH_RULE), 1);
    rmSync(path.dirname(chart), { recursive: true, force: true });
  });

  const render = (set: Record<string, string>) =>
    helm([
      "template",
      "sync",
      chart,
      "--kube-version",
      KUBE_VERSION,
      ...Object.entries({ "genesys.clientId": "c", "genesys.contactListId": "l", ...set }).flatMap(
        ([key, value]) => ["--set", `${key}=${value}`],
      ),
    ]);

  it("is parsed from the environment, bounded, and lands where its config path says", () => {
    const config = loadConfig({ ...BASE, [SCRATCH]: "45" });
    expect((config.export as unknown as Record<string, unknown>).scratchWidgetSeconds).to.equal(45);
    expect(serviceProblems({ ...BASE, [SCRATCH]: "0" })).to.deep.equal([`${SCRATCH} must be at least 1`]);
  });

  it("is checked by its rule in the service, in the service's names", () => {
    expect(serviceProblems({ ...BASE, [SCRATCH]: "1000" })).to.deep.equal([
      `${SCRATCH} must be shorter than EXPORT_OVERLAP_SECONDS: a scratch rule of the test`,
    ]);
  });

  it("is a chart value with its @param line, a schema entry, a ConfigMap entry and a row of the variable table", () => {
    expect(files.get("app/chart/values.yaml")).to.match(
      /## @param export\.scratchWidgetSeconds Scratch: how long a widget waits\n\s+scratchWidgetSeconds: 30\n/,
    );
    const schema = JSON.parse(files.get("app/chart/values.schema.json")!) as {
      properties: { export: { properties: Record<string, unknown> } };
    };
    expect(schema.properties.export.properties.scratchWidgetSeconds).to.include({
      type: "integer",
      minimum: 1,
      maximum: 3600,
    });
    expect(files.get("app/chart/templates/configmap.yaml")).to.contain(
      `${SCRATCH}: {{ .Values.export.scratchWidgetSeconds | int64 | quote }}`,
    );
    expect(files.get("docs/configuration.md")).to.match(
      /\|\s*`SCRATCH_WIDGET_SECONDS`\s*\|\s*`export\.scratchWidgetSeconds`\s*\|\s*30\s*\|\s*1–3600 seconds\s*\|/,
    );
  });

  it("reaches the pod through the rendered ConfigMap, and the chart refuses what the schema and the rule refuse", () => {
    const rendered = render({ "export.scratchWidgetSeconds": "45" });
    expect(rendered.status, rendered.stderr).to.equal(0);
    const objects = rendered.stdout
      .split(/^---$/m)
      .filter((part) => part.includes("kind: ConfigMap"))
      .join("\n---\n");
    expect(objects).to.contain(`${SCRATCH}: "45"`);
    expect(render({ "export.scratchWidgetSeconds": "0" }).stderr).to.contain("scratchWidgetSeconds");
    expect(render({ "export.scratchWidgetSeconds": "1000" }).stderr).to.contain(
      "export.scratchWidgetSeconds must be shorter than export.overlapSeconds: a scratch rule of the test",
    );
  });

  it("is a key the stack accepts under values, checked by the schema and by the rule in the chart's names", () => {
    const schemaFile = path.join(chart, "values.schema.json");
    expect(chartValuesProblems({ export: { scratchWidgetSeconds: 45 } }, [], schemaFile)).to.deep.equal([]);
    expect(chartValuesProblems({ export: { scratchWidgetSeconds: 0 } }, [], schemaFile)[0]?.key).to.equal(
      "export.scratchWidgetSeconds",
    );
    expect(settingRuleProblems({ export: { scratchWidgetSeconds: 1000 } })).to.deep.equal([
      {
        path: "export.scratchWidgetSeconds",
        reason: "must be shorter than export.overlapSeconds: a scratch rule of the test",
      },
    ]);
  });

  it("has a chart path a policy can read it by", () => {
    expect(chartPathOf(SCRATCH)).to.equal("export.scratchWidgetSeconds");
    expect(chartValueAt({ export: { scratchWidgetSeconds: 45 } }, chartPathOf(SCRATCH))).to.equal(45);
  });
});
