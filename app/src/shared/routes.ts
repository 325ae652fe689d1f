/**
 * Import routes, described once. A route names one contact list and how files reach it: its
 * folder (`inbox/<route>/`, with bulk/, replace/ and remove/ below it), the list by id or by
 * name, the mapping from the CRM's column names to the list's, and the per-list settings that the
 * service's single-list settings give the default route (files directly in inbox/).
 *
 * From this table come: the service's check of the mounted routes file (`routeSetProblems`, in
 * config.ts), the `routes` item schema in the chart's values.schema.json and the route table of
 * docs/configuration.md (`npm run settings:generate`), and the stack's typed `routes` config,
 * checked by `plan()` with the same `routeSetProblems` before any resource exists. What only
 * Genesys can say (a list name that matches no list or two, a mapping to a column the list lacks)
 * the service checks at start (import/route-resolution.ts).
 */

export type RouteFieldType = "string" | "string-list" | "column-map" | "boolean" | "enum";

export interface RouteFieldDescriptor {
  readonly key: keyof RouteSpec;
  readonly type: RouteFieldType;
  /** One line for values.yaml, the schema and docs/configuration.md. */
  readonly doc: string;
  /** What applies when the field is left out (documentation; `resolveRoute` applies it). */
  readonly defaultText?: string;
  readonly required?: boolean;
  readonly pattern?: { readonly regex: string; readonly message: string };
  readonly choices?: readonly string[];
}

/** A route as declared: in the stack's config, the chart's values and the mounted routes file. */
export interface RouteSpec {
  readonly name: string;
  readonly contactListId?: string;
  readonly contactListName?: string;
  /** The CRM's column name (matched case-insensitively) → the list's column. */
  readonly columns?: Readonly<Record<string, string>>;
  readonly unmappedColumns?: "refuse" | "drop";
  readonly idColumn?: string;
  readonly phoneColumns?: readonly string[];
  readonly defaultCountry?: string;
  readonly allowClear?: boolean;
}

/** A route's folder name: lower-case letters, digits and dashes, as a Kubernetes label value could hold. */
export const ROUTE_NAME_PATTERN = "^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$";

/** Folder names a route may not take: the default route's lanes, and the name of the default route itself. */
export const RESERVED_ROUTE_NAMES = ["bulk", "replace", "remove", "routes", "default"] as const;

/** The route of files dropped directly in inbox/: the service's single-list settings. */
export const DEFAULT_ROUTE = "default";

export const ROUTE_FIELDS: readonly RouteFieldDescriptor[] = [
  {
    key: "name",
    type: "string",
    required: true,
    doc: "The route's folder: files go in inbox/<name>/ (and its bulk/, replace/, remove/); also the route label of its metrics",
    pattern: {
      regex: ROUTE_NAME_PATTERN,
      message:
        "a route name is 1 to 40 lower-case letters, digits or dashes, starting and ending with a letter or digit",
    },
  },
  {
    key: "contactListId",
    type: "string",
    doc: "The contact list's id (give this or contactListName)",
  },
  {
    key: "contactListName",
    type: "string",
    doc: "The contact list's name, resolved at start; it must match exactly one list (give this or contactListId)",
  },
  {
    key: "columns",
    type: "column-map",
    doc: "The CRM's column names (matched case-insensitively) mapped to the list's columns; a column not mapped keeps its name",
    defaultText: "(none: the file's header uses the list's names)",
  },
  {
    key: "unmappedColumns",
    type: "enum",
    choices: ["refuse", "drop"],
    doc: "A column that is neither mapped nor a column of the list: refuse the file, or drop the column (named in the file's summary)",
    defaultText: "refuse",
  },
  {
    key: "idColumn",
    type: "string",
    doc: "The list's column holding the stable contact id",
    defaultText: "IMPORT_ID_COLUMN",
  },
  {
    key: "phoneColumns",
    type: "string-list",
    doc: "The list's columns holding phone numbers, normalised to E.164",
    defaultText: "IMPORT_PHONE_COLUMNS",
  },
  {
    key: "defaultCountry",
    type: "string",
    doc: "ISO 3166 country for national numbers",
    defaultText: "IMPORT_DEFAULT_COUNTRY",
    pattern: { regex: "^[A-Z]{2}$", message: "defaultCountry is a two-letter ISO 3166 code such as GB" },
  },
  {
    key: "allowClear",
    type: "boolean",
    doc: "Files in inbox/<name>/replace/ clear the list before their bulk load (clearing cancels scheduled callbacks)",
    defaultText: "false",
  },
];

/** Where a stack allows what a route may do; prod needs an explicit flag before any route clears its list. */
export interface RouteSetContext {
  readonly production?: boolean;
  /** The explicit flag that lets a production route clear its list (`allowClearInProduction`). */
  readonly clearAllowedInProduction?: boolean;
  /** Where the routes were declared, for messages: `routes` (the stack), `routes file` (the service). */
  readonly where?: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Problems with one field's value, by its descriptor. */
function fieldProblems(field: RouteFieldDescriptor, value: unknown, at: string): string[] {
  const name = `${at}.${field.key}`;
  switch (field.type) {
    case "string":
      if (typeof value !== "string" || value.trim() === "") return [`${name} must be a non-empty string`];
      if (field.pattern && !new RegExp(field.pattern.regex).test(value))
        return [`${name} is "${value}": ${field.pattern.message}`];
      return [];
    case "boolean":
      return typeof value === "boolean" ? [] : [`${name} must be true or false`];
    case "enum":
      return field.choices!.includes(value as string)
        ? []
        : [`${name} is ${JSON.stringify(value)}: use one of ${field.choices!.join(", ")}`];
    case "string-list":
      return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === "string" && item !== "")
        ? []
        : [`${name} must be a non-empty list of column names`];
    case "column-map":
      return columnMapProblems(value, name);
  }
}

