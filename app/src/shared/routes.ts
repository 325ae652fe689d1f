/**
 * Import routes, described once. A route names one contact list and how files reach it: its
 * folder (`inbox/<route>/`, with bulk/, replace/ and remove/ below it), the list by id or by
 * name, the mapping from the CRM's column names to the list's, and the per-list settings that the
 * service's single-list settings give the default route (files directly in inbox/).
 *
 * A route may name an internal DNC list instead (a DNC route): files of phone numbers or email
 * addresses to add to it or remove from it, in `dnc/<route>/add/` and `dnc/<route>/remove/` (app/src/dnc/).
 * Route names are one namespace across both kinds: a name is a folder and a metrics label.
 *
 * From this table come: the service's check of the mounted routes file (`routeSetProblems`, in
 * config.ts), the `routes` item schema in the chart's values.schema.json and the route table of
 * docs/configuration.md (`npm run settings:generate`), and the stack's typed `routes` config,
 * checked by `plan()` with the same `routeSetProblems` before any resource exists. What only
 * Genesys can say (a list name that matches no list or two, a mapping to a column the list lacks)
 * the service checks at start (import/route-resolution.ts).
 */

export type RouteFieldType = "string" | "string-list" | "column-map" | "boolean" | "enum";

/** What a route feeds: a contact list, or an internal DNC list. */
export type RouteKind = "contact" | "dnc";

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
  /** The only kind of route the field applies to; undefined: both. */
  readonly kind?: RouteKind;
  /** What a `string-list` holds, for its messages; default "column names". */
  readonly items?: string;
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
  /** The DNC routes whose entries a file's summary counts among its imported contacts' numbers. */
  readonly checkDnc?: readonly string[];
  readonly dncListId?: string;
  readonly dncListName?: string;
  /** What the DNC route's files hold. */
  readonly dncEntries?: "phone" | "email";
  /** The CSV column holding each entry's expiry, an ISO 8601 date-time. */
  readonly expiryColumn?: string;
}

/** A route's folder name: lower-case letters, digits and dashes, as a Kubernetes label value could hold. */
export const ROUTE_NAME_PATTERN = "^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$";

/** Names a route may not take because the default route's folders use them: its lanes, routes/, and its own name. */
const DEFAULT_ROUTE_FOLDERS = ["bulk", "replace", "remove", "routes", "default"] as const;

/** The folder that holds the DNC routes' folders, beside inbox/ (and in archive/, rejects/, state/). */
export const DNC_FOLDER = "dnc";

/** Folder names a route may not take: the default route's own, and the DNC routes' parent folder. */
export const RESERVED_ROUTE_NAMES = [...DEFAULT_ROUTE_FOLDERS, DNC_FOLDER] as const;

/** The route of files dropped directly in inbox/: the service's single-list settings. */
export const DEFAULT_ROUTE = "default";

