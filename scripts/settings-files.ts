import { readFileSync } from "node:fs";
import path from "node:path";
import * as prettier from "prettier";
import { renderTroubleshootingPage, TROUBLESHOOTING_PAGE } from "./error-codes";
import {
  renderRoutesValues,
  renderRouteTable,
  routesSchema,
  routeTableMarkers,
  ROUTES_VALUE,
} from "./route-files";
import {
  CHART_SWITCHES,
  SECRET_REFERENCE,
  SETTINGS,
  type ChartSwitch,
  type SettingDescriptor,
} from "../app/src/shared/settings";
import {
  byChartValue,
  HPA_CPU_TARGET_PERCENT,
  RULES,
  ruleProblem,
  type SettingRule,
} from "../app/src/shared/setting-rules";

/**
 * The files generated from the settings table (app/src/shared/settings.ts) and the route table
 * (app/src/shared/routes.ts, through route-files.ts): the ConfigMap template, the settings and
 * routes part of the chart's values.yaml and values.schema.json, and the variable and route tables
 * of docs/configuration.md. `npm run settings:generate` writes them; a test fails while one is
 * stale.
 */

export const ROOT = path.resolve(__dirname, "..");
export const REGENERATE = "npm run settings:generate";
/** The page that holds the variable table, between the two marker lines. */
export const CONFIGURATION_PAGE = "docs/configuration.md";

const ALL = SETTINGS as readonly SettingDescriptor[];
const VALUES_BEGIN = `# >>> Service settings: generated from app/src/shared/settings.ts and routes.ts by \`${REGENERATE}\`. Edit there, not here.`;
const VALUES_END = "# <<< Service settings";
const TABLE_BEGIN = `<!-- >>> generated from app/src/shared/settings.ts by \`${REGENERATE}\`: edit there, not here -->`;
const TABLE_END = "<!-- <<< generated -->";

/** The section the routes follow in values.yaml: they are the import's other contact lists. */
const ROUTES_AFTER = "import";

/** The values.yaml sections the table owns, in order, with their titles. */
const SECTIONS: ReadonlyArray<{ readonly key: string; readonly title: string }> = [
  { key: "genesys", title: "Genesys Cloud connection (no secrets here: see existingSecret)" },
  { key: "auth", title: "Token handling" },
  { key: "proxy", title: "Forward proxy for Genesys Cloud (extra CAs: see extraCaCerts)" },
  { key: "logLevel", title: "The process" },
  { key: "shutdownGraceSeconds", title: "" },
  { key: "import", title: "Contact import" },
  { key: "export", title: "Results export" },
  { key: "webhook", title: "Webhook (its credentials are in existingSecret)" },
  { key: "leaderElection", title: "Leader election (one poller among the replicas)" },
  { key: "console", title: "Operator console (OIDC sign-in)" },
  { key: "existingSecret", title: "Secret references (the chart never holds secret values)" },
];

/** A chart value the table declares: a setting's, or a switch's. */
interface DeclaredValue {
  readonly path: string;
  readonly doc: string;
  readonly chartDefault: unknown;
  readonly schema: Record<string, unknown>;
  /** The schema requires it in its section. */
  readonly required?: boolean;
}

function valuePath(setting: SettingDescriptor): string | undefined {
  return "value" in setting.chart && setting.chart.declaredBy === undefined ? setting.chart.value : undefined;
}

/** The chart's default: its own, else the service's, else empty. */
function chartDefault(setting: SettingDescriptor): unknown {
  if (setting.chartDefault !== undefined) return setting.chartDefault;
  if (setting.default !== undefined) return setting.default;
  if (setting.type === "list") return [];
  if (setting.type === "integer" || setting.type === "number") return null;
  return "";
}

