import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import type { GenesysClient } from "./client";
import { UploadCutShortError, UploadOutcomeUnknownError } from "./errors";

/** A contact as `POST /api/v2/outbound/contactlists/{id}/contacts` takes it. */
export interface ContactInput {
  /** Stable id: posting the same id again updates the contact (an upsert). */
  readonly id?: string;
  readonly contactListId: string;
  readonly data: Readonly<Record<string, string>>;
  readonly callable?: boolean;
  readonly phoneNumberStatus?: Readonly<Record<string, { readonly callable: boolean }>>;
}

export interface DialerContact extends ContactInput {
  readonly id: string;
}

export interface AddContactsFlags {
  readonly priority?: boolean;
  readonly clearSystemData?: boolean;
  readonly doNotQueue?: boolean;
}

const CONTACTS_ROUTE = "/api/v2/outbound/contactlists/{contactListId}/contacts";

/** Contacts already serialised as a JSON array (the importer builds the body as it reads). */
export interface SerializedContacts {
  readonly json: string;
}

/**
 * Adds or updates up to 1,000 contacts in one request (the body must stay under 512,000 bytes).
 * Given objects, it returns the contacts Genesys echoes back; given a serialised body, it skips
 * parsing that echo (1,000 contacts nobody reads) and returns nothing.
 */
export function addContacts(
  client: GenesysClient,
  contactListId: string,
  contacts: readonly ContactInput[],
  flags?: AddContactsFlags,
): Promise<DialerContact[]>;
export function addContacts(
  client: GenesysClient,
  contactListId: string,
  contacts: SerializedContacts,
  flags?: AddContactsFlags,
): Promise<void>;
export async function addContacts(
  client: GenesysClient,
  contactListId: string,
  contacts: readonly ContactInput[] | SerializedContacts,
  flags: AddContactsFlags = {},
): Promise<DialerContact[] | void> {
  const request = {
    method: "POST" as const,
    path: `/api/v2/outbound/contactlists/${encodeURIComponent(contactListId)}/contacts`,
    route: CONTACTS_ROUTE,
    query: { ...flags },
  };
  if (Array.isArray(contacts)) return client.request<DialerContact[]>({ ...request, body: contacts });
  await client.request({
    ...request,
    jsonBody: (contacts as SerializedContacts).json,
    ignoreResponseBody: true,
  });
}

/** A contact list's definition: its columns, its phone columns and how many contacts it holds. */
export interface ContactListDefinition {
  readonly id: string;
  readonly name?: string;
  readonly columnNames: readonly string[];
  readonly phoneColumns: ReadonlyArray<{ readonly columnName: string; readonly type?: string }>;
  readonly size?: number;
}

/** Reads a contact list's definition: one cheap GET, also the check that the list is reachable. */
export function getContactList(client: GenesysClient, contactListId: string): Promise<ContactListDefinition> {
  return client.request<ContactListDefinition>({
    method: "GET",
    path: `/api/v2/outbound/contactlists/${encodeURIComponent(contactListId)}`,
    route: "/api/v2/outbound/contactlists/{contactListId}",
  });
}

/** A contact list found by name: its id, name, columns and phone columns. */
export interface NamedContactList extends ContactListDefinition {
  readonly name: string;
}

/** A page of `GET /api/v2/outbound/contactlists` (a ContactListEntityListing). */
interface ContactListPage {
  readonly entities?: readonly NamedContactList[];
  readonly pageCount?: number;
}

/** Lists on one page of the search; 100 is the most Genesys returns. */
const CONTACT_LISTS_PAGE_SIZE = 100;

/**
 * Every contact list whose name is exactly `name` (`filterType=Equals`: the API's default is a
 * prefix match), all pages followed. Names are not unique in Genesys: a caller that needs one list
 * treats anything but exactly one answer as a configuration error.
 */
export async function findContactListsByName(
  client: GenesysClient,
  name: string,
): Promise<NamedContactList[]> {
  const found: NamedContactList[] = [];
  for (let pageNumber = 1; ; pageNumber += 1) {
    const page = await client.request<ContactListPage>({
      method: "GET",
      path: "/api/v2/outbound/contactlists",
      route: "/api/v2/outbound/contactlists",
      query: { name, filterType: "Equals", pageSize: CONTACT_LISTS_PAGE_SIZE, pageNumber },
    });
    const entities = page.entities ?? [];
    found.push(
      ...entities.map(({ id, name: listName, columnNames, phoneColumns }) => ({
        id,
        name: listName,
        columnNames: columnNames ?? [],
        phoneColumns: phoneColumns ?? [],
      })),
    );
    if (entities.length === 0 || pageNumber >= (page.pageCount ?? 0)) return found;
  }
}

