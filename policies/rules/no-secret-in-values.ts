import { configuredValues, defineRule, type Violation } from "../lib";

const SECRET_KEY = /(client_?secret|secret|password|passwd|private_?key|api_?key|access_?token|token)$/i;
const SECRET_VALUE =
  /(-----BEGIN [A-Z ]*PRIVATE KEY-----|^hvs\.[A-Za-z0-9_-]{20,}|^AKIA[0-9A-Z]{16}$|^xox[bap]-)/;
const NOT_SECRET = /(_FILE|Name|Key|Ref|Path)$/; // a key naming where a secret is, not the secret

export default defineRule<{ extraKeyPatterns: string[] }>({
  name: "no-secret-in-values",
  description:
    "Checks that no client secret or other secret-looking key or value is in Helm chart values, ConfigMaps or plain env values.",
  configSchema: {
    properties: { extraKeyPatterns: { type: "array", items: { type: "string" }, default: [] } },
  },
  defaults: { extraKeyPatterns: [] },
  check(input, config) {
    const extra = config.extraKeyPatterns.map((pattern) => new RegExp(pattern, "i"));
    const looksSecret = (key: string, value: unknown) =>
      (typeof value === "string" &&
        value !== "" &&
        !NOT_SECRET.test(key) &&
        (SECRET_KEY.test(key) || extra.some((pattern) => pattern.test(key)))) ||
      (typeof value === "string" && SECRET_VALUE.test(value));
    const fix =
      "Secrets in values and ConfigMaps end up in the release history, in Git and in plain Pulumi state: put it in the Kubernetes Secret (genesys-integration-secrets, sourced from Vault) and reference it with secretKeyRef.";
    const violations: Violation[] = [];
    const walk = (node: unknown, path: string, chart: string) => {
      if (Array.isArray(node)) node.forEach((item, index) => walk(item, `${path}[${index}]`, chart));
      else if (node !== null && typeof node === "object") {
        for (const [key, value] of Object.entries(node)) {
          if (looksSecret(key, value))
            violations.push({
              chart,
              message: `Chart values of ${chart} hold a secret at ${path}${path ? "." : ""}${key}. ${fix}`,
            });
          walk(value, `${path}${path ? "." : ""}${key}`, chart);
        }
      }
    };
    for (const chart of input.charts) walk(chart.values, "", chart.name);
    for (const { object, name, value } of configuredValues(input.objects)) {
      if (looksSecret(name, value)) {
        violations.push({
          object,
          message: `${object.kind === "ConfigMap" ? "ConfigMap key" : "Plain env value"} ${name} holds a secret. ${fix}`,
        });
      }
    }
    return violations;
  },
});
