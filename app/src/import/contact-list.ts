import { getContactList, type ContactListDefinition } from "../genesys/api";
import type { GenesysClient } from "../genesys/client";
import { RateLimitDeferredError } from "../genesys/errors";
import type { Clock } from "../time/clock";
import type { ImportConfig } from "./config";
import { LIST_LIMITS } from "./list-limits";
import type { RowValidator } from "./rows";

const lower = (name: string) => name.toLowerCase();

/**
 * Why a file's header cannot go into the contact list, each naming the column and the fix: too
 * many columns or too long a name, a column the list does not have (Genesys matches names
 * case-insensitively), a phone column the list does not declare as one. A definition without
 * columns (the simulator's undefined lists) is not checked.
 */
export function listHeaderProblems(
  header: readonly string[],
  definition: ContactListDefinition,
  config: Pick<ImportConfig, "phoneColumns">,
): string[] {
  const problems: string[] = [];
  const listName = `contact list ${definition.name ? `"${definition.name}" (${definition.id})` : definition.id}`;
  if (header.length > LIST_LIMITS.columns)
    problems.push(
      `the header has ${header.length} columns; a Genesys contact list holds at most ${LIST_LIMITS.columns}: split the file or drop columns`,
    );
  for (const column of header)
    if (column.length > LIST_LIMITS.columnNameChars)
      problems.push(
        `column "${column.slice(0, 40)}…" has a ${column.length}-character name; Genesys allows ${LIST_LIMITS.columnNameChars}: shorten it`,
      );
  if (definition.columnNames.length === 0) return problems;
  const columns = new Set(definition.columnNames.map(lower));
  const missing = header.filter((column) => column !== "" && !columns.has(lower(column)));
  if (missing.length > 0)
    problems.push(
      `${missing.map((column) => `"${column}"`).join(", ")} ${missing.length === 1 ? "is not a column" : "are not columns"} of ${listName} ` +
        `(its columns: ${definition.columnNames.join(", ")}): rename ${missing.length === 1 ? "it" : "them"} in the file, or add ${missing.length === 1 ? "it" : "them"} to the list in Genesys Cloud Admin > Outbound > Contact Lists`,
    );
  const phones = new Set(definition.phoneColumns.map((column) => lower(column.columnName)));
  const undeclared = config.phoneColumns.filter(
    (column) =>
      header.some((name) => lower(name) === lower(column)) &&
      columns.has(lower(column)) &&
      !phones.has(lower(column)),
  );
  for (const column of undeclared)
    problems.push(
      `column "${column}" holds phone numbers (IMPORT_PHONE_COLUMNS) but is not a phone column of ${listName} ` +
        `(its phone columns: ${definition.phoneColumns.map((phone) => phone.columnName).join(", ") || "none"}): declare it as one on the list, or take it out of IMPORT_PHONE_COLUMNS`,
    );
  return problems;
}

/** Everything wrong with a file's header: against the settings, and against the list when its definition was read. */
export function fileHeaderProblems(
  header: readonly string[],
  validator: Pick<RowValidator, "headerProblems">,
  definition: ContactListDefinition | undefined,
  config: Pick<ImportConfig, "phoneColumns">,
): string[] {
  return [
    ...validator.headerProblems(header),
    ...(definition ? listHeaderProblems(header, definition, config) : []),
  ];
}

/** A warning when importing `rows` more contacts could push the list past what it holds; undefined when it fits. */
export function capacityWarning(definition: ContactListDefinition, rows: number): string | undefined {
  if (definition.size === undefined) return undefined;
  const after = definition.size + rows;
  if (after <= LIST_LIMITS.contactsPerList) return undefined;
  return (
    `contact list ${definition.id} holds ${definition.size} contacts; this file's ${rows} rows could take it to ${after}, ` +
    `past the ${LIST_LIMITS.contactsPerList} a list holds (rows whose id is already in the list only update it). ` +
    `Genesys will refuse the contacts past the limit: clear old contacts, or split the import over another list`
  );
}

/**
 * Reads the list's definition. A 429 with a Retry-After over the client's cap comes back as
 * deferred: this waits it out and asks again, as the batches do, so the next ask is never early.
 * Any other failure is the caller's to classify.
 */
export async function readListDefinition(
  client: GenesysClient,
  contactListId: string,
  clock: Clock,
  signal: AbortSignal,
): Promise<ContactListDefinition> {
  for (;;) {
    try {
      return await getContactList(client, contactListId);
    } catch (error) {
      if (!(error instanceof RateLimitDeferredError)) throw error;
      await clock.sleep(error.retryAfterMs, signal);
    }
  }
}