/** Ids one removal may name: they travel in the URL, whose length bounds them (about 100). */
export const MAX_CONTACT_IDS_PER_REMOVAL = 100;

/**
 * `DELETE .../contacts?contactIds=a,b`: removes the contacts that no campaign is using now. Genesys
 * leaves the others and does not say which: read the ids back (`readContacts`) to know what stayed.
 * At most 100 ids a call; more is refused here, before anything is sent.
 */
export async function removeContacts(
  client: GenesysClient,
  contactListId: string,
  ids: readonly string[],
): Promise<void> {
  if (ids.length > MAX_CONTACT_IDS_PER_REMOVAL)
    throw new RangeError(
      `removeContacts takes at most ${MAX_CONTACT_IDS_PER_REMOVAL} ids a call (they go in the URL); got ${ids.length}: split them into batches`,
    );
  if (ids.length === 0) return;
  await client.request({
    method: "DELETE",
    path: `/api/v2/outbound/contactlists/${encodeURIComponent(contactListId)}/contacts`,
    route: CONTACTS_ROUTE,
    query: { contactIds: ids.join(",") },
    ignoreResponseBody: true,
  });
}

/** Reads contacts by id; ids that do not exist are left out of the answer. */
export function readContacts(
  client: GenesysClient,
  contactListId: string,
  ids: readonly string[],
): Promise<DialerContact[]> {
  return client.request<DialerContact[]>({
    method: "POST",
    path: `/api/v2/outbound/contactlists/${encodeURIComponent(contactListId)}/contacts/bulk`,
    route: `${CONTACTS_ROUTE}/bulk`,
    body: ids,
  });
}

export interface ConversationDetailsQuery {
  /** `start/end` in ISO-8601. */
  readonly interval: string;
  readonly paging?: { readonly pageSize: number; readonly pageNumber: number };
  readonly order?: "asc" | "desc";
  readonly orderBy?: string;
  readonly segmentFilters?: readonly unknown[];
  readonly conversationFilters?: readonly unknown[];
}

export interface ConversationDetailsPage {
  readonly conversations?: ReadonlyArray<{
    readonly conversationId: string;
    readonly [key: string]: unknown;
  }>;
  readonly totalHits?: number;
}

export function queryConversationDetails(
  client: GenesysClient,
  query: ConversationDetailsQuery,
): Promise<ConversationDetailsPage> {
  return client.request<ConversationDetailsPage>({
    method: "POST",
    path: "/api/v2/analytics/conversations/details/query",
    body: query,
  });
}

export type DetailsJobState = "QUEUED" | "PENDING" | "FULFILLED" | "FAILED" | "CANCELLED" | "EXPIRED";

export interface DetailsJobStatus {
  readonly state: DetailsJobState;
  readonly errorMessage?: string;
  readonly expirationDate?: string;
}

export interface DetailsJobResultsPage {
  readonly conversations?: ConversationDetailsPage["conversations"];
  /** Absent on the last page. */
  readonly cursor?: string;
}

const JOBS_ROUTE = "/api/v2/analytics/conversations/details/jobs";

/** Starts an asynchronous details query (for large ranges); answers the job id. */
export function submitDetailsJob(
  client: GenesysClient,
  query: Omit<ConversationDetailsQuery, "paging">,
): Promise<{ jobId: string }> {
  return client.request<{ jobId: string }>({ method: "POST", path: JOBS_ROUTE, body: query });
}

export function getDetailsJob(client: GenesysClient, jobId: string): Promise<DetailsJobStatus> {
  return client.request<DetailsJobStatus>({
    method: "GET",
    path: `${JOBS_ROUTE}/${encodeURIComponent(jobId)}`,
    route: `${JOBS_ROUTE}/{jobId}`,
  });
}

export function getDetailsJobResults(
  client: GenesysClient,
  jobId: string,
  cursor: string | undefined,
  pageSize: number,
): Promise<DetailsJobResultsPage> {
  return client.request<DetailsJobResultsPage>({
    method: "GET",
    path: `${JOBS_ROUTE}/${encodeURIComponent(jobId)}/results`,
    route: `${JOBS_ROUTE}/{jobId}/results`,
    query: { pageSize, ...(cursor === undefined ? {} : { cursor }) },
  });
}