export const ROUTE_FIELDS: readonly RouteFieldDescriptor[] = [
  {
    key: "name",
    type: "string",
    required: true,
    doc: "The route's folder: files go in inbox/<name>/ (and its bulk/, replace/, remove/), or for a DNC route in dnc/<name>/add/ and dnc/<name>/remove/; also the route label of its metrics",
    pattern: {
      regex: ROUTE_NAME_PATTERN,
      message:
        "a route name is 1 to 40 lower-case letters, digits or dashes, starting and ending with a letter or digit",
    },
  },
  {
    key: "contactListId",
    type: "string",
    kind: "contact",
    doc: "The contact list's id (give this or contactListName)",
  },
  {
    key: "contactListName",
    type: "string",
    kind: "contact",
    doc: "The contact list's name, resolved at start; it must match exactly one list (give this or contactListId)",
  },
  {
    key: "columns",
    type: "column-map",
    kind: "contact",
    doc: "The CRM's column names (matched case-insensitively) mapped to the list's columns; a column not mapped keeps its name",
    defaultText: "(none: the file's header uses the list's names)",
  },
  {
    key: "unmappedColumns",
    type: "enum",
    kind: "contact",
    choices: ["refuse", "drop"],
    doc: "A column that is neither mapped nor a column of the list: refuse the file, or drop the column (named in the file's summary)",
    defaultText: "refuse",
  },
  {
    key: "idColumn",
    type: "string",
    kind: "contact",
    doc: "The list's column holding the stable contact id",
    defaultText: "IMPORT_ID_COLUMN",
  },
  {
    key: "phoneColumns",
    type: "string-list",
    kind: "contact",
    doc: "The list's columns holding phone numbers, normalised to E.164",
    defaultText: "IMPORT_PHONE_COLUMNS",
  },
  {
    key: "defaultCountry",
    type: "string",
    doc: "ISO 3166 country for national numbers (a DNC route's phone numbers too)",
    defaultText: "IMPORT_DEFAULT_COUNTRY",
    pattern: { regex: "^[A-Z]{2}$", message: "defaultCountry is a two-letter ISO 3166 code such as GB" },
  },
  {
    key: "allowClear",
    type: "boolean",
    kind: "contact",
    doc: "Files in inbox/<name>/replace/ clear the list before their bulk load (clearing cancels scheduled callbacks)",
    defaultText: "false",
  },
  {
    key: "checkDnc",
    type: "string-list",
    kind: "contact",
    items: "route names",
    doc: "DNC routes of this deployment: each file's summary counts its imported contacts with a number that this service put on their DNC lists (Genesys still imports them, and suppresses them when dialling)",
    defaultText: "(none)",
  },
  {
    key: "dncListId",
    type: "string",
    kind: "dnc",
    doc: "An internal DNC list's id: the route is a DNC route (give this or dncListName)",
  },
  {
    key: "dncListName",
    type: "string",
    kind: "dnc",
    doc: "An internal DNC list's name, resolved at start; it must match exactly one list (give this or dncListId)",
  },
  {
    key: "dncEntries",
    type: "enum",
    kind: "dnc",
    choices: ["phone", "email"],
    doc: "What the DNC route's files hold: phone numbers (normalised to E.164) or email addresses",
    defaultText: "email for a list whose contact method is Email, else phone",
  },
  {
    key: "expiryColumn",
    type: "string",
    kind: "dnc",
    doc: "The CSV column giving each entry of dnc/<name>/add/ its expiry, an ISO 8601 date-time with a zone (empty: never expires)",
    defaultText: "(none: entries never expire)",
  },
];

/** The fields that name a route's list: exactly one of them makes a route, and decides its kind. */
export const LIST_FIELDS: ReadonlyArray<{ readonly key: keyof RouteSpec; readonly kind: RouteKind }> = [
  { key: "contactListId", kind: "contact" },
  { key: "contactListName", kind: "contact" },
  { key: "dncListId", kind: "dnc" },
  { key: "dncListName", kind: "dnc" },
];

/** A DNC route: it names a DNC list (dncListId or dncListName) rather than a contact list. */
export function isDncRoute(route: RouteSpec): boolean {
  return route.dncListId !== undefined || route.dncListName !== undefined;
}

/** The kind of a declared route: `dnc` when it names a DNC list, else `contact`. */
export function routeKind(route: RouteSpec): RouteKind {
  return isDncRoute(route) ? "dnc" : "contact";
}

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
      return Array.isArray(value) &&
        value.length > 0 &&
        value.every((item) => typeof item === "string" && item !== "")
        ? []
        : [`${name} must be a non-empty list of ${field.items ?? "column names"}`];
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
      problems.push(
        `${name} maps "${sources.get(fromKey)}" and "${from}", which Genesys reads as one column: keep one`,
      );
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
  problems.push(...reservedNameProblems(value.name, at), ...listProblems(value, at));
  return problems;
}

function reservedNameProblems(name: unknown, at: string): string[] {
  if (name === DNC_FOLDER)
    return [
      `${at}.name "${name}" is taken (dnc/ holds the DNC routes' folders, dnc/<route>/add/ and dnc/<route>/remove/): choose another`,
    ];
  if (typeof name === "string" && (DEFAULT_ROUTE_FOLDERS as readonly string[]).includes(name))
    return [
      `${at}.name "${name}" is taken (${DEFAULT_ROUTE_FOLDERS.join(", ")} are the default route's own folders): choose another`,
    ];
  return [];
}

/**
 * A route names exactly one list, by id or by name, a contact list or a DNC list; the fields of
 * the other kind of route are refused, each with what to do instead.
 */