function propertySchema(setting: SettingDescriptor): Record<string, unknown> {
  const schema: Record<string, unknown> = { description: `${setting.doc} (${setting.env})` };
  const optionalNumber = chartDefault(setting) === null;
  switch (setting.type) {
    case "integer":
    case "number":
      schema.type = optionalNumber ? [setting.type, "null"] : setting.type;
      if (setting.min !== undefined)
        schema[setting.exclusiveMin ? "exclusiveMinimum" : "minimum"] = setting.min;
      if (setting.max !== undefined) schema.maximum = setting.max;
      break;
    case "boolean":
      schema.type = "boolean";
      break;
    case "enum":
      schema.enum = [...setting.choices!];
      break;
    case "list":
      schema.type = "array";
      schema.items = { type: "string", minLength: 1 };
      break;
    default:
      schema.type = "string";
      if (typeof setting.default === "string" && setting.default !== "") schema.minLength = 1;
      if (setting.pattern) schema.pattern = setting.pattern.regex;
  }
  const extra = { ...setting.chartSchema };
  if (typeof extra.$ref === "string") return { description: schema.description, $ref: extra.$ref };
  return { ...schema, ...extra };
}

function declaredValues(): DeclaredValue[] {
  const fromSettings = ALL.flatMap((setting) => {
    const at = valuePath(setting);
    return at === undefined
      ? []
      : [
          {
            path: at,
            doc: setting.doc,
            chartDefault: chartDefault(setting),
            schema: propertySchema(setting),
          },
        ];
  });
  const fromSwitches = CHART_SWITCHES.map((entry: ChartSwitch) => ({
    path: entry.value,
    doc: entry.doc,
    chartDefault: entry.default,
    schema: { description: entry.doc, type: "boolean" },
  }));
  const reference = {
    path: SECRET_REFERENCE.value,
    doc: SECRET_REFERENCE.doc,
    chartDefault: SECRET_REFERENCE.default,
    schema: { description: SECRET_REFERENCE.doc, type: "string", minLength: 1 },
    required: true,
  };
  const secretKeys = ALL.flatMap((setting) => {
    if (!("secretKey" in setting.chart)) return [];
    const doc = `Key in that Secret of ${setting.env}: ${setting.doc}${setting.chart.when ? ` (with ${setting.chart.when})` : ""}`;
    return [
      {
        path: `existingSecret.${setting.chart.secretKey}`,
        doc,
        chartDefault: setting.chart.keyName,
        schema: { description: doc, type: "string", minLength: 1 },
        required: setting.required !== undefined,
      },
    ];
  });
  // A switch comes first in its section, as `enabled` does in the chart's other sections.
  return [...fromSwitches, ...fromSettings, reference, ...secretKeys];
}

function section(key: string): DeclaredValue[] {
  const found = declaredValues().filter((value) => value.path === key || value.path.startsWith(`${key}.`));
  return [
    ...found.filter((value) => value.path.endsWith(".enabled")),
    ...found.filter((value) => !value.path.endsWith(".enabled")),
  ];
}

const PLAIN = /^[A-Za-z/][\w./-]*$/;
const RESERVED = /^(true|false|null|yes|no|on|off|~)$/i;

function yamlScalar(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string")
    return PLAIN.test(value) && !RESERVED.test(value) ? value : JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(yamlScalar).join(", ")}]`;
  return String(value);
}

/** The settings block of values.yaml. */
export function renderValuesBlock(): string {
  const lines = [VALUES_BEGIN];
  for (const { key, title } of SECTIONS) {
    const values = section(key);
    if (values.length === 0) throw new Error(`values.yaml section ${key} has no settings`);
    if (title !== "") lines.push("", `## @section ${title}`, "");
    if (values.length === 1 && values[0]!.path === key) {
      lines.push(`## @param ${key} ${values[0]!.doc}`, `${key}: ${yamlScalar(values[0]!.chartDefault)}`);
      continue;
    }
    lines.push(`${key}:`);
    for (const value of values) {
      const leaf = value.path.slice(key.length + 1);
      if (leaf.includes(".")) throw new Error(`${value.path}: settings sit one level deep in values.yaml`);
      lines.push(`  ## @param ${value.path} ${value.doc}`, `  ${leaf}: ${yamlScalar(value.chartDefault)}`);
    }
    if (key === ROUTES_AFTER) lines.push(...renderRoutesValues());
  }
  lines.push(VALUES_END);
  return lines.join("\n");
}

