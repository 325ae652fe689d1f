import type { GenesysClient } from "./client";

/**
 * Genesys Cloud's DNC lists (`/api/v2/outbound/dnclists`), as the DNC routes use them. Only an
 * internal list (`dncSourceType: "rds"`) takes entries from a client; the others are fed by their
 * provider (dnc.com, gryphon) or by a contact list's column (rds_custom). Entries are changed with
 * one PATCH per batch (`{action: "Add" | "Remove", phoneNumbers | emailAddresses,
 * expirationDateTime?}`, permission `outbound:dnc:edit` for both), the expiry applying to the
 * whole request, to the minute (`yyyy-MM-ddTHH:mmZ`).
 */

/** What a DNC list holds: phone numbers or email addresses (`Any`: both). */
export type DncContactMethod = "Phone" | "Email" | "Any";

/** `rds` is the internal kind, the only one a client may add to or remove from. */
export const INTERNAL_DNC_SOURCE = "rds";

/** A DNC list's definition, as `GET /api/v2/outbound/dnclists/{id}` returns it (the fields read here). */
export interface DncListDefinition {
  readonly id: string;
  readonly name?: string;
  readonly dncSourceType?: string;
  readonly contactMethod?: DncContactMethod;
  readonly size?: number;
}

/** The kind of entries a request names: the route (and the body's field) differ. */
export type DncEntryKind = "phone" | "email";

export type DncAction = "Add" | "Remove";

/** Entries one PATCH names. Genesys documents no cap: 1,000 keeps an email batch near 260 KB, under the 512,000-byte body limit. */
export const MAX_DNC_ENTRIES_PER_REQUEST = 1_000;

const LIST_ROUTE = "/api/v2/outbound/dnclists/{dncListId}";

const ENTRY_PATHS: Readonly<Record<DncEntryKind, { readonly segment: string; readonly field: string }>> = {
  phone: { segment: "phonenumbers", field: "phoneNumbers" },
  email: { segment: "emailaddresses", field: "emailAddresses" },
};

/** The route template of a list's entries, as metrics and the gate name it. */
export function dncEntriesRoute(kind: DncEntryKind): string {
  return `${LIST_ROUTE}/${ENTRY_PATHS[kind].segment}`;
}

/** Reads a DNC list's definition: its kind (dncSourceType) and contact method; also the check that it is reachable. */
export function getDncList(client: GenesysClient, dncListId: string): Promise<DncListDefinition> {
  return client.request<DncListDefinition>({
    method: "GET",
    path: `/api/v2/outbound/dnclists/${encodeURIComponent(dncListId)}`,
    route: LIST_ROUTE,
  });
}

/** A page of `GET /api/v2/outbound/dnclists` (a DncListEntityListing). */
interface DncListPage {
  readonly entities?: readonly DncListDefinition[];
  readonly pageCount?: number;
}

/** Lists on one page of the search; 100 is the most Genesys returns. */
const DNC_LISTS_PAGE_SIZE = 100;

/**
 * Every DNC list whose name is exactly `name` (`filterType=Equals`: the API's default is a
 * prefix match), all pages followed. Names are not unique in Genesys: a caller that needs one
 * list treats anything but exactly one answer as a configuration error.
 */
export async function findDncListsByName(client: GenesysClient, name: string): Promise<DncListDefinition[]> {
  const found: DncListDefinition[] = [];
  for (let pageNumber = 1; ; pageNumber += 1) {
    const page = await client.request<DncListPage>({
      method: "GET",
      path: "/api/v2/outbound/dnclists",
      route: "/api/v2/outbound/dnclists",
      query: { name, filterType: "Equals", pageSize: DNC_LISTS_PAGE_SIZE, pageNumber },
    });
    const entities = page.entities ?? [];
    // A prefix match from an API that ignored filterType would name other lists: keep exact names only.
    found.push(...entities.filter((list) => list.name === name));
    if (entities.length === 0 || pageNumber >= (page.pageCount ?? 0)) return found;
  }
}

/**
 * Adds entries to an internal DNC list, or removes them: one PATCH, all with the same expiry
 * (`expirationDateTime`, `yyyy-MM-ddTHH:mmZ`; undefined: never expires; ignored by a removal).
 * Adding an entry that is there already sets its expiry; removing one that is not there is no
 * error. At most MAX_DNC_ENTRIES_PER_REQUEST entries a call; more is refused here, before anything is sent.
 */
export async function changeDncEntries(
  client: GenesysClient,
  dncListId: string,
  change: {
    readonly kind: DncEntryKind;
    readonly action: DncAction;
    readonly entries: readonly string[];
    readonly expirationDateTime?: string;
  },
): Promise<void> {
  if (change.entries.length > MAX_DNC_ENTRIES_PER_REQUEST)
    throw new RangeError(
      `changeDncEntries takes at most ${MAX_DNC_ENTRIES_PER_REQUEST} entries a call; got ${change.entries.length}: split them into batches`,
    );
  if (change.entries.length === 0) return;
  const { segment, field } = ENTRY_PATHS[change.kind];
  await client.request({
    method: "PATCH",
    path: `/api/v2/outbound/dnclists/${encodeURIComponent(dncListId)}/${segment}`,
    route: dncEntriesRoute(change.kind),
    body: {
      action: change.action,
      [field]: change.entries,
      ...(change.action === "Add" && change.expirationDateTime !== undefined
        ? { expirationDateTime: change.expirationDateTime }
        : {}),
    },
    ignoreResponseBody: true,
  });
}
