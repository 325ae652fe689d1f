import {
  RESERVED_ROUTE_NAMES,
  ROUTE_FIELDS,
  routeJsonSchema,
  type RouteFieldDescriptor,
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
const ROUTES_DOC = `Import routes: other contact lists, each with its own inbox/<name>/ folder, as a list of {${FIELD_KEYS}} (docs/configuration.md, Routes); mounted as IMPORT_ROUTES_FILE. Empty: files directly in inbox/ only`;

/** The marker lines around the route table of docs/configuration.md. */
export const routeTableMarkers = (regenerate: string) => ({
  begin: `<!-- >>> routes: generated from app/src/shared/routes.ts by \`${regenerate}\`: edit there, not here -->`,
  end: "<!-- <<< generated routes -->",
});

/** The values.yaml lines of the `routes` value, a section of their own. */
export function renderRoutesValues(): string[] {
  return [
    "",
    "## @section Import routes (other contact lists)",
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
      return "list of column names";
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

/** The route table of docs/configuration.md, with the rules between fields that a row cannot show. */
export function renderRouteTable(regenerate: string): string {
  const rows = ROUTE_FIELDS.map((field) => {
    const cells = [`\`${field.key}\``, typeCell(field), defaultCell(field), field.doc];
    return `| ${cells.map((cell) => cell.replace(/\|/g, "\\|")).join(" | ")} |`;
  });
  const { begin, end } = routeTableMarkers(regenerate);
  const reserved = RESERVED_ROUTE_NAMES.map((name) => `\`${name}\``).join(", ");
  return [
    begin,
    "",
    "| field | type | default | meaning |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
    `Each route gives \`contactListId\` or \`contactListName\`, not both. Route names are unique, and none is ${reserved} (the default route's own folders).`,
    "",
    end,
  ].join("\n");
}