/**
 * `GET /api/v2/outbound/contactlists/{id}/importstatus`: the progress of the list's latest bulk
 * load. There is no COMPLETE state: no `state` and 100 % means done.
 */
export interface ContactListImportStatus {
  readonly state?: "IN_PROGRESS" | "FAILED" | (string & {});
  readonly totalRecords?: number;
  readonly completedRecords?: number;
  readonly percentComplete?: number;
  readonly failureReason?: string;
}

export function getImportStatus(
  client: GenesysClient,
  contactListId: string,
): Promise<ContactListImportStatus> {
  return client.request<ContactListImportStatus>({
    method: "GET",
    path: `/api/v2/outbound/contactlists/${encodeURIComponent(contactListId)}/importstatus`,
    route: "/api/v2/outbound/contactlists/{contactListId}/importstatus",
  });
}

/** `POST .../clear`: empties the list. It also cancels the list's scheduled callbacks. */
export async function clearContactList(client: GenesysClient, contactListId: string): Promise<void> {
  await client.request({
    method: "POST",
    path: `/api/v2/outbound/contactlists/${encodeURIComponent(contactListId)}/clear`,
    route: "/api/v2/outbound/contactlists/{contactListId}/clear",
    ignoreResponseBody: true,
  });
}

export const CONTACT_LIST_UPLOAD_ROUTE = "/uploads/v2/contactlist";

/**
 * Loads a CSV into a contact list in one request: the multipart form Genesys' Terraform provider
 * uses, `POST https://apps.<domain>/uploads/v2/contactlist` with `id`, `fileType=contactlist`,
 * `contact-id-name` and the file. It stays on Genesys' own hosts (the presigned form of
 * `POST .../contactlists/uploads` hands out a storage URL outside them, which the NetworkPolicy
 * would have to open). Genesys imports the file in the background: follow `getImportStatus`.
 * A broken connection ends in UploadOutcomeUnknownError, never in a second upload; one that broke
 * before the whole file was read ends in UploadCutShortError, since Genesys cannot have the file.
 */
export async function uploadContactListCsv(
  client: GenesysClient,
  upload: {
    readonly contactListId: string;
    readonly contactIdColumn: string;
    readonly fileName: string;
    readonly size: number;
    readonly open: () => Readable;
    readonly timeoutMs: number;
    readonly signal?: AbortSignal;
  },
): Promise<void> {
  const boundary = `----genesys-middleware-${randomBytes(16).toString("hex")}`;
  const field = (name: string, value: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const head = Buffer.from(
    field("id", upload.contactListId) +
      field("fileType", "contactlist") +
      field("contact-id-name", upload.contactIdColumn) +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${upload.fileName.replace(/["\r\n]/g, "_")}"\r\n` +
      "Content-Type: text/csv\r\n\r\n",
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const contentLength = head.length + upload.size + tail.length;
  // Bytes of the body produced by the latest attempt (the client opens the body anew for each),
  // counted before they are handed over: what reached Genesys is at most this.
  let latest = { produced: 0 };
  try {
    await client.request({
      method: "POST",
      host: "apps",
      path: CONTACT_LIST_UPLOAD_ROUTE,
      route: CONTACT_LIST_UPLOAD_ROUTE,
      stream: {
        contentType: `multipart/form-data; boundary=${boundary}`,
        contentLength,
        open: () => {
          latest = { produced: 0 };
          // Byte mode with a small buffer: at most one chunk of the file is read ahead of the socket.
          return Readable.from(framed(head, upload.open(), tail, latest), {
            objectMode: false,
            highWaterMark: 64 * 1024,
          });
        },
      },
      timeoutMs: upload.timeoutMs,
      ...(upload.signal ? { signal: upload.signal } : {}),
      ignoreResponseBody: true,
    });
  } catch (error) {
    // Short of the whole body, the request Genesys saw was incomplete: fewer bytes than its
    // Content-Length, and a multipart form without its closing boundary.
    if (error instanceof UploadOutcomeUnknownError && latest.produced < contentLength)
      throw new UploadCutShortError(CONTACT_LIST_UPLOAD_ROUTE, latest.produced, contentLength, error.cause);
    throw error;
  }
}

/** The multipart body: the form's head, the file, the closing boundary; counts what it yields. */
async function* framed(
  head: Buffer,
  file: Readable,
  tail: Buffer,
  count: { produced: number },
): AsyncGenerator<Buffer> {
  count.produced += head.length;
  yield head;
  for await (const chunk of file) {
    count.produced += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
  count.produced += tail.length;
  yield tail;
}
