import {
  DNC_FOLDER,
  LIST_FIELDS,
  RESERVED_ROUTE_NAMES,
  ROUTE_FIELDS,
  routeJsonSchema,
  type RouteFieldDescriptor,
  type RouteKind,
} from "../app/src/shared/routes";

/**
 * The parts of the generated files that follow from the route table (app/src/shared/routes.ts):
 * the chart's `routes` value (its `## @param` line and default in values.yaml, its schema in
 * values.schema.json) and the route table of docs/configuration.md. settings-files.ts puts them in
 * place, so `npm run settings:generate` writes them and the settings test fails while they are stale.
 */

/** The chart value that carries the routes (the chart mounts them as IMPORT_ROUTES_FILE). */
export const ROUTES_VALUE = "routes";

const FIELD_KEYS = ROUTE_FIELDS.map((field) => field.key).join(", ");
const ROUTES_DOC = `Import routes: other contact lists, each fed from inbox/<name>/, and internal DNC lists, each fed from dnc/<name>/add/ and dnc/<name>/remove/, as a list of {${FIELD_KEYS}} (docs/configuration.md, Routes); mounted as IMPORT_ROUTES_FILE. Empty: files directly in inbox/ only`;

/** The marker lines around the route table of docs/configuration.md. */
export const routeTableMarkers = (regenerate: string) => ({
  begin: `<!-- >>> routes: generated from app/src/shared/routes.ts by \`${regenerate}\`: edit there, not here -->`,
  end: "<!-- <<< generated routes -->",
});

/** The values.yaml lines of the `routes` value, a section of their own. */
export function renderRoutesValues(): string[] {
  return [
    "",
    "## @section Import routes (other contact lists and DNC lists)",
    "",
    `## @param ${ROUTES_VALUE} ${ROUTES_DOC}`,
    `${ROUTES_VALUE}: []`,
  ];
}

/** The `routes` property of values.schema.json: a list of routes, each under the route table's schema. */
export function routesSchema(): Record<string, unknown> {
  return {
    description: `${ROUTES_DOC}. Route names must differ: the chart refuses a name used twice (a schema cannot say it)`,
    type: "array",
    items: routeJsonSchema(),
  };
}

function typeCell(field: RouteFieldDescriptor): string {
  switch (field.type) {
    case "string":
      return field.pattern ? `text, \`${field.pattern.regex}\`` : "text";
    case "string-list":
      return `list of ${field.items ?? "column names"}`;
    case "column-map":
      return "map: CRM column → list column";
    case "boolean":
      return "true, false";
    case "enum":
      return field.choices!.join(", ");
  }
}

function defaultCell(field: RouteFieldDescriptor): string {
  return field.defaultText ?? (field.required ? "required" : "(none)");
}

/** Field names as the docs show them: `a`, `b` or `c`. */
const code = (keys: readonly string[], joint: string) => keys.map((key) => `\`${key}\``).join(joint);

/** The rules a row of the route table cannot show: one list a route, each kind's fields, the names. */
function rulesBetweenFields(): string {
  const listKeys = (kind: RouteKind) =>
    LIST_FIELDS.filter((field) => field.kind === kind).map(({ key }) => key);
  const isListKey = (key: string) => LIST_FIELDS.some((field) => field.key === key);
  const keysOf = (kind: RouteKind | undefined) =>
    ROUTE_FIELDS.filter((field) => field.kind === kind && !isListKey(field.key)).map(({ key }) => key);
  return [
    `Each route names one list: a contact list by ${code(listKeys("contact"), " or ")}, or an internal DNC list by ${code(listKeys("dnc"), " or ")} (a DNC route), never two.`,
    `A DNC route takes ${code(keysOf("dnc"), " and ")} beside ${code(keysOf(undefined), " and ")}; the other fields are contact-list routes' own, and each kind's fields are refused on the other kind of route.`,
    `Route names are unique across both kinds, and none is ${code(RESERVED_ROUTE_NAMES, ", ")}: the default route's own folders, and \`${DNC_FOLDER}/\`, the DNC routes' folder (\`${DNC_FOLDER}/<name>/add/\` and \`${DNC_FOLDER}/<name>/remove/\`).`,
  ].join(" ");
}

/** The route table of docs/configuration.md, with the rules between fields that a row cannot show. */
export function renderRouteTable(regenerate: string): string {
  const rows = ROUTE_FIELDS.map((field) => {
    const cells = [`\`${field.key}\``, typeCell(field), defaultCell(field), field.doc];
    return `| ${cells.map((cell) => cell.replace(/\|/g, "\\|")).join(" | ")} |`;
  });
  const { begin, end } = routeTableMarkers(regenerate);
  return [
    begin,
    "",
    "| field | type | default | meaning |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
    rulesBetweenFields(),
    "",
    end,
  ].join("\n");
}
