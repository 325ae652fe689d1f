import type { Logger } from "pino";
import { findContactListsByName, type ContactListDefinition } from "../genesys/api";
import type { GenesysClient } from "../genesys/client";
import { failureClass, targetFix } from "../genesys/errors";
import { ConfigurationError } from "../shared/errors";
import { DEFAULT_ROUTE, type RouteSpec } from "../shared/routes";
import type { Clock, Random } from "../time/clock";
import type { ColumnMapSpec } from "./column-map";
import type { ImportConfig } from "./config";
import { readListDefinition } from "./contact-list";
import { genesysWorkRetries } from "./retries";

/** One import route as the service runs it: its list's id, its settings and its column mapping. */
export interface ImportRoute {
  /** `default` for files directly in inbox/, else the declared name (its folder). */
  readonly name: string;
  /** The route label of its metrics: undefined for the default route, whose series have none. */
  readonly label: string | undefined;
  readonly contactListId: string;
  /** The name the route gave, when it named its list by name. */
  readonly contactListName?: string;
  /** The import settings, with the route's own id column, phone columns, country and clearing. */
  readonly config: ImportConfig;
  /** Undefined for the default route: its files use the list's names. */
  readonly columnMap: ColumnMapSpec | undefined;
}

/** The default route: today's single-list settings, files directly in inbox/. */
export function defaultRoute(config: ImportConfig, contactListId: string): ImportRoute {
  return { name: DEFAULT_ROUTE, label: undefined, contactListId, config, columnMap: undefined };
}

/** A declared route's settings: its own where it gives them, the service's otherwise. */
export function routeImportConfig(spec: RouteSpec, base: ImportConfig): ImportConfig {
  return {
    ...base,
    idColumn: spec.idColumn ?? base.idColumn,
    phoneColumns: spec.phoneColumns ?? base.phoneColumns,
    defaultCountry: spec.defaultCountry ?? base.defaultCountry,
    // IMPORT_COLUMNS describes the default list; a route's list is judged by its own definition.
    columns: [],
    bulk: { ...base.bulk, allowClear: spec.allowClear ?? false },
  };
}

export interface ResolutionDependencies {
  readonly client: GenesysClient;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

const lower = (name: string) => name.toLowerCase();

/**
 * Turns declared routes into running ones, once a token is held: a list named by name must match
 * exactly one list, and a route's mapping, id column and phone columns must name columns its list
 * has. Every problem is collected and thrown as one ConfigurationError (the process exits 78, as
 * for any setting), naming the route and the fix. A list that refuses to be read (403, 404) is not
 * a start problem: the route's gate holds it back and says so, as for the default list. Transient
 * failures are retried until Genesys answers or the service stops.
 */
export async function resolveRoutes(
  specs: readonly RouteSpec[],
  base: ImportConfig,
  deps: ResolutionDependencies,
): Promise<ImportRoute[]> {
  const problems: string[] = [];
  const routes: ImportRoute[] = [];
  for (const spec of specs) {
    const found = await resolveList(spec, deps, problems);
    if (found === undefined) continue;
    const config = routeImportConfig(spec, base);
    const definition = found.definition ?? (await readDefinition(found.id, spec, deps));
    if (definition) problems.push(...columnProblems(spec, config, definition));
    routes.push({
      name: spec.name,
      label: spec.name,
      contactListId: found.id,
      ...(spec.contactListName !== undefined ? { contactListName: spec.contactListName } : {}),
      config,
      columnMap: {
        route: spec.name,
        columns: spec.columns ?? {},
        unmapped: spec.unmappedColumns ?? "refuse",
      },
    });
  }
  if (problems.length > 0) throw new ConfigurationError(problems);
  return routes;
}

/** The route's list id (and its definition, when the search gave it); undefined after a problem. */
async function resolveList(
  spec: RouteSpec,
  deps: ResolutionDependencies,
  problems: string[],
): Promise<{ id: string; definition?: ContactListDefinition } | undefined> {
  if (spec.contactListId !== undefined) return { id: spec.contactListId };
  const name = spec.contactListName!;
  let lists;
  try {
    lists = await answered(deps, () => findContactListsByName(deps.client, name));
  } catch (error) {
    if (failureClass(error) !== "target-fatal" && failureClass(error) !== "request-fatal") throw error;
    problems.push(
      `route ${spec.name}: looking up the contact list named "${name}" was refused (${(error as Error).message}). Fix: ${targetFix(error, "the contact lists")}, or give the route's contactListId`,
    );
    return undefined;
  }
  if (lists.length === 1) return { id: lists[0]!.id, definition: lists[0] };
  problems.push(
    lists.length === 0
      ? `route ${spec.name}: no contact list is named "${name}" (names match exactly, case included): correct contactListName, or give contactListId`
      : `route ${spec.name}: ${lists.length} contact lists are named "${name}" (ids ${lists.map((list) => list.id).join(", ")}): give the route the contactListId of the one it means, or rename the others in Genesys Cloud`,
  );
  return undefined;
}

/** The list's definition; undefined when it cannot be read now (its gate will say why). */
async function readDefinition(
  contactListId: string,
  spec: RouteSpec,
  deps: ResolutionDependencies,
): Promise<ContactListDefinition | undefined> {
  try {
    return await answered(deps, () =>
      readListDefinition(deps.client, contactListId, deps.clock, deps.signal),
    );
  } catch (error) {
    if (deps.signal.aborted) throw error;
    deps.logger.warn(
      { route: spec.name, contactListId, err: { message: (error as Error).message } },
      "could not read the route's contact list at start; its columns are checked with each file instead",
    );
    return undefined;
  }
}

/** Columns the route names that its list does not have (a list without columns is not checked). */
function columnProblems(spec: RouteSpec, config: ImportConfig, definition: ContactListDefinition): string[] {
  if (definition.columnNames.length === 0) return [];
  const columns = new Set(definition.columnNames.map(lower));
  const listName = `contact list ${definition.name ? `"${definition.name}" (${definition.id})` : definition.id}`;
  const its = `(its columns: ${definition.columnNames.join(", ")})`;
  const problems: string[] = [];
  for (const [from, to] of Object.entries(spec.columns ?? {}))
    if (!columns.has(lower(to)))
      problems.push(
        `route ${spec.name} maps "${from}" to "${to}", which is not a column of ${listName} ${its}: map it to one of them, or add the column to the list`,
      );
  for (const [field, column] of [
    ["idColumn", config.idColumn],
    ...config.phoneColumns.map((phone) => ["phoneColumns", phone] as const),
  ] as const)
    if (!columns.has(lower(column)))
      problems.push(
        `route ${spec.name}: its ${field} "${column}" is not a column of ${listName} ${its}: set the route's ${field} to the list's column`,
      );
  const phones = new Set(definition.phoneColumns.map((phone) => lower(phone.columnName)));
  for (const column of config.phoneColumns)
    if (columns.has(lower(column)) && !phones.has(lower(column)))
      problems.push(
        `route ${spec.name}: "${column}" (phoneColumns) is not a phone column of ${listName}: declare it as one on the list, or take it out of the route's phoneColumns`,
      );
  return problems;
}

/** A Genesys call retried through transient failures until it answers (or the service stops). */
function answered<T>(deps: ResolutionDependencies, call: () => Promise<T>): Promise<T> {
  const retries = genesysWorkRetries(deps, ({ error, delayMs }) =>
    deps.logger.warn(
      { err: { message: (error as Error).message }, retryInMs: delayMs },
      "resolving the import routes: Genesys Cloud did not answer yet; trying again",
    ),
  );
  return retries.execute(call, deps.signal);
}
