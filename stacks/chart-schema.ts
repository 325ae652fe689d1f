import { readFileSync } from "node:fs";
import path from "node:path";
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";

/** The chart's schema, read at run time: the chart owns it and may add properties. */
export const CHART_SCHEMA_PATH = path.resolve(__dirname, "../app/chart/values.schema.json");

/** One problem with chart values: a dotted key (`genesys.tokenPoolSize`) and what to do. */
export interface ValuesProblem {
  readonly key: string;
  readonly reason: string;
}

/**
 * The schema's patterns are Go (RE2) regexps, as helm reads them: `(?i)` and `(?i:...)` mark
 * case-insensitive parts, which JavaScript's RegExp (Node 20) does not accept. A leading `(?i)`
 * becomes the `i` flag; inside `(?i:...)` every letter outside an escape or a character class
 * becomes a class of both cases.
 */
export function goRegExp(pattern: string, flags: string): RegExp {
  let source = pattern;
  let extra = "";
  if (source.startsWith("(?i)")) {
    source = source.slice(4);
    extra = "i";
  }
  let out = "";
  for (let index = 0; index < source.length;) {
    if (!source.startsWith("(?i:", index)) {
      const length = source[index] === "\\" ? 2 : 1;
      out += source.slice(index, index + length);
      index += length;
      continue;
    }
    out += "(?:";
    index += 4;
    let depth = 1;
    let inClass = false;
    while (index < source.length && depth > 0) {
      const char = source.charAt(index);
      if (char === "\\") {
        out += source.slice(index, index + 2);
        index += 2;
        continue;
      }
      if (inClass) inClass = char !== "]";
      else if (char === "[") inClass = true;
      else if (char === "(") depth += 1;
      else if (char === ")") depth -= 1;
      out += !inClass && /[a-z]/i.test(char) ? `[${char.toLowerCase()}${char.toUpperCase()}]` : char;
      index += 1;
    }
  }
  return new RegExp(out, [...new Set(flags + extra)].join(""));
}

let compiled: { file: string; validate: ValidateFunction } | undefined;

function validator(schemaPath: string): ValidateFunction {
  if (compiled?.file !== schemaPath) {
    const ajv = new Ajv2020({
      allErrors: true,
      verbose: true,
      strictTypes: false,
      code: { regExp: goRegExp as never },
    });
    compiled = {
      file: schemaPath,
      validate: ajv.compile(JSON.parse(readFileSync(schemaPath, "utf8")) as object),
    };
  }
  return compiled.validate;
}

/** `/import/phoneColumns/0` -> `import.phoneColumns[0]`. */
function dotted(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((key, part) => (/^\d+$/.test(part) ? `${key}[${part}]` : key ? `${key}.${part}` : part), "");
}

type Schema = Record<string, unknown> & {
  description?: string;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, unknown>;
};

const TYPE_WORDS: Readonly<Record<string, string>> = {
  integer: "a whole number",
  number: "a number",
  string: "a string",
  boolean: "true or false",
  array: "a list",
  object: "a map",
};

/** A reason in the words of the settings' other errors: what the value must be, and where to look. */
function reasonOf(error: ErrorObject, under: string, hidden: readonly string[]): string {
  const parent = (error.parentSchema ?? {}) as Schema;
  const params = error.params as Record<string, unknown>;
  const hint = parent.description ? ` (${parent.description})` : "";
  switch (error.keyword) {
    case "additionalProperties":
      return `is not a key of the chart's values${under ? ` under ${under}` : ""}; known: ${Object.keys(
        parent.properties ?? {},
      )
        .filter((key) => under !== "" || !hidden.includes(key))
        .join(", ")} (app/chart/values.yaml)`;
    case "type":
      return `must be ${TYPE_WORDS[String(params.type)] ?? `of type ${String(params.type)}`}${hint}`;
    case "minimum":
    case "maximum":
      return parent.minimum !== undefined && parent.maximum !== undefined
        ? `must be from ${parent.minimum} to ${parent.maximum}${hint}`
        : `must be ${error.keyword === "minimum" ? "at least" : "at most"} ${String(params.limit)}${hint}`;
    case "exclusiveMinimum":
      return `must be above ${String(params.limit)}${hint}`;
    case "enum":
      return `must be one of ${(params.allowedValues as unknown[]).map(String).join(", ")}${hint}`;
    case "const":
      // The schema spells its refusals (a secret, credentials in a URL) as a const message.
      return typeof params.allowedValue === "string" ? params.allowedValue : `${error.message ?? ""}${hint}`;
    case "pattern":
      return `must match ${String(params.pattern)}${hint}`;
    case "minItems":
      return `must list at least ${String(params.limit)}${hint}`;
    case "minLength":
      return `must not be empty${hint}`;
    default:
      return `${error.message ?? "is not valid"}${hint}`;
  }
}

/**
 * Every problem of `values` under app/chart/values.schema.json, one per key: what helm would
 * refuse at render time, found before any resource exists. `hiddenKeys` are top-level keys left
 * out of the "known" lists (those the stack sets itself).
 */
export function chartValuesProblems(
  values: unknown,
  hiddenKeys: readonly string[] = [],
  schemaPath = CHART_SCHEMA_PATH,
): ValuesProblem[] {
  const validate = validator(schemaPath);
  if (validate(values)) return [];
  const byKey = new Map<string, string>();
  for (const error of validate.errors ?? []) {
    // if/then and anyOf restate a problem already reported by the keyword that failed.
    if (error.keyword === "if" || error.keyword === "anyOf") continue;
    const under = dotted(error.instancePath);
    const key =
      error.keyword === "additionalProperties"
        ? [under, String((error.params as { additionalProperty: string }).additionalProperty)]
            .filter(Boolean)
            .join(".")
        : under;
    const reason = reasonOf(error, under, hiddenKeys);
    // A const refusal (a secret) says more than "unknown key": it wins.
    if (!byKey.has(key) || error.keyword === "const") byKey.set(key, reason);
  }
  return [...byKey].map(([key, reason]) => ({ key, reason }));
}