function listProblems(value: Record<string, unknown>, at: string): string[] {
  const given = LIST_FIELDS.filter(({ key }) => value[key] !== undefined);
  if (given.length === 0)
    return ROUTE_FIELDS.some((field) => field.kind === "dnc" && value[field.key] !== undefined)
      ? [`${at} names no DNC list: set dncListId or dncListName`]
      : [`${at} names no contact list: set contactListId or contactListName`];
  const kinds = new Set(given.map(({ kind }) => kind));
  if (kinds.size > 1)
    return [
      `${at} gives both a contact list (${given
        .filter(({ kind }) => kind === "contact")
        .map(({ key }) => key)
        .join(", ")}) ` +
        `and a DNC list (${given
          .filter(({ kind }) => kind === "dnc")
          .map(({ key }) => key)
          .join(", ")}): a route feeds one list; declare a route of each kind`,
    ];
  const kind = given[0]!.kind;
  const problems =
    given.length > 1 ? [`${at} gives both ${given[0]!.key} and ${given[1]!.key}: keep one`] : [];
  for (const field of ROUTE_FIELDS)
    if (field.kind !== undefined && field.kind !== kind && value[field.key] !== undefined)
      problems.push(otherKindProblem(field, kind, at));
  return problems;
}

function otherKindProblem(field: RouteFieldDescriptor, kind: RouteKind, at: string): string {
  const name = `${at}.${field.key}`;
  if (kind === "dnc")
    return field.key === "checkDnc"
      ? `${name} applies to contact-list routes, and ${at} is a DNC route: name this DNC route in the checkDnc of the contact-list routes whose files it should count`
      : `${name} applies to contact-list routes only, and ${at} is a DNC route (its files hold phone numbers or email addresses, see dncEntries and expiryColumn): remove ${field.key}`;
  return `${name} applies to DNC routes only (dncListId or dncListName), and ${at} is a contact-list route: remove ${field.key}, or declare a DNC route of its own for the opt-outs`;
}

/** Everything wrong with a set of routes: each route, then names used twice, clearing in production and checkDnc. */
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
      problems.push(
        `${at}.name "${route.name}" is also the name of ${where}[${first}]: route names are folders, one each`,
      );
    else seen.set(route.name, index);
    if (route.allowClear === true && context.production && !context.clearAllowedInProduction)
      problems.push(
        `${at} ("${route.name}") allows clearing its list in production: clearing cancels scheduled callbacks; set allowClearInProduction: true beside routes to confirm, or drop allowClear`,
      );
  });
  value.forEach((route: unknown, index) =>
    problems.push(...checkDncProblems(route, value, `${where}[${index}]`)),
  );
  return problems;
}

/** The names a contact-list route's checkDnc gives must be DNC routes of the same set, of phone numbers. */
function checkDncProblems(route: unknown, routes: readonly unknown[], at: string): string[] {
  if (!isRecord(route) || !Array.isArray(route.checkDnc)) return [];
  const problems: string[] = [];
  for (const name of route.checkDnc) {
    if (typeof name !== "string" || name === "") continue;
    const target = routes.find((other) => isRecord(other) && other.name === name) as
      Record<string, unknown> | undefined;
    if (target === undefined)
      problems.push(
        `${at}.checkDnc names "${name}", which is no route of this set: name a declared DNC route, or remove it`,
      );
    else if (!LIST_FIELDS.some(({ key, kind }) => kind === "dnc" && target[key] !== undefined))
      problems.push(
        `${at}.checkDnc names "${name}", a contact-list route: checkDnc names DNC routes (routes with dncListId or dncListName)`,
      );
    else if (target.dncEntries === "email")
      problems.push(
        `${at}.checkDnc names "${name}", whose files hold email addresses: the count looks up the contacts' phone numbers, so name DNC routes of phone numbers`,
      );
  }
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
        properties[field.key] = {
          ...base,
          type: "array",
          minItems: 1,
          items: { type: "string", minLength: 1 },
        };
        break;
      case "column-map":
        properties[field.key] = {
          ...base,
          type: "object",
          additionalProperties: { type: "string", minLength: 1 },
        };
        break;
    }
  }
  return {
    type: "object",
    additionalProperties: false,
    required: ROUTE_FIELDS.filter((field) => field.required).map((field) => field.key),
    properties,
    // Exactly one list field, and none of the other kind's fields: routeProblems' rules.
    oneOf: LIST_FIELDS.map(({ key, kind }) => ({
      required: [key],
      not: {
        anyOf: ROUTE_FIELDS.filter((field) => field.kind !== undefined && field.kind !== kind).map(
          (field) => ({
            required: [field.key],
          }),
        ),
      },
    })),
    not: { properties: { name: { enum: [...RESERVED_ROUTE_NAMES] } }, required: ["name"] },
  };
}