const CPU_TARGET_DOC = `${HPA_CPU_TARGET_PERCENT.min}-${HPA_CPU_TARGET_PERCENT.max}: ${HPA_CPU_TARGET_PERCENT.why}`;
const CPU_TARGET_PARAM = /^( *## @param autoscaling\.targetCPUUtilizationPercentage ).*$/m;

/** values.yaml with its settings block replaced, and the CPU target's range from setting-rules.ts. */
export function renderValuesYaml(current: string): string {
  if (!CPU_TARGET_PARAM.test(current))
    throw new Error(
      "values.yaml has no `## @param autoscaling.targetCPUUtilizationPercentage` line: put it back",
    );
  const replaced = replaceBetween(
    current,
    VALUES_BEGIN.slice(0, 22),
    VALUES_END,
    renderValuesBlock(),
    "values.yaml",
  );
  return replaced.replace(CPU_TARGET_PARAM, `$1CPU target (${CPU_TARGET_DOC})`);
}

/** values.schema.json with the properties of the settings' sections replaced, in place. */
export function renderSchema(current: string): string {
  const schema = JSON.parse(current) as { properties: Record<string, unknown> };
  const replaced: Record<string, unknown> = {};
  const owned = new Map<string, unknown>();
  for (const { key } of SECTIONS) {
    const values = section(key);
    if (values.length === 1 && values[0]!.path === key) {
      owned.set(key, values[0]!.schema);
      continue;
    }
    const required = values
      .filter((value) => value.required)
      .map((value) => value.path.slice(key.length + 1));
    owned.set(key, {
      type: "object",
      additionalProperties: false,
      ...(required.length > 0 ? { required } : {}),
      properties: Object.fromEntries(values.map((value) => [value.path.slice(key.length + 1), value.schema])),
    });
  }
  owned.set(ROUTES_VALUE, routesSchema());
  for (const [key, property] of Object.entries(schema.properties))
    replaced[key] = owned.has(key) ? owned.get(key) : property;
  for (const [key, property] of owned) if (!(key in replaced)) replaced[key] = property;
  const autoscaling = replaced.autoscaling as { properties: Record<string, unknown> } | undefined;
  if (autoscaling === undefined) throw new Error("values.schema.json has no autoscaling section");
  autoscaling.properties.targetCPUUtilizationPercentage = {
    type: "integer",
    minimum: HPA_CPU_TARGET_PERCENT.min,
    maximum: HPA_CPU_TARGET_PERCENT.max,
    description: CPU_TARGET_DOC,
  };
  return `${JSON.stringify({ ...schema, properties: replaced }, null, 2)}\n`;
}

/** The ConfigMap template: every setting the chart sets from values, nothing secret. */
export function renderConfigMap(): string {
  // Helm reads YAML numbers as floats and prints 1048576 as 1.048576e+06: integers go through int64.
  const expression = (setting: SettingDescriptor, subject: string) =>
    setting.type === "list"
      ? `{{ join "," ${subject} | quote }}`
      : setting.type === "integer"
        ? `{{ ${subject} | int64 | quote }}`
        : `{{ ${subject} | quote }}`;
  const entry = (setting: SettingDescriptor, at: string): string[] => {
    const value = `.Values.${at}`;
    const empty = "declaredBy" in setting.chart ? undefined : chartDefault(setting);
    if (empty === null)
      return [
        `  {{- if not (kindIs "invalid" ${value}) }}`,
        `  ${setting.env}: ${expression(setting, value)}`,
        "  {{- end }}",
      ];
    if (setting.required === undefined && (empty === "" || (Array.isArray(empty) && empty.length === 0)))
      return [`  {{- with ${value} }}`, `  ${setting.env}: ${expression(setting, ".")}`, "  {{- end }}"];
    return [`  ${setting.env}: ${expression(setting, value)}`];
  };
  const always: string[] = [];
  const guarded = new Map<string, string[]>();
  for (const setting of ALL) {
    if (!("value" in setting.chart)) continue;
    const lines = entry(setting, setting.chart.value);
    if (setting.chart.when === undefined) always.push(...lines);
    else guarded.set(setting.chart.when, [...(guarded.get(setting.chart.when) ?? []), ...lines]);
  }
  return [
    `{{- /* Generated from app/src/shared/settings.ts by \`${REGENERATE}\`: edit there, not here. */ -}}`,
    '{{- include "genesys-middleware-stack.validateValues" . -}}',
    "apiVersion: v1",
    "kind: ConfigMap",
    "metadata:",
    '  name: {{ include "genesys-middleware-stack.fullname" . }}',
    "  namespace: {{ .Release.Namespace }}",
    "  labels:",
    '    {{- include "genesys-middleware-stack.labels" . | nindent 4 }}',
    "data:",
    "  # The service's environment contract (docs/configuration.md). No secrets here.",
    ...always,
    ...[...guarded].flatMap(([when, lines]) => [`  {{- if .Values.${when} }}`, ...lines, "  {{- end }}"]),
    "  # Node's own, not the service's: caps the heap well inside the memory limit.",
    "  NODE_OPTIONS: {{ .Values.nodeOptions | quote }}",
    "",
  ].join("\n");
}

/**
 * The container's env entries that the ConfigMap cannot carry: the Secret's keys and the pod's own
 * fields (downward API), as a named template the Deployment includes.
 */
export function renderSettingsEnv(): string {
  const entry = (setting: SettingDescriptor): string[] => {
    const chart = setting.chart;
    if ("fieldRef" in chart)
      return [
        `- name: ${setting.env}`,
        "  valueFrom:",
        "    fieldRef:",
        `      fieldPath: ${chart.fieldRef}`,
      ];
    if (!("secretKey" in chart)) return [];
    const optional = setting.required === undefined && chart.when === undefined;
    return [
      `- name: ${setting.env}`,
      "  valueFrom:",
      "    secretKeyRef:",
      `      name: {{ .Values.${SECRET_REFERENCE.value} }}`,
      `      key: {{ .Values.existingSecret.${chart.secretKey} }}`,
      ...(optional ? ["      optional: true"] : []),
    ];
  };
  const always: string[] = [];
  const guarded = new Map<string, string[]>();
  for (const setting of ALL) {
    const when = "secretKey" in setting.chart ? setting.chart.when : undefined;
    if (when === undefined) always.push(...entry(setting));
    else guarded.set(when, [...(guarded.get(when) ?? []), ...entry(setting)]);
  }
  return [
    `{{- /* Generated from app/src/shared/settings.ts by \`${REGENERATE}\`: edit there, not here. */ -}}`,
    "{{/* The env entries from the Secret (existingSecret) and from the pod itself; the ConfigMap carries the rest. */}}",
    '{{- define "genesys-middleware-stack.settingsEnv" -}}',
    ...always,
    ...[...guarded].flatMap(([when, lines]) => [`{{- if .Values.${when} }}`, ...lines, "{{- end }}"]),
    "{{- end }}",
    "",
  ].join("\n");
}

/** A rule's condition as a Go template expression over `.Values`. */
function ruleCondition(rule: SettingRule): string {
  const value = (env: Parameters<typeof byChartValue>[0]) => `.Values.${byChartValue(env)}`;
  const broken =
    rule.test.kind === "required"
      ? `(not ${value(rule.subject)})`
      : rule.test.kind === "unset"
        ? value(rule.subject)
        : `(ge (int ${value(rule.subject)}) (int ${value(rule.test.than)}))`;
  if (rule.when === undefined) return broken;
  return `(and .Values.${rule.when.chartSwitch ?? byChartValue(rule.when.env)} ${broken})`;
}

/**
 * The rules between settings (setting-rules.ts) as a named template that prints one problem a
 * line; validateValues (_helpers.tpl) adds them to its own and fails with all of them.
 */
export function renderSettingRules(): string {
  return [
    `{{- /* Generated from app/src/shared/setting-rules.ts by \`${REGENERATE}\`: edit there, not here. */ -}}`,
    "{{/* The rules between settings, one problem a line, in the words of the service and the stack. */}}",
    '{{- define "genesys-middleware-stack.settingRuleProblems" -}}',
    ...RULES.flatMap((rule) => [
      `{{- if ${ruleCondition(rule)} }}`,
      `{{ ${JSON.stringify(`${byChartValue(rule.subject)} ${ruleProblem(rule, byChartValue)}`)} }}`,
      "{{- end }}",
    ]),
    "{{- end }}",
    "",
  ].join("\n");
}

function chartCell(setting: SettingDescriptor): string {
  const chart = setting.chart;
  if ("value" in chart) return `\`${chart.value}\`${chart.when ? ` (with \`${chart.when}\`)` : ""}`;
  if ("secretKey" in chart) return `the Secret, key \`existingSecret.${chart.secretKey}\``;
  if ("fieldRef" in chart) return `the pod's \`${chart.fieldRef}\``;
  return `not set: ${chart.unset}`;
}

function defaultCell(setting: SettingDescriptor): string {
  const literal = (value: unknown) =>
    Array.isArray(value) ? (value.length === 0 ? "(none)" : value.join(",")) : String(value);
  let text =
    setting.defaultText ??
    (setting.default !== undefined ? literal(setting.default) : setting.required ? "required" : "(none)");
  if (setting.chartDefault !== undefined && setting.chartDefault !== setting.default)
    text += ` (chart: ${literal(setting.chartDefault)})`;
  return text;
}

function allowedCell(setting: SettingDescriptor): string {
  const unit = setting.unit ? ` ${setting.unit}` : "";
  if (setting.choices) return setting.choices.join(", ");
  if (setting.min !== undefined && setting.max !== undefined) return `${setting.min}–${setting.max}${unit}`;
  if (setting.min !== undefined) return `${setting.exclusiveMin ? ">" : "≥"} ${setting.min}${unit}`;
  if (setting.type === "list") return "comma-separated";
  if (setting.type === "boolean") return "true, false";
  if (setting.pattern) return `\`${setting.pattern.regex}\``;
  return setting.type === "url" ? "URL" : "text";
}

/** The variable table of docs/configuration.md. */
export function renderVariableTable(): string {
  const rows = ALL.map((setting) => {
    const names = [
      `\`${setting.env}\``,
      ...(setting.aliases ?? []).map((alias) => `\`${alias}\``),
      ...(setting.secret ? [`\`${setting.env}_FILE\``] : []),
    ].join(" or ");
    const cells = [names, chartCell(setting), defaultCell(setting), allowedCell(setting), setting.doc];
    return `| ${cells.map((cell) => cell.replace(/\|/g, "\\|")).join(" | ")} |`;
  });
  return [
    TABLE_BEGIN,
    "",
    "| variable | chart value | default | allowed | meaning |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
    "",
    TABLE_END,
  ].join("\n");
}

/** docs/configuration.md with its variable table and its route table replaced. */
export function renderConfigurationPage(current: string): string {
  const variables = replaceBetween(
    current,
    TABLE_BEGIN.slice(0, 16),
    TABLE_END,
    renderVariableTable(),
    CONFIGURATION_PAGE,
  );
  const routes = routeTableMarkers(REGENERATE);
  return replaceBetween(
    variables,
    routes.begin,
    routes.end,
    renderRouteTable(REGENERATE),
    CONFIGURATION_PAGE,
  );
}

function replaceBetween(text: string, begin: string, end: string, block: string, file: string): string {
  const from = text.indexOf(begin);
  const to = text.indexOf(end, from);
  if (from < 0 || to < 0)
    throw new Error(`${file} has no generated block (${begin} … ${end}): put the two marker lines back`);
  return text.slice(0, from) + block + text.slice(to + end.length);
}

const CHART_README_BEGIN = "## Parameters";

/**
 * The chart README's parameter tables, from values.yaml's `## @section` and `## @param` lines (the
 * bitnami readme-generator's convention), so the hand-written and the generated values both show.
 */
export function renderChartReadme(current: string, valuesYaml: string): string {
  const out = [
    CHART_README_BEGIN,
    "",
    `Generated from values.yaml's \`## @param\` lines by \`${REGENERATE}\`.`,
  ];
  const lines = valuesYaml.split("\n");
  let table: string[] = [];
  const flush = () => {
    if (table.length > 0) out.push("", "| name | description | default |", "| --- | --- | --- |", ...table);
    table = [];
  };
  lines.forEach((line, index) => {
    const sectionMatch = /^## @section (.+)$/.exec(line);
    if (sectionMatch) {
      flush();
      out.push("", `### ${sectionMatch[1]}`);
      return;
    }
    const param = /^\s*## @param (\S+) (.+)$/.exec(line);
    if (!param) return;
    const next = /^\s*[\w-]+:\s*(.*)$/.exec(lines[index + 1] ?? "");
    const fallback = next && next[1] !== "" ? `\`${next[1]}\`` : "";
    table.push(
      `| \`${param[1]}\` | ${param[2]!.replace(/\|/g, "\\|")} | ${fallback.replace(/\|/g, "\\|")} |`,
    );
  });
  flush();
  const from = current.indexOf(CHART_README_BEGIN);
  if (from < 0)
    throw new Error(
      `app/chart/README.md has no "${CHART_README_BEGIN}" heading: put it back as its last section`,
    );
  return `${current.slice(0, from)}${out.join("\n")}\n`;
}

export interface GeneratedFile {
  /** Relative to the project root. */
  readonly file: string;
  readonly content: string;
}

async function formatted(file: string, content: string): Promise<string> {
  const options = await prettier.resolveConfig(path.join(ROOT, file));
  const info = await prettier.getFileInfo(path.join(ROOT, file), {
    ignorePath: path.join(ROOT, ".prettierignore"),
  });
  if (info.ignored || info.inferredParser === null) return content;
  return prettier.format(content, { ...options, filepath: path.join(ROOT, file) });
}

/** Every generated file as it should be now, formatted as prettier leaves it. */
export async function generatedFiles(): Promise<GeneratedFile[]> {
  const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");
  const valuesYaml = await formatted(
    "app/chart/values.yaml",
    renderValuesYaml(read("app/chart/values.yaml")),
  );
  const files: GeneratedFile[] = [
    { file: "app/chart/templates/configmap.yaml", content: renderConfigMap() },
    { file: "app/chart/templates/_settings-env.tpl", content: renderSettingsEnv() },
    { file: "app/chart/templates/_setting-rules.tpl", content: renderSettingRules() },
    { file: "app/chart/values.yaml", content: valuesYaml },
    { file: "app/chart/README.md", content: renderChartReadme(read("app/chart/README.md"), valuesYaml) },
    { file: "app/chart/values.schema.json", content: renderSchema(read("app/chart/values.schema.json")) },
    { file: CONFIGURATION_PAGE, content: renderConfigurationPage(read(CONFIGURATION_PAGE)) },
    { file: TROUBLESHOOTING_PAGE, content: renderTroubleshootingPage(read(TROUBLESHOOTING_PAGE)) },
  ];
  return Promise.all(
    files.map(async ({ file, content }) => ({ file, content: await formatted(file, content) })),
  );
}