function columnMapProblems(value: unknown, name: string): string[] {
  if (!isRecord(value)) return [`${name} must map the CRM's column names to the list's column names`];
  const problems: string[] = [];
  const sources = new Map<string, string>();
  const targets = new Map<string, string>();
  for (const [from, to] of Object.entries(value)) {
    if (typeof to !== "string" || to.trim() === "") {
      problems.push(`${name}["${from}"] must name one of the list's columns`);
      continue;
    }
    const fromKey = from.toLowerCase();
    if (sources.has(fromKey))
      problems.push(`${name} maps "${sources.get(fromKey)}" and "${from}", which Genesys reads as one column: keep one`);
    sources.set(fromKey, from);
    const toKey = to.toLowerCase();
    if (targets.has(toKey))
      problems.push(
        `${name} maps both "${targets.get(toKey)}" and "${from}" to the list's column "${to}": map one of them elsewhere`,
      );
    targets.set(toKey, from);
  }
  return problems;
}

/** Everything wrong with one declared route, each naming the field and the fix. */
export function routeProblems(value: unknown, at: string): string[] {
  if (!isRecord(value)) return [`${at} must be an object with at least a name and a contact list`];
  const problems: string[] = [];
  const known = new Set(ROUTE_FIELDS.map((field) => field.key as string));
  for (const key of Object.keys(value))
    if (!known.has(key))
      problems.push(`${at} has an unknown field "${key}": the fields are ${[...known].join(", ")}`);
  for (const field of ROUTE_FIELDS) {
    const given = value[field.key];
    if (given === undefined) {
      if (field.required) problems.push(`${at}.${field.key} is required`);
      continue;
    }
    problems.push(...fieldProblems(field, given, at));
  }
  if (typeof value.name === "string" && (RESERVED_ROUTE_NAMES as readonly string[]).includes(value.name))
    problems.push(
      `${at}.name "${value.name}" is taken (${RESERVED_ROUTE_NAMES.join(", ")} are the default route's own folders): choose another`,
    );
  const byId = value.contactListId !== undefined;
  const byName = value.contactListName !== undefined;
  if (byId === byName)
    problems.push(
      byId
        ? `${at} gives both contactListId and contactListName: keep one`
        : `${at} names no contact list: set contactListId or contactListName`,
    );
  return problems;
}

/** Everything wrong with a set of routes: each route, then names used twice and clearing in production. */
export function routeSetProblems(value: unknown, context: RouteSetContext = {}): string[] {
  const where = context.where ?? "routes";
  if (value === undefined) return [];
  if (!Array.isArray(value)) return [`${where} must be a list of routes`];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  value.forEach((route: unknown, index) => {
    const at = `${where}[${index}]`;
    problems.push(...routeProblems(route, at));
    if (!isRecord(route) || typeof route.name !== "string") return;
    const first = seen.get(route.name);
    if (first !== undefined)
      problems.push(`${at}.name "${route.name}" is also the name of ${where}[${first}]: route names are folders, one each`);
    else seen.set(route.name, index);
    if (route.allowClear === true && context.production && !context.clearAllowedInProduction)
      problems.push(
        `${at} ("${route.name}") allows clearing its list in production: clearing cancels scheduled callbacks; set allowClearInProduction: true beside routes to confirm, or drop allowClear`,
      );
  });
  return problems;
}

/** The `routes` item schema of the chart's values.schema.json, from ROUTE_FIELDS (a JSON Schema draft 7 object). */
export function routeJsonSchema(): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const field of ROUTE_FIELDS) {
    const base = { description: field.doc };
    switch (field.type) {
      case "string":
        // Not blank, as routeProblems says: a pattern of its own where the field has none.
        properties[field.key] = {
          ...base,
          type: "string",
          minLength: 1,
          pattern: field.pattern ? field.pattern.regex : "\\S",
        };
        break;
      case "boolean":
        properties[field.key] = { ...base, type: "boolean" };
        break;
      case "enum":
        properties[field.key] = { ...base, type: "string", enum: field.choices };
        break;
      case "string-list":
        properties[field.key] = { ...base, type: "array", minItems: 1, items: { type: "string", minLength: 1 } };
        break;
      case "column-map":
        properties[field.key] = { ...base, type: "object", additionalProperties: { type: "string", minLength: 1 } };
        break;
    }
  }
  return {
    type: "object",
    additionalProperties: false,
    required: ROUTE_FIELDS.filter((field) => field.required).map((field) => field.key),
    properties,
    oneOf: [{ required: ["contactListId"] }, { required: ["contactListName"] }],
    not: { properties: { name: { enum: [...RESERVED_ROUTE_NAMES] } }, required: ["name"] },
  };
}
