import { expect } from "chai";
import { loadConfig } from "../../app/src/config";
import { ConfigurationError } from "../../app/src/shared/errors";
import {
  byChartValue,
  byVariable,
  ruleProblem,
  RULES,
  type SettingRule,
} from "../../app/src/shared/setting-rules";
import { SETTING, type SettingName } from "../../app/src/shared/settings";
import { PULUMI_OWNED_VALUES, settingRuleProblems } from "../../stacks/settings";
import { renderChart } from "../support/helm";

const BASE = {
  GENESYS_REGION: "eu-west-1",
  GENESYS_CLIENT_ID: "client-id",
  GENESYS_CLIENT_SECRET: "a-secret-value-123",
  GENESYS_CONTACT_LIST_ID: "list-id",
  SYNC_DATA_DIR: "/data",
  LEADER_ELECTION_API_URL: "http://127.0.0.1:8001",
  POD_NAMESPACE: "sync",
};

/** A valid value that turns a gate on: true, a number above 0, or a URL (the console's issuer). */
function gateValue(env: SettingName): string {
  const type = SETTING[env].type;
  return type === "boolean" ? "true" : type === "integer" ? "3600" : "https://idp.example.com";
}

/** A valid value for the subject of an `unset` rule (one that must stay empty while the gate is on). */
const SET_VALUES: Partial<Record<SettingName, string>> = { EXPORT_LIST_SNAPSHOT_DAILY_AT: "02:30" };

/** The gate open, and for a comparison both sides equal: what breaks the rule, by variable. */
function breaking(rule: SettingRule): Record<string, string> {
  const env: Record<string, string> = {};
  if (rule.when) env[rule.when.env] = gateValue(rule.when.env);
  if (rule.test.kind === "below") {
    env[rule.subject] = "10";
    env[rule.test.than] = "10";
  }
  if (rule.test.kind === "unset") env[rule.subject] = SET_VALUES[rule.subject] ?? "set";
  return env;
}

/** A chart value as the chart reads it: a number or a boolean for such a setting, else the text. */
function typed(env: SettingName, value: string): unknown {
  const type = SETTING[env].type;
  if (type === "boolean") return value === "true";
  return type === "integer" || type === "number" ? Number(value) : value;
}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split(".");
  let cursor = target;
  for (const key of keys.slice(0, -1)) cursor = (cursor[key] ??= {}) as Record<string, unknown>;
  cursor[keys.at(-1)!] = value;
}

/** The same, as chart values. */
function breakingValues(rule: SettingRule): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  if (rule.when?.chartSwitch) setPath(values, rule.when.chartSwitch, true);
  for (const [env, value] of Object.entries(breaking(rule)))
    if (env !== rule.when?.env || !rule.when.chartSwitch)
      setPath(values, byChartValue(env as SettingName), typed(env as SettingName, value));
  return values;
}

describe("rules between settings: one list, the same words in the service, the chart and the stack", () => {
  for (const rule of RULES) {
    it(rule.id, () => {
      if (rule.when?.env !== rule.subject) {
        let problems: readonly string[] = [];
        try {
          loadConfig({ ...BASE, ...breaking(rule) });
        } catch (error) {
          if (!(error instanceof ConfigurationError)) throw error;
          problems = error.problems;
        }
        expect(problems).to.include(`${rule.subject} ${ruleProblem(rule, byVariable)}`);
      }
      const values = breakingValues(rule);
      const inChart = `${byChartValue(rule.subject)} ${ruleProblem(rule, byChartValue)}`;
      const set = Object.fromEntries(
        Object.entries(breaking(rule)).map(([env, value]) => [
          env === rule.when?.env
            ? (rule.when.chartSwitch ?? byChartValue(rule.when.env))
            : byChartValue(env as never),
          env === rule.when?.env && rule.when.chartSwitch ? "true" : value,
        ]),
      );
      expect(() =>
        renderChart({ set: { "genesys.clientId": "c", "genesys.contactListId": "l", ...set } }),
      ).to.throw(inChart);
      const inStack = { path: byChartValue(rule.subject), reason: ruleProblem(rule, byChartValue) };
      // A value the stack sets itself (console.publicUrl, from the ingress host) is never missing there.
      if (inStack.path in PULUMI_OWNED_VALUES)
        expect(settingRuleProblems(values)).to.not.deep.include(inStack);
      else expect(settingRuleProblems(values)).to.deep.include(inStack);
    });
  }
});
