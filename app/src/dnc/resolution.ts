import type { Logger } from "pino";
import {
  findDncListsByName,
  getDncList,
  type DncEntryKind,
  type DncListDefinition,
} from "../genesys/dnc-api";
import type { GenesysClient } from "../genesys/client";
import { failureClass, targetFix } from "../genesys/errors";
import type { ImportConfig } from "../import/config";
import { genesysWorkRetries } from "../import/retries";
import { ConfigurationError } from "../shared/errors";
import { isDncRoute, type RouteSpec } from "../shared/routes";
import type { Clock, Random } from "../time/clock";

/** One DNC route as the service runs it: its list's id, what its files hold, how numbers are read. */
export interface DncRoute {
  /** The declared name: its folder dnc/<name>/ and the route label of its metrics. */
  readonly name: string;
  readonly dncListId: string;
  /** The name the route gave, when it named its list by name. */
  readonly dncListName?: string;
  readonly kind: DncEntryKind;
  /** ISO 3166 country for national numbers: the route's own, else IMPORT_DEFAULT_COUNTRY. */
  readonly defaultCountry: string;
  /** The CSV column of each added entry's expiry; undefined: entries never expire. */
  readonly expiryColumn?: string;
}

export interface DncResolutionDependencies {
  readonly client: GenesysClient;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

/** The DNC routes of a declared set (shared/routes.ts isDncRoute), in declared order. */
export function dncRouteSpecs(specs: readonly RouteSpec[]): RouteSpec[] {
  return specs.filter(isDncRoute);
}

/**
 * Turns declared DNC routes into running ones, once a token is held: a list named by name must
 * match exactly one DNC list, and a route whose entries do not match its list's contact method
 * (email addresses for a list of phone numbers) cannot work. Every problem is collected and thrown
 * as one ConfigurationError (the process exits 78, as for a contact route), naming the route and
 * the fix. A list that refuses to be read (403, 404) or that is not internal is no start problem:
 * the route's gate holds that route back and says so, and the others run. Transient failures are
 * retried until Genesys answers or the service stops. What a route's files hold, when it does not
 * say (dncEntries), follows the list: email for a list of email addresses, else phone.
 */
export async function resolveDncRoutes(
  specs: readonly RouteSpec[],
  base: Pick<ImportConfig, "defaultCountry">,
  deps: DncResolutionDependencies,
): Promise<DncRoute[]> {
  const problems: string[] = [];
  const routes: DncRoute[] = [];
  for (const spec of dncRouteSpecs(specs)) {
    const found = await resolveList(spec, deps, problems);
    if (found === undefined) continue;
    const list = found.list ?? (await readList(found.id, spec, deps));
    const kind = spec.dncEntries ?? (list?.contactMethod === "Email" ? "email" : "phone");
    const mismatch = list ? contactMethodProblem(spec, list, kind) : undefined;
    if (mismatch) problems.push(mismatch);
    routes.push({
      name: spec.name,
      dncListId: found.id,
      ...(spec.dncListName !== undefined ? { dncListName: spec.dncListName } : {}),
      kind,
      defaultCountry: spec.defaultCountry ?? base.defaultCountry,
      ...(spec.expiryColumn !== undefined ? { expiryColumn: spec.expiryColumn } : {}),
    });
  }
  if (problems.length > 0) throw new ConfigurationError(problems);
  return routes;
}

/** The route's list id (and the list, when the search gave it); undefined after a problem. */
async function resolveList(
  spec: RouteSpec,
  deps: DncResolutionDependencies,
  problems: string[],
): Promise<{ id: string; list?: DncListDefinition } | undefined> {
  if (spec.dncListId !== undefined) return { id: spec.dncListId };
  const name = spec.dncListName!;
  let lists;
  try {
    lists = await answered(deps, () => findDncListsByName(deps.client, name));
  } catch (error) {
    if (failureClass(error) !== "target-fatal" && failureClass(error) !== "request-fatal") throw error;
    problems.push(
      `route ${spec.name}: looking up the DNC list named "${name}" was refused (${(error as Error).message}). Fix: ${targetFix(error, "the DNC lists")}, or give the route's dncListId`,
    );
    return undefined;
  }
  if (lists.length === 1) return { id: lists[0]!.id, list: lists[0] };
  problems.push(
    lists.length === 0
      ? `route ${spec.name}: no DNC list is named "${name}" (names match exactly, case included): correct dncListName, or give dncListId`
      : `route ${spec.name}: ${lists.length} DNC lists are named "${name}" (ids ${lists.map((list) => list.id).join(", ")}): give the route the dncListId of the one it means, or rename the others in Genesys Cloud`,
  );
  return undefined;
}

/** The list's definition; undefined when it cannot be read now (the route's gate will say why). */
async function readList(
  dncListId: string,
  spec: RouteSpec,
  deps: DncResolutionDependencies,
): Promise<DncListDefinition | undefined> {
  try {
    return await answered(deps, () => getDncList(deps.client, dncListId));
  } catch (error) {
    if (deps.signal.aborted) throw error;
    deps.logger.warn(
      { route: spec.name, dncListId, err: { message: (error as Error).message } },
      "could not read the route's DNC list at start; its entries are taken as phone numbers unless dncEntries says otherwise",
    );
    return undefined;
  }
}

/** Entries of one kind on a list of the other: Genesys would refuse every batch. */
function contactMethodProblem(
  spec: RouteSpec,
  list: DncListDefinition,
  kind: DncEntryKind,
): string | undefined {
  const holds =
    list.contactMethod === "Phone" ? "phone" : list.contactMethod === "Email" ? "email" : undefined;
  if (holds === undefined || holds === kind) return undefined;
  const named = list.name ? `"${list.name}" (${list.id})` : list.id;
  return (
    `route ${spec.name}: DNC list ${named} holds ${holds === "phone" ? "phone numbers" : "email addresses"} (contactMethod ${list.contactMethod}), ` +
    `and the route's entries are ${kind === "phone" ? "phone numbers" : "email addresses"}: set dncEntries to ${holds}, or point the route at a DNC list of ${kind === "phone" ? "phone numbers" : "email addresses"}`
  );
}

/** A Genesys call retried through transient failures until it answers (or the service stops). */
function answered<T>(deps: DncResolutionDependencies, call: () => Promise<T>): Promise<T> {
  const retries = genesysWorkRetries(deps, ({ error, delayMs }) =>
    deps.logger.warn(
      { err: { message: (error as Error).message }, retryInMs: delayMs },
      "resolving the DNC routes: Genesys Cloud did not answer yet; trying again",
    ),
  );
  return retries.execute(call, deps.signal);
}
