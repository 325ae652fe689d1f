import { createHash, randomBytes, randomUUID } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo, Server, Socket } from "node:net";
import { systemClock, type Clock } from "../app/src/time/clock";
import { DncStore, type DncEntry, type NewDncList } from "./dnc";
import { apiError, badRequest, notFound, type Answer } from "./errors";
import {
  contactListFile,
  ListExportStore,
  syntheticContactListFile,
  type ExportFile,
  type SimulatedCallRecord,
} from "./list-exports";
import { entityListing } from "./listing";
import { MULTIPART_UPLOAD_PATH, UploadStore } from "./uploads";

/**
 * A local Genesys Cloud that behaves like ../shared/genesys-cloud-facts.md says the real one
 * does: faithful, not friendly. A login server (`POST /oauth/token`, Basic auth, form body,
 * `invalid_client`, HTTP 400 "rate limit exceeded" when token requests are throttled) and an API
 * server (bearer checks with 401 for missing, unknown, expired and revoked tokens; a per-token
 * budget answered with 429 + Retry-After + the real body; the 512,000-byte body cap; outbound
 * contact lists and their bulk load, presigned or multipart, see ./uploads.ts; conversation details
 * with paging). The API server is also the apps host of the multipart upload
 * (`POST /uploads/v2/contactlist`), so `apiBaseUrl` doubles as `GENESYS_APPS_BASE_URL`. DNC lists
 * of every kind live in ./dnc.ts; contact-list (and DNC-list) exports in ./list-exports.ts, whose
 * files a third server, the download host (`downloadBaseUrl`), serves at signed URLs. Faults are
 * injected on demand, and it reports what it received so tests can check what a client really did.
 */
export interface SimulatorOptions {
  /** Time source for token lifetimes and budget windows; default the system clock. */
  readonly clock?: Clock;
  /** Address to listen on; default 127.0.0.1 (loopback). */
  readonly host?: string;
  /**
   * Host name put in `apiBaseUrl` and `loginBaseUrl`; default `host`. Set it when listening on
   * 0.0.0.0 or when clients reach the simulator by a name (one the TLS certificate lists).
   */
  readonly advertisedHost?: string;
  /** Serve HTTPS with this PEM key and certificate (both servers); default plain HTTP. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /** Ports; default 0 (any free port). */
  readonly loginPort?: number;
  readonly apiPort?: number;
  /** OAuth clients accepted; default one with a random id and secret. */
  readonly clients?: ReadonlyArray<{ readonly clientId: string; readonly clientSecret: string }>;
  /** `expires_in` of issued tokens; default 86,400 (Genesys' default; 300 is the minimum there). */
  readonly tokenLifetimeSeconds?: number;
  /** Per-token API budget; default 300 requests per 60,000 ms (`token.rate.per.minute`). */
  readonly rateLimit?: { readonly requestsPerWindow: number; readonly windowMs: number };
  /** Token requests accepted per client id per window before HTTP 400 "rate limit exceeded"; default 300 per 60,000 ms. */
  readonly tokenRateLimit?: { readonly requestsPerWindow: number; readonly windowMs: number };
  /**
   * Largest request body; default 512,000 bytes (`request.bytes.max`). Uploads of contact-list
   * files (the presigned PUT, the multipart POST) are not capped by it.
   */
  readonly maxBodyBytes?: number;
  /** Contacts per add request; default 1,000. */
  readonly maxContactsPerRequest?: number;
  /**
   * Keep every contact (default). False only counts them: for benchmarks that push millions of
   * contacts, where keeping them would measure the simulator's memory instead of the client's.
   */
  readonly retainContacts?: boolean;
  /** Contact lists that exist; default one with a random id (none when `contactLists` is given). */
  readonly contactListIds?: readonly string[];
  /**
   * Named contact lists with their own columns and phone columns, created beside `contactListIds`
   * (as `createContactList` does); their ids follow those in `contactListIds`.
   */
  readonly contactLists?: readonly NewContactList[];
  /**
   * Rate-limit headers on successful answers. Real Genesys sends none since 2021 (the default);
   * `inin` and `x-ratelimit` imitate an older deployment or a proxy.
   */
  readonly rateLimitHeaders?: "none" | "inin" | "x-ratelimit";
  /** What `GET /api/v2/ipranges` lists; default a few documentation ranges (RFC 5737/3849), never real ones. */
  readonly ipRanges?: ReadonlyArray<{ cidr: string; service: string; region: string; direction?: string }>;
  /** How fast an uploaded contact-list file is imported (the importstatus progression); default 20,000 a second. */
  readonly uploadRecordsPerSecond?: number;
  /**
   * How fast the server reads an upload's body (presigned or multipart), in bytes per second of
   * `clock`; default as fast as it arrives. The client's writes back up as on a slow network, so a
   * test can kill a client mid-upload, or watch `uploadBytesInFlight` grow.
   */
  readonly uploadBytesPerSecond?: number;
  /** How long an async details job stays QUEUED/PENDING before it is FULFILLED; default 1,500 ms. */
  readonly jobDurationMs?: number;
  /** DNC lists that exist, of any kind (as `createDncList` makes them); default none. */
  readonly dncLists?: readonly NewDncList[];
  /** Entries one DNC request may carry before 400; default 1,000 (Genesys documents no limit). */
  readonly maxDncEntriesPerRequest?: number;
  /** Entries a DNC list may hold; default 1,000,000 (400 `dnc.records.per.list.limit.exceeded` beyond). */
  readonly maxDncEntriesPerList?: number;
  /** How long a list export takes before `GET .../export` gives its uri, on the clock; default 500 ms. */
  readonly listExportReadyMs?: number;
  /** How long a signed download URL works; default 600 s. */
  readonly downloadUrlTtlSeconds?: number;
  /** How fast the download host sends a file, in bytes per second of `clock`; default as fast as read. */
  readonly downloadBytesPerSecond?: number;
  /** Port of the download host; default 0 (any free port). */
  readonly downloadPort?: number;
  /**
   * Exports of every contact list hold this many made-up contacts, generated as they are sent,
   * instead of the list's own (for a million-row export with `retainContacts: false`); per list
   * with `setSyntheticExportRows`.
   */
  readonly syntheticExportRows?: number;
}

interface DetailsJob {
  readonly submittedMs: number;
  readonly matches: readonly SimulatedConversation[];
}

const DEFAULT_IP_RANGES = [
  { cidr: "192.0.2.0/24", service: "api", region: "eu-west-1", direction: "outbound" },
  { cidr: "198.51.100.0/25", service: "api", region: "eu-west-1", direction: "inbound" },
  { cidr: "2001:db8:10::/48", service: "api", region: "eu-west-1", direction: "inbound" },
  { cidr: "203.0.113.0/24", service: "api", region: "us-east-1", direction: "inbound" },
];

export interface DialerContact {
  id: string;
  contactListId: string;
  data: Record<string, string>;
  callable: boolean;
  phoneNumberStatus?: Record<string, { callable: boolean }>;
  /**
   * What the dialer recorded per phone column (`recordCall`); a read shows `lastAttempt` and
   * `lastResult` (Genesys' CallRecord), the export the wrap-up too. An upsert keeps them unless
   * it asks `clearSystemData=true`.
   */
  callRecords?: Record<string, SimulatedCallRecord>;
  /** How many times this id was written (an upsert counts again). */
  writes: number;
}

/** One dialling attempt for `recordCall`. */
export interface SimulatedCall {
  /** The phone column dialled. */
  readonly column: string;
  readonly atMs: number;
  /** A system result (ININ-OUTBOUND-NO-ANSWER, ...) or the wrap-up code's name. */
  readonly result: string;
  readonly wrapupCode?: string;
  /** The number's callable flag after the call (Callable-<column>); unchanged when left out. */
  readonly callable?: boolean;
  /** The contact's callable flag after the call (ContactCallable); unchanged when left out. */
  readonly contactCallable?: boolean;
}

export interface SimulatedConversation {
  readonly conversationId: string;
  readonly conversationStart: string;
  readonly conversationEnd?: string;
  readonly participants: readonly unknown[];
  readonly [key: string]: unknown;
}

export interface EarlyRetry {
  readonly atMs: number;
  readonly route: string;
  /** How much earlier than Retry-After allowed the request arrived. */
  readonly earlyByMs: number;
}

export interface TokenRequestRecord {
  readonly atMs: number;
  readonly clientId: string | undefined;
  readonly outcome: "issued" | "invalid_client" | "throttled" | "bad_request" | "fault";
}

export type RetryAfterFormat = "seconds" | "http-date" | "body-only";

interface IssuedToken {
  readonly clientId: string;
  readonly expiresAtMs: number;
  revoked: boolean;
  windowStartMs: number;
  windowCount: number;
}

interface Faults {
  refuseContact: ((contact: { id?: unknown; data?: unknown }) => string | undefined) | undefined;
  latencyMs: number;
  serverErrors: { remaining: number; status: number; route: string | undefined };
  resets: { remaining: number; route: string | undefined };
  rateLimitStorm: { remaining: number; retryAfterSeconds: number; format: RetryAfterFormat };
  tokenThrottle: number;
  tokenServerErrors: number;
  /** Every API call answers 401, even with a fresh token (the OAuth client was disabled or lost its role). */
  refuseEveryToken: boolean;
  /** Contact and DNC lists answering 403 (a permission the OAuth client lacks) or 404 (deleted), by id. */
  listFailures: Map<string, { status: 403 | 404; permission: string }>;
  /** Uploads taken whole whose answer is lost: the connection drops instead of the 200. */
  lostUploadAnswers: number;
}

/** A contact list's definition, as `GET /api/v2/outbound/contactlists/{id}` returns it. */
export interface ContactListDefinition {
  readonly columnNames: readonly string[];
  readonly phoneColumns: ReadonlyArray<{ readonly columnName: string; readonly type: string }>;
}

/** A list to create: its name (several lists may share one, as in Genesys) and its definition. */
export interface NewContactList extends ContactListDefinition {
  /** Default a random UUID. */
  readonly id?: string;
  readonly name: string;
}

/** Ids of contacts one `DELETE .../contacts?contactIds=` may name (the URL's length bounds it). */
export const MAX_CONTACT_IDS_PER_DELETE = 100;

export class GenesysSimulator {
  /** The bulk contact-list load: presigned and multipart uploads, the import status, clearing a list. */
  readonly uploads: UploadStore;
  /** DNC lists and their entries. */
  readonly dnc: DncStore;
  /** List exports, Genesys downloads and the download host. */
  readonly exports: ListExportStore;
  readonly clients: ReadonlyArray<{ readonly clientId: string; readonly clientSecret: string }>;
  readonly contactListIds: readonly string[];
  private readonly clock: Clock;
  private readonly options: SimulatorOptions;
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly tokenWindows = new Map<string, { startMs: number; count: number }>();
  private readonly retryNotBefore = new Map<string, number>();
  private readonly lists = new Map<string, Map<string, DialerContact>>();
  private conversations: SimulatedConversation[] = [];
  private readonly jobs = new Map<string, DetailsJob>();
  private readonly sockets = new Set<Socket>();
  private loginServer: Server | undefined;
  private apiServer: Server | undefined;
  private downloadServer: Server | undefined;
  private faultState: Faults = {
    refuseContact: undefined,
    latencyMs: 0,
    serverErrors: { remaining: 0, status: 503, route: undefined },
    resets: { remaining: 0, route: undefined },
    rateLimitStorm: { remaining: 0, retryAfterSeconds: 1, format: "seconds" },
    tokenThrottle: 0,
    tokenServerErrors: 0,
    listFailures: new Map(),
    refuseEveryToken: false,
    lostUploadAnswers: 0,
  };
  private readonly definitions = new Map<string, ContactListDefinition>();
  private readonly names = new Map<string, string>();
  /** Contacts a campaign is using now, by list: a removal leaves them (`holdContacts`). */
  private readonly held = new Map<string, Set<string>>();
  /** Made-up contacts exported instead of a list's own (`setSyntheticExportRows`), by list. */
  private readonly syntheticExportRows = new Map<string, number>();
  private tokenLifetimeSeconds: number;

  /** What arrived, for assertions and reports. */
  readonly received = {
    tokenRequests: [] as TokenRequestRecord[],
    apiRequests: 0,
    byRouteAndStatus: new Map<string, number>(),
    rateLimited: 0,
    earlyRetries: [] as EarlyRetry[],
    unauthorized: 0,
    resets: 0,
    /** Contacts written (an upsert counts again), whether retained or not. */
    contactWrites: 0,
    /** Who called: route (`POST /oauth/token`, `GET /api/v2/...`) → client address → requests. */
    clientAddresses: new Map<string, Map<string, number>>(),
  };

  loginBaseUrl = "";
  apiBaseUrl = "";
  /** The download host: where the signed URLs of Genesys downloads (list exports) point. */
  downloadBaseUrl = "";

  constructor(options: SimulatorOptions = {}) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.clients = options.clients ?? [
      { clientId: randomUUID(), clientSecret: randomBytes(24).toString("base64url") },
    ];
    const plain = options.contactListIds ?? (options.contactLists ? [] : [randomUUID()]);
    for (const id of plain) this.lists.set(id, new Map());
    const named = (options.contactLists ?? []).map((list) => this.createContactList(list));
    this.contactListIds = [...plain, ...named];
    this.tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 86_400;
    this.uploads = new UploadStore(
      this.clock,
      {
        listExists: (listId) => this.lists.has(listId),
        upsert: (listId, contacts) => {
          const list = this.lists.get(listId)!;
          this.received.contactWrites += contacts.length;
          if (this.options.retainContacts === false) return;
          for (const contact of contacts) {
            const writes = (list.get(contact.id)?.writes ?? 0) + 1;
            list.set(contact.id, {
              id: contact.id,
              contactListId: listId,
              data: contact.data,
              callable: true,
              ...systemDataOf(list.get(contact.id)),
              writes,
            });
          }
        },
        clear: (listId) => this.lists.get(listId)!.clear(),
      },
      { recordsPerSecond: options.uploadRecordsPerSecond, bytesPerSecond: options.uploadBytesPerSecond },
    );
    this.dnc = new DncStore(this.clock, {
      maxEntriesPerRequest: options.maxDncEntriesPerRequest,
      maxEntriesPerList: options.maxDncEntriesPerList,
    });
    for (const list of options.dncLists ?? []) this.dnc.create(list);
    this.exports = new ListExportStore(this.clock, {
      readyMs: options.listExportReadyMs,
      urlTtlSeconds: options.downloadUrlTtlSeconds,
      bytesPerSecond: options.downloadBytesPerSecond,
    });
  }

  async start(): Promise<this> {
    const host = this.options.host ?? "127.0.0.1";
    this.loginServer = await this.listen(host, this.options.loginPort ?? 0, (req, res) =>
      this.handleLogin(req, res),
    );
    this.apiServer = await this.listen(host, this.options.apiPort ?? 0, (req, res) =>
      this.handleApi(req, res),
    );
    this.downloadServer = await this.listen(host, this.options.downloadPort ?? 0, (req, res) =>
      this.handleDownload(req, res),
    );
    const scheme = this.options.tls ? "https" : "http";
    const named = this.options.advertisedHost ?? host;
    const authority = named.includes(":") ? `[${named}]` : named;
    const url = (server: Server) => `${scheme}://${authority}:${(server.address() as AddressInfo).port}`;
    this.loginBaseUrl = url(this.loginServer);
    this.apiBaseUrl = url(this.apiServer);
    this.downloadBaseUrl = url(this.downloadServer);
    return this;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(
      [this.loginServer, this.apiServer, this.downloadServer].map(
        (server) => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
      ),
    );
  }

  // ---- fault injection -------------------------------------------------------------------

  readonly faults = {
    /** Delay every answer by this many milliseconds. */
    latency: (ms: number) => {
      this.faultState.latencyMs = ms;
    },
    /**
     * Answer the next `count` API requests with `status` (502, 503 or 504); with `route` (such as
     * `POST /uploads/v2/contactlist`), only requests to that route. A 504 comes after the whole
     * request body was read (and discarded), as from a gateway whose upstream never answered.
     */
    serverErrors: (count: number, status = 503, route?: string) => {
      this.faultState.serverErrors = { remaining: count, status, route };
    },
    /**
     * Take the next `count` multipart uploads whole (their import starts) but drop the connection
     * instead of answering: the client cannot tell whether the file arrived.
     */
    loseUploadAnswers: (count: number) => {
      this.faultState.lostUploadAnswers = count;
    },
    /** Fail the import of the next uploads, whatever they hold, with these failure reasons, one each. */
    failUploadImports: (...reasons: string[]) => {
      this.uploads.forcedFailures.push(...reasons);
    },
    /**
     * Destroy the connection of the next `count` API requests without answering, as soon as they
     * arrive (before their body is read); with `route`, only requests to that route.
     */
    connectionResets: (count: number, route?: string) => {
      this.faultState.resets = { remaining: count, route };
    },
    /** Answer the next `count` API requests with 429, telling the wait in the given format. */
    rateLimitStorm: (count: number, retryAfterSeconds: number, format: RetryAfterFormat = "seconds") => {
      this.faultState.rateLimitStorm = { remaining: count, retryAfterSeconds, format };
    },
    /** Answer the next `count` token requests with HTTP 400 "rate limit exceeded". */
    throttleTokenRequests: (count: number) => {
      this.faultState.tokenThrottle = count;
    },
    /** Answer the next `count` token requests with 503. */
    tokenServerErrors: (count: number) => {
      this.faultState.tokenServerErrors = count;
    },
    /**
     * Answer 401 to every API call, fresh tokens included, while on: tokens are still issued, but
     * the API refuses them (an OAuth client disabled, or its role removed, after login).
     */
    refuseEveryToken: (on: boolean) => {
      this.faultState.refuseEveryToken = on;
    },
    /** Revoke every token issued so far (early revocation: they get 401 from now on). */
    revokeAllTokens: () => {
      for (const token of this.tokens.values()) token.revoked = true;
    },
    /**
     * Answer 400 to any add request holding a contact for which `why` returns a reason, the way
     * Genesys refuses a batch with one invalid contact; undefined clears it.
     */
    refuseContacts: (
      why: ((contact: { id?: unknown; data?: unknown }) => string | undefined) | undefined,
    ) => {
      this.faultState.refuseContact = why;
    },
    /**
     * Makes calls on a contact list fail as Genesys does when the list was deleted (404 not.found,
     * every call) or the OAuth client's role lacks a permission (403 missing.permissions, naming
     * it, on the calls that need it: outbound:contact:add to add contacts, outbound:contact:delete
     * to remove them, outbound:contactList:view
     * to read the definition, outbound:contact:view to read contacts, outbound:contactList:upload
     * to upload a file with the multipart form, outbound:contact:view or outbound:contactList:view
     * to export the list, which needs both); undefined heals it.
     */
    contactListFailure: (
      contactListId: string,
      status: 403 | 404 | undefined,
      permission: ListPermission = "outbound:contact:add",
    ) => {
      if (status === undefined) this.faultState.listFailures.delete(contactListId);
      else this.faultState.listFailures.set(contactListId, { status, permission });
    },
    /**
     * The same for a DNC list: 404 not.found on every call, or 403 missing.permissions on the
     * calls that need `permission` (outbound:dnc:add to POST entries, outbound:dnc:edit to PATCH
     * them, outbound:dnc:delete to DELETE them, outbound:dncList:view to read the list,
     * outbound:dnc:view or outbound:dncList:view to export it); undefined heals it. A list
     * answering 404 is left out of `GET /api/v2/outbound/dnclists`.
     */
    dncListFailure: (
      dncListId: string,
      status: 403 | 404 | undefined,
      permission: DncPermission = "outbound:dnc:add",
    ) => {
      if (status === undefined) this.faultState.listFailures.delete(dncListId);
      else this.faultState.listFailures.set(dncListId, { status, permission });
    },
    /** List exports started while on never become ready (see `exports.faults`). */
    exportsNeverReady: (on: boolean) => this.exports.faults.exportsNeverReady(on),
    /** The next `count` downloads from the download host drop after `afterBytes` bytes of the body. */
    cutDownloads: (count: number, afterBytes: number) => this.exports.faults.cutDownloads(count, afterBytes),
    /** Lifetime of tokens issued from now on. */
    tokenLifetime: (seconds: number) => {
      this.tokenLifetimeSeconds = seconds;
    },
  };

  // ---- reports ----------------------------------------------------------------------------

  /** Sets a list's columns and phone columns (the default: whatever columns were written, no phone columns). */
  defineContactList(contactListId: string, definition: ContactListDefinition): void {
    if (!this.lists.has(contactListId)) this.lists.set(contactListId, new Map());
    this.definitions.set(contactListId, definition);
  }

  /**
   * Creates a contact list with a name, its columns and phone columns (a defined list: unknown
   * columns are refused); answers its id. Names need not be unique, as in Genesys.
   */
  createContactList(list: NewContactList): string {
    const id = list.id ?? randomUUID();
    if (this.lists.has(id)) throw new Error(`contact list ${id} already exists`);
    this.lists.set(id, new Map());
    this.names.set(id, list.name);
    this.definitions.set(id, { columnNames: list.columnNames, phoneColumns: list.phoneColumns });
    return id;
  }

  /**
   * Marks contacts as in use by a campaign (being dialled now): `DELETE .../contacts?contactIds=`
   * leaves them in the list, as Genesys does, until `releaseContacts`.
   */
  holdContacts(contactListId: string, ids: readonly string[]): void {
    const held = this.held.get(contactListId) ?? new Set<string>();
    for (const id of ids) held.add(id);
    this.held.set(contactListId, held);
  }

  /** Ends the campaign's use of these contacts (all of the list's, without ids): they can be removed again. */
  releaseContacts(contactListId: string, ids?: readonly string[]): void {
    if (ids === undefined) this.held.delete(contactListId);
    else for (const id of ids) this.held.get(contactListId)?.delete(id);
  }

  /** Creates a DNC list of any kind (`rds` needs a contactMethod); answers its id. */
  createDncList(list: NewDncList): string {
    return this.dnc.create(list);
  }

  /** A DNC list's entries, expired ones too, with their expiry. */
  dncEntries(dncListId: string): DncEntry[] {
    return this.dnc.entries(dncListId);
  }

  /** Whether a number or email address is on a DNC list and not expired at `atMs` (default now). */
  isOnDnc(dncListId: string, value: string, atMs?: number): boolean {
    return this.dnc.isOnDnc(dncListId, value, atMs);
  }

  /**
   * Records a dialling attempt on a contact, as the dialer would: its call record for the column
   * (what `GET .../contacts/{id}` shows and the list export's CallRecord* columns hold) and,
   * when given, the number's and the contact's callable flags.
   */
  recordCall(contactListId: string, contactId: string, call: SimulatedCall): void {
    const list = this.lists.get(contactListId);
    const contact = list?.get(contactId);
    if (!list || !contact) throw new Error(`contact ${contactId} is not in contact list ${contactListId}`);
    const phoneColumns = this.definitions.get(contactListId)?.phoneColumns.map((column) => column.columnName);
    if (phoneColumns && !phoneColumns.includes(call.column))
      throw new Error(`${call.column} is not a phone column of contact list ${contactListId}`);
    // A new record, not a change in place: an export already started keeps the contact as it was.
    list.set(contactId, {
      ...contact,
      callRecords: {
        ...contact.callRecords,
        [call.column]: {
          lastAttempt: new Date(call.atMs).toISOString(),
          lastResult: call.result,
          ...(call.wrapupCode === undefined ? {} : { lastAgentWrapup: call.wrapupCode }),
        },
      },
      ...(call.callable === undefined
        ? {}
        : {
            phoneNumberStatus: { ...contact.phoneNumberStatus, [call.column]: { callable: call.callable } },
          }),
      ...(call.contactCallable === undefined ? {} : { callable: call.contactCallable }),
    });
  }

  /** Exports of this list hold `rows` made-up contacts instead of its own; undefined goes back to its own. */
  setSyntheticExportRows(contactListId: string, rows: number | undefined): void {
    if (rows === undefined) this.syntheticExportRows.delete(contactListId);
    else this.syntheticExportRows.set(contactListId, rows);
  }

  /** Contacts of a list by id. */
  contacts(contactListId: string = this.contactListIds[0]!): ReadonlyMap<string, DialerContact> {
    return this.lists.get(contactListId) ?? new Map();
  }

  /** Every token issued, so a test can prove none leaked into logs or metrics. */
  issuedTokens(): string[] {
    return [...this.tokens.keys()];
  }

  /** Token requests answered with a token. */
  tokensIssued(): number {
    return this.received.tokenRequests.filter((record) => record.outcome === "issued").length;
  }

  /**
   * The distinct addresses that called `route` (for example
   * `POST /api/v2/analytics/conversations/details/query`), or any route, sorted.
   */
  clientAddresses(route?: string): string[] {
    const byRoute = this.received.clientAddresses;
    const maps =
      route === undefined ? [...byRoute.values()] : [byRoute.get(route) ?? new Map<string, number>()];
    return [...new Set(maps.flatMap((counts) => [...counts.keys()]))].sort();
  }

  count(route: string, status: number): number {
    return this.received.byRouteAndStatus.get(`${route} ${status}`) ?? 0;
  }

  /** The counts of `received`, of the uploads (`uploads.stats()`), DNC entries and downloads (`exports.stats()`), as plain JSON. */
  stats(): Record<string, number> {
    return {
      apiRequests: this.received.apiRequests,
      tokenRequests: this.received.tokenRequests.length,
      rateLimited: this.received.rateLimited,
      earlyRetries: this.received.earlyRetries.length,
      unauthorized: this.received.unauthorized,
      contactWrites: this.received.contactWrites,
      contacts: [...this.lists.values()].reduce((sum, list) => sum + list.size, 0),
      ...this.uploads.stats(),
      dncEntries: this.dnc.size(),
      ...this.exports.stats(),
    };
  }

  /** Adds conversations that the details query will return. */
  addConversations(conversations: readonly SimulatedConversation[]): void {
    this.conversations.push(...conversations);
    this.conversations.sort((a, b) => Date.parse(a.conversationStart) - Date.parse(b.conversationStart));
  }

  /**
   * Changes a stored conversation after the fact, as Genesys' nightly re-processing does (a
   * wrap-up code set late, a late segment): every later query, job and read by id sees `patch`
   * merged over the conversation's top-level fields. False when no conversation has that id.
   */
  updateConversation(conversationId: string, patch: Partial<SimulatedConversation>): boolean {
    const index = this.conversations.findIndex((candidate) => candidate.conversationId === conversationId);
    if (index < 0) return false;
    this.conversations[index] = { ...this.conversations[index]!, ...patch, conversationId };
    return true;
  }

  // ---- login server ----------------------------------------------------------------------

  private async handleLogin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "").split("?")[0];
    if (req.method === "POST" && path === "/oauth/token") return this.issueToken(req, res);
    return send(res, 404, { message: "Not found", code: "not.found", status: 404 });
  }

  private async issueToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await this.delay();
    const now = this.clock.now();
    const body = await readBody(req, 16_384);
    this.recordCaller("POST /oauth/token", req);
    const record = (clientId: string | undefined, outcome: TokenRequestRecord["outcome"]) =>
      this.received.tokenRequests.push({ atMs: now, clientId, outcome });
    const credentials = parseBasic(req.headers.authorization);
    if (this.faultState.tokenServerErrors > 0) {
      this.faultState.tokenServerErrors -= 1;
      record(credentials?.clientId, "fault");
      return send(res, 503, { message: "Service Unavailable", code: "service.unavailable", status: 503 });
    }
    const form = new URLSearchParams(body.ok ? body.text : "");
    if (
      !(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded") ||
      !form.has("grant_type")
    ) {
      record(credentials?.clientId, "bad_request");
      return send(res, 400, {
        error: "invalid_request",
        description: "grant_type is required (form-encoded body)",
        error_description: "grant_type is required",
      });
    }
    if (form.get("grant_type") !== "client_credentials") {
      record(credentials?.clientId, "bad_request");
      return send(res, 400, { error: "unsupported_grant_type", description: "unsupported grant type" });
    }
    if (!credentials) {
      record(undefined, "invalid_client");
      return send(res, 401, {
        error: "invalid_client",
        description: "authentication failed",
        error_description: "authentication failed",
      });
    }
    const throttled = this.faultState.tokenThrottle > 0 || !this.takeTokenBudget(credentials.clientId, now);
    if (throttled) {
      if (this.faultState.tokenThrottle > 0) this.faultState.tokenThrottle -= 1;
      record(credentials.clientId, "throttled");
      return send(res, 400, {
        error: "invalid_request",
        description: "rate limit exceeded; try again later",
        error_description: "rate limit exceeded; try again later",
      });
    }
    const client = this.clients.find((candidate) => candidate.clientId === credentials.clientId);
    if (!client) {
      record(credentials.clientId, "invalid_client");
      return send(res, 401, {
        error: "invalid_client",
        description: "client not found",
        error_description: "client not found",
      });
    }
    if (client.clientSecret !== credentials.clientSecret) {
      record(credentials.clientId, "invalid_client");
      return send(res, 401, {
        error: "invalid_client",
        description: "authentication failed",
        error_description: "authentication failed",
      });
    }
    const token = randomBytes(48).toString("base64url");
    this.tokens.set(token, {
      clientId: client.clientId,
      expiresAtMs: now + this.tokenLifetimeSeconds * 1000,
      revoked: false,
      windowStartMs: 0,
      windowCount: 0,
    });
    record(client.clientId, "issued");
    return send(res, 200, {
      access_token: token,
      token_type: "bearer",
      expires_in: this.tokenLifetimeSeconds,
    });
  }

  private takeTokenBudget(clientId: string, now: number): boolean {
    const limit = this.options.tokenRateLimit ?? { requestsPerWindow: 300, windowMs: 60_000 };
    const window = this.tokenWindows.get(clientId);
    if (!window || now >= window.startMs + limit.windowMs) {
      this.tokenWindows.set(clientId, { startMs: now, count: 1 });
      return true;
    }
    window.count += 1;
    return window.count <= limit.requestsPerWindow;
  }

  // ---- download host ---------------------------------------------------------------------

  /** The storage host of Genesys downloads: signed URLs, no bearer token, no rate budget. */
  private async handleDownload(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.recordCaller(`${req.method} /exports/{downloadId}/{file}`, req);
    await this.delay();
    return this.exports.serve(req, res);
  }

  // ---- API server ------------------------------------------------------------------------

  private async handleApi(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://simulator");
    // Gateway-style clients (the official SDK's setGateway) reach the login server through a path prefix.
    if (url.pathname === "/login/oauth/token" && req.method === "POST") return this.issueToken(req, res);
    // Not a Genesys endpoint: lets a benchmark read the counts of a simulator in another process.
    if (url.pathname === "/__simulator/stats" && req.method === "GET") return send(res, 200, this.stats());
    // The presigned URL of a bulk upload: storage, not the API, so it takes no bearer token.
    if (UploadStore.isUpload(url.pathname) && req.method === "PUT") {
      const outcome = await this.uploads.receive(url.pathname, req);
      if (outcome) send(res, outcome[0], outcome[1]);
      else res.destroy();
      return;
    }
    this.received.apiRequests += 1;
    const route = `${req.method} ${routeOf(url.pathname)}`;
    this.recordCaller(route, req);
    await this.delay();
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const key = `${route} ${status}`;
      this.received.byRouteAndStatus.set(key, (this.received.byRouteAndStatus.get(key) ?? 0) + 1);
      send(res, status, body, headers);
    };

    const resets = this.faultState.resets;
    if (resets.remaining > 0 && (resets.route === undefined || resets.route === route)) {
      resets.remaining -= 1;
      this.received.resets += 1;
      req.socket.destroy();
      return;
    }
    const serverErrors = this.faultState.serverErrors;
    if (serverErrors.remaining > 0 && (serverErrors.route === undefined || serverErrors.route === route)) {
      this.faultState.serverErrors.remaining -= 1;
      const status = this.faultState.serverErrors.status;
      // A gateway times out (504) after it forwarded the whole request and the answer never came;
      // 502 and 503 come straight from the gateway, before the body is read.
      if (status === 504) for await (const chunk of req) void chunk;
      return answer(status, {
        message: "The service is currently unavailable",
        code: "service.unavailable",
        status,
      });
    }

    const now = this.clock.now();
    const auth = this.faultState.refuseEveryToken
      ? { error: { message: "Invalid login credentials.", code: "bad.credentials" } }
      : this.authenticate(req.headers.authorization, now);
    if ("error" in auth) {
      this.received.unauthorized += 1;
      return answer(401, {
        message: auth.error.message,
        code: auth.error.code,
        status: 401,
        contextId: randomUUID(),
        details: [],
        errors: [],
      });
    }

    // A file upload is read only once it is let through, and streamed: the body cap is for API
    // payloads, not files. Its early-retry fingerprint is its route alone.
    const fileUpload = req.method === "POST" && url.pathname === MULTIPART_UPLOAD_PATH;
    const body = fileUpload ? undefined : await readBody(req, this.options.maxBodyBytes ?? 512_000);
    const fingerprint = createHash("sha1")
      .update(`${route}\n${url.search}\n${body?.ok ? body.text : ""}`)
      .digest("base64");
    this.noteEarlyRetry(fingerprint, route, now);

    const storm = this.faultState.rateLimitStorm;
    if (storm.remaining > 0) {
      storm.remaining -= 1;
      return this.rateLimit(answer, fingerprint, now, storm.retryAfterSeconds * 1000, storm.format);
    }
    const budget = this.options.rateLimit ?? { requestsPerWindow: 300, windowMs: 60_000 };
    const token = auth.token;
    if (now >= token.windowStartMs + budget.windowMs) {
      token.windowStartMs = now;
      token.windowCount = 0;
    }
    token.windowCount += 1;
    if (token.windowCount > budget.requestsPerWindow) {
      return this.rateLimit(answer, fingerprint, now, token.windowStartMs + budget.windowMs - now, "seconds");
    }
    const headers = this.rateLimitHeaders(token, budget, now);

    if (!body) {
      // The multipart file upload: it names its list in the body, so the list's faults apply there.
      const permission = permissionFor(req.method ?? "POST", url.pathname);
      const outcome = await this.uploads.receiveMultipart(req, (listId) =>
        this.listRefusal(listId, permission),
      );
      if (outcome && outcome[0] === 200 && this.faultState.lostUploadAnswers > 0) {
        this.faultState.lostUploadAnswers -= 1;
        res.destroy();
      } else if (outcome) answer(outcome[0], outcome[1], headers);
      else res.destroy();
      return;
    }
    if (!body.ok) {
      return answer(413, {
        message: `The request body exceeds the maximum allowed size of ${this.options.maxBodyBytes ?? 512_000} bytes`,
        code: "request.entity.too.large",
        status: 413,
      });
    }
    const [status, payload, extraHeaders] = this.route(req.method ?? "GET", url, body.text, auth.tokenValue);
    return answer(status, payload, { ...headers, ...extraHeaders });
  }

  private authenticate(
    header: string | undefined,
    now: number,
  ): { token: IssuedToken; tokenValue: string } | { error: { code: string; message: string } } {
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? "");
    if (!match)
      return {
        error: {
          code: "authentication.required",
          message: "No authentication bearer token specified in authorization header.",
        },
      };
    const token = this.tokens.get(match[1]!);
    if (!token || token.revoked)
      return { error: { code: "bad.credentials", message: "Invalid login credentials." } };
    if (now >= token.expiresAtMs)
      return {
        error: {
          code: "credentials.expired",
          message: "The supplied credentials are expired and cannot be used.",
        },
      };
    return { token, tokenValue: match[1]! };
  }

  private rateLimit(
    answer: (status: number, body: unknown, headers?: Record<string, string>) => void,
    fingerprint: string,
    now: number,
    waitMs: number,
    format: RetryAfterFormat,
  ): void {
    this.received.rateLimited += 1;
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    const headers: Record<string, string> = {};
    let notBefore = now + seconds * 1000;
    if (format === "seconds") headers["retry-after"] = String(seconds);
    if (format === "http-date") {
      // An HTTP-date has one-second resolution: round up so the wait is never shorter than asked.
      notBefore = Math.ceil((now + seconds * 1000) / 1000) * 1000;
      headers["retry-after"] = new Date(notBefore).toUTCString();
    }
    this.retryNotBefore.set(fingerprint, notBefore);
    answer(
      429,
      {
        message: `Rate limit exceeded the maximum. Retry the request in [${seconds}] seconds`,
        code: "too.many.requests.retry.after",
        status: 429,
        contextId: randomUUID(),
        details: [],
        errors: [],
        limit: {
          key: "token.rate.per.minute",
          namespace: "platform.api",
          value: this.options.rateLimit?.requestsPerWindow ?? 300,
        },
      },
      headers,
    );
  }

  private noteEarlyRetry(fingerprint: string, route: string, now: number): void {
    const notBefore = this.retryNotBefore.get(fingerprint);
    if (notBefore === undefined) return;
    if (now < notBefore) this.received.earlyRetries.push({ atMs: now, route, earlyByMs: notBefore - now });
    this.retryNotBefore.delete(fingerprint);
  }

  private rateLimitHeaders(
    token: IssuedToken,
    budget: { requestsPerWindow: number; windowMs: number },
    now: number,
  ): Record<string, string> {
    const mode = this.options.rateLimitHeaders ?? "none";
    const resetSeconds = String(Math.max(0, Math.ceil((token.windowStartMs + budget.windowMs - now) / 1000)));
    if (mode === "inin") {
      return {
        "inin-ratelimit-allowed": String(budget.requestsPerWindow),
        "inin-ratelimit-count": String(token.windowCount),
        "inin-ratelimit-reset": resetSeconds,
      };
    }
    if (mode === "x-ratelimit") {
      return {
        "x-ratelimit-limit": String(budget.requestsPerWindow),
        "x-ratelimit-remaining": String(Math.max(0, budget.requestsPerWindow - token.windowCount)),
        "x-ratelimit-reset": resetSeconds,
      };
    }
    return {};
  }

  private route(method: string, url: URL, text: string, tokenValue: string): Answer {
    const path = url.pathname;
    if (method === "DELETE" && path === "/api/v2/tokens/me") {
      this.tokens.get(tokenValue)!.revoked = true;
      return [204, undefined];
    }
    if (method === "POST" && path === "/api/v2/outbound/contactlists/uploads") {
      // It names its list in the body, so the list's injected faults apply here too.
      const request = parseJson(text) as { id?: unknown } | undefined;
      const listId = typeof request?.id === "string" ? request.id : undefined;
      const refused = listId ? this.listRefusal(listId, "outbound:contactList:upload") : undefined;
      return refused ?? this.uploads.create(request, this.apiBaseUrl);
    }
    if (path.startsWith("/api/v2/outbound/dnclists")) return this.dncRoute(method, url, text);
    const download = /^\/api\/v2\/downloads\/([^/]+)$/.exec(path);
    if (download && method === "GET")
      return this.exports.download(decodeURIComponent(download[1]!), url, this.downloadBaseUrl);
    const onList = /^\/api\/v2\/outbound\/contactlists\/([^/]+)/.exec(path);
    const refusal = onList
      ? this.listRefusal(decodeURIComponent(onList[1]!), permissionFor(method, path))
      : undefined;
    if (refusal) return refusal;
    const listExport = /^\/api\/v2\/outbound\/contactlists\/([^/]+)\/export$/.exec(path);
    if (listExport && method === "POST")
      return this.startContactListExport(decodeURIComponent(listExport[1]!), text);
    if (listExport && method === "GET") {
      const listId = decodeURIComponent(listExport[1]!);
      if (!this.lists.has(listId)) return notFound(`contact list ${listId} not found`);
      return this.exports.uri("contactlists", listId, url, this.apiBaseUrl);
    }
    const listAction = /^\/api\/v2\/outbound\/contactlists\/([^/]+)\/(importstatus|clear)$/.exec(path);
    if (listAction?.[2] === "importstatus" && method === "GET")
      return this.uploads.status(decodeURIComponent(listAction[1]!));
    if (listAction?.[2] === "clear" && method === "POST")
      return this.uploads.clear(decodeURIComponent(listAction[1]!));
    const definition = /^\/api\/v2\/outbound\/contactlists\/([^/]+)$/.exec(path);
    if (definition && method === "GET") return this.listDefinition(decodeURIComponent(definition[1]!));
    const contacts = /^\/api\/v2\/outbound\/contactlists\/([^/]+)\/contacts(\/bulk)?$/.exec(path);
    if (contacts && method === "POST") {
      const list = this.lists.get(decodeURIComponent(contacts[1]!));
      if (!list) return notFound(`contact list ${contacts[1]} not found`);
      const parsed = parseJson(text);
      if (!Array.isArray(parsed)) return badRequest("The request body must be a JSON array");
      return contacts[2]
        ? this.readContacts(list, parsed)
        : this.addContacts(
            list,
            decodeURIComponent(contacts[1]!),
            parsed,
            url.searchParams.get("clearSystemData") === "true",
          );
    }
    if (contacts && !contacts[2] && method === "DELETE")
      return this.removeContacts(decodeURIComponent(contacts[1]!), url);
    if (method === "GET" && path === "/api/v2/outbound/contactlists") return this.findLists(url);
    const single = /^\/api\/v2\/outbound\/contactlists\/([^/]+)\/contacts\/([^/]+)$/.exec(path);
    if (single && method === "GET") {
      const contact = this.lists.get(decodeURIComponent(single[1]!))?.get(decodeURIComponent(single[2]!));
      return contact ? [200, publicContact(contact)] : notFound("contact not found");
    }
    if (method === "GET" && path === "/api/v2/ipranges") {
      return [200, { entities: this.options.ipRanges ?? DEFAULT_IP_RANGES }];
    }
    if (method === "POST" && path === "/api/v2/analytics/conversations/details/query") {
      return this.queryConversations(parseJson(text));
    }
    if (method === "GET" && path === "/api/v2/analytics/conversations/details") {
      return this.conversationsById(url);
    }
    if (method === "POST" && path === "/api/v2/analytics/conversations/details/jobs") {
      return this.submitJob(parseJson(text));
    }
    const job = /^\/api\/v2\/analytics\/conversations\/details\/jobs\/([^/]+)(\/results)?$/.exec(path);
    if (job && method === "GET") return this.jobAnswer(decodeURIComponent(job[1]!), Boolean(job[2]), url);
    return notFound(`no route for ${method} ${path}`);
  }

  /**
   * The answer for a call on a contact or DNC list that `faults.contactListFailure` or
   * `faults.dncListFailure` broke: 404 on every call, 403 on the calls that need the missing
   * permission (any of `permissions`, for calls that need them all).
   */
  private listRefusal(
    listId: string,
    permissions: string | readonly string[],
    noun = "contact list",
  ): Answer | undefined {
    const failure = this.faultState.listFailures.get(listId);
    if (failure?.status === 404) return notFound(`${noun} ${listId} not found`);
    const needed: readonly string[] = typeof permissions === "string" ? [permissions] : permissions;
    if (failure?.status !== 403 || !needed.includes(failure.permission)) return undefined;
    return apiError(
      403,
      "missing.permissions",
      `You are missing the following permission(s): ${failure.permission}`,
      { messageParams: { permissions: failure.permission } },
    );
  }

  /** DNC list routes: the list's faults first, then its export here or the rest in ./dnc.ts. */
  private dncRoute(method: string, url: URL, text: string): Answer {
    const path = url.pathname;
    const onList = /^\/api\/v2\/outbound\/dnclists\/([^/]+)/.exec(path);
    const listId = onList ? decodeURIComponent(onList[1]!) : undefined;
    const refusal =
      listId === undefined
        ? undefined
        : this.listRefusal(listId, dncPermissionsFor(method, path), "DNC list");
    if (refusal) return refusal;
    if (listId !== undefined && path.endsWith("/export") && (method === "POST" || method === "GET")) {
      if (!this.dnc.has(listId)) return notFound(`DNC list ${listId} not found`);
      return method === "POST"
        ? this.exports.start("dnclists", listId, this.dnc.file(listId))
        : this.exports.uri("dnclists", listId, url, this.apiBaseUrl);
    }
    const listed = (id: string) => this.faultState.listFailures.get(id)?.status !== 404;
    return this.dnc.route(method, url, text, listed) ?? notFound(`no route for ${method} ${path}`);
  }

  /**
   * `POST .../contactlists/{id}/export` with an optional ContactsExportRequest: the whole list, or
   * the contacts `contactIds` names; filters and criteria are not simulated and refused as such.
   */
  private startContactListExport(listId: string, text: string): Answer {
    const list = this.lists.get(listId);
    if (!list) return notFound(`contact list ${listId} not found`);
    const request = text.trim() === "" ? {} : parseJson(text);
    if (typeof request !== "object" || request === null || Array.isArray(request))
      return badRequest("The request body must be a ContactsExportRequest object");
    const { contactIds, contactListFilterId, criteria } = request as Record<string, unknown>;
    if (contactListFilterId !== undefined || criteria !== undefined)
      return badRequest(
        "contactListFilterId and criteria are not supported by the simulator: export the whole list or name contactIds",
      );
    if (
      contactIds !== undefined &&
      (!Array.isArray(contactIds) || contactIds.some((id) => typeof id !== "string"))
    )
      return badRequest("contactIds must be an array of contact ids");
    return this.exports.start("contactlists", listId, this.exportFile(listId, list, contactIds as string[]));
  }

  /**
   * The file an export of a list holds: its contacts as they are now (records are replaced, never
   * changed in place, so later writes do not reach it), or made-up rows (`syntheticExportRows`).
   * A list nobody defined exports the columns its contacts were written with, and no phone columns.
   */
  private exportFile(
    listId: string,
    list: ReadonlyMap<string, DialerContact>,
    contactIds: readonly string[] | undefined,
  ): ExportFile {
    const defined = this.definitions.get(listId);
    const phoneColumns = defined?.phoneColumns.map((column) => column.columnName) ?? [];
    const synthetic = this.syntheticExportRows.get(listId) ?? this.options.syntheticExportRows;
    if (synthetic !== undefined)
      return defined
        ? syntheticContactListFile(synthetic, defined.columnNames, phoneColumns, this.clock.now())
        : syntheticContactListFile(synthetic, ["id", "phone"], ["phone"], this.clock.now());
    const contacts = contactIds
      ? contactIds.flatMap((id) => (list.has(id) ? [list.get(id)!] : []))
      : [...list.values()];
    const columns = new Set(defined?.columnNames ?? []);
    if (!defined)
      for (const contact of contacts) for (const column of Object.keys(contact.data)) columns.add(column);
    return contactListFile([...columns], phoneColumns, contacts);
  }

  /**
   * A list's definition. A list nobody defined (defineContactList) has no columns here: the
   * simulator accepts any column on it, and a client cannot check a file against it. Define the
   * list to get Genesys' checks: unknown columns and values over 512 characters refused.
   */
  private listDefinition(id: string): Answer {
    const list = this.lists.get(id);
    if (!list) return notFound(`contact list ${id} not found`);
    const defined = this.definitions.get(id);
    return [
      200,
      {
        id,
        name: this.names.get(id) ?? `list ${id}`,
        version: 1,
        columnNames: defined ? [...defined.columnNames] : [],
        phoneColumns: defined ? defined.phoneColumns.map((column) => ({ ...column })) : [],
        size: list.size,
        selfUri: `/api/v2/outbound/contactlists/${id}`,
      },
    ];
  }

  /**
   * `GET /api/v2/outbound/contactlists?name=&filterType=&pageSize=&pageNumber=`: a
   * ContactListEntityListing (see ./listing.ts). A list answering 404 (deleted) is not listed.
   */
  private findLists(url: URL): Answer {
    const ids = [...this.lists.keys()].filter((id) => this.faultState.listFailures.get(id)?.status !== 404);
    return entityListing(
      url,
      ids,
      (id) => this.names.get(id) ?? `list ${id}`,
      (id) => this.listDefinition(id)[1],
    );
  }

  /**
   * `DELETE .../contacts?contactIds=a,b` (comma-separated or repeated, as the SDKs send them): removes
   * the contacts no campaign is using now; held ones (`holdContacts`) and unknown ids stay as they
   * are, and the answer does not say which (no body): read them back to know.
   */
  private removeContacts(listId: string, url: URL): Answer {
    const list = this.lists.get(listId);
    if (!list) return notFound(`contact list ${listId} not found`);
    const ids = url.searchParams
      .getAll("contactIds")
      .flatMap((value) => value.split(","))
      .filter(Boolean);
    if (ids.length === 0) return badRequest("contactIds is required: one or more contact ids");
    if (ids.length > MAX_CONTACT_IDS_PER_DELETE)
      return badRequest(`At most ${MAX_CONTACT_IDS_PER_DELETE} contact ids may be deleted in one request`);
    const held = this.held.get(listId);
    for (const id of ids) if (!held?.has(id)) list.delete(id);
    return [200, undefined];
  }

  private addContacts(
    list: Map<string, DialerContact>,
    listId: string,
    items: unknown[],
    clearSystemData: boolean,
  ): Answer {
    const max = this.options.maxContactsPerRequest ?? 1000;
    if (items.length > max) return badRequest(`At most ${max} contacts may be added in one request`);
    const validated: Array<Omit<DialerContact, "writes">> = [];
    for (const [index, item] of items.entries()) {
      if (typeof item !== "object" || item === null) return badRequest(`contact ${index} is not an object`);
      const candidate = item as Record<string, unknown>;
      if (candidate.contactListId !== undefined && candidate.contactListId !== listId) {
        return badRequest(
          `contact ${index} names contactListId ${String(candidate.contactListId)}, not ${listId}`,
        );
      }
      const data = candidate.data;
      if (typeof data !== "object" || data === null || Array.isArray(data))
        return badRequest(`contact ${index} has no data object`);
      if (Object.values(data).some((value) => typeof value !== "string"))
        return badRequest(`contact ${index} data values must be strings`);
      const defined = this.definitions.get(listId);
      if (defined) {
        const columns = new Set(defined.columnNames.map((column) => column.toLowerCase()));
        for (const [column, value] of Object.entries(data as Record<string, string>)) {
          if (!columns.has(column.toLowerCase()))
            return badRequest(`contact ${index}: column ${column} is not a column of contact list ${listId}`);
          if (value.length > 512)
            return badRequest(
              `contact ${index}: the value of column ${column} is longer than 512 characters`,
            );
        }
      }
      const refusal = this.faultState.refuseContact?.(candidate);
      if (refusal) return badRequest(`contact ${index}: ${refusal}`);
      const id = typeof candidate.id === "string" && candidate.id !== "" ? candidate.id : randomUUID();
      validated.push({
        id,
        contactListId: listId,
        data: data as Record<string, string>,
        callable: candidate.callable !== false,
        ...(candidate.phoneNumberStatus
          ? { phoneNumberStatus: candidate.phoneNumberStatus as DialerContact["phoneNumberStatus"] }
          : {}),
      });
    }
    this.received.contactWrites += validated.length;
    if (this.options.retainContacts === false) return [200, validated];
    const stored = validated.map((contact) => {
      const previous = list.get(contact.id);
      const writes = (previous?.writes ?? 0) + 1;
      const record: DialerContact = {
        ...contact,
        ...(clearSystemData ? {} : systemDataOf(previous)),
        writes,
      };
      list.set(contact.id, record);
      return publicContact(record);
    });
    return [200, stored];
  }

  private readContacts(list: Map<string, DialerContact>, ids: unknown[]): Answer {
    if (ids.length > 1000) return badRequest("At most 1000 ids may be read in one request");
    return [
      200,
      ids.flatMap((id) => (typeof id === "string" && list.has(id) ? [publicContact(list.get(id)!)] : [])),
    ];
  }

  private queryConversations(body: unknown): Answer {
    const parsed = this.parseDetailsQuery(body);
    if ("error" in parsed) return parsed.error;
    const query = body as { paging?: { pageSize?: unknown; pageNumber?: unknown } };
    const pageSize = Number(query.paging?.pageSize ?? 25);
    const pageNumber = Number(query.paging?.pageNumber ?? 1);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100)
      return badRequest("paging.pageSize must be between 1 and 100");
    if (!Number.isInteger(pageNumber) || pageNumber < 1)
      return badRequest("paging.pageNumber must be 1 or more");
    const { matches } = parsed;
    const page = matches.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
    return [
      200,
      page.length > 0 ? { conversations: page, totalHits: matches.length } : { totalHits: matches.length },
    ];
  }

  /**
   * `GET /api/v2/analytics/conversations/details?id=a,b`: the conversations with those ids (unknown
   * ids are left out), ids comma-separated or repeated, at most 100 in one request.
   */
  private conversationsById(url: URL): Answer {
    const ids = url.searchParams
      .getAll("id")
      .flatMap((value) => value.split(","))
      .filter(Boolean);
    if (ids.length === 0) return badRequest("id is required: one or more conversation ids, comma-separated");
    if (ids.length > 100) return badRequest("At most 100 conversation ids may be read in one request");
    const wanted = new Set(ids);
    return [200, { conversations: this.conversations.filter((c) => wanted.has(c.conversationId)) }];
  }

  /**
   * The interval and contact-list filter of a details query or job. Matching is as broad as the
   * facts say the real API is: a conversation that overlaps the interval, or that started on any
   * UTC day the interval touches, even if it ended long before the interval.
   */
  private parseDetailsQuery(body: unknown): { matches: SimulatedConversation[] } | { error: Answer } {
    if (typeof body !== "object" || body === null)
      return { error: badRequest("The request body must be a query object") };
    const query = body as { interval?: unknown; segmentFilters?: unknown };
    const interval = typeof query.interval === "string" ? query.interval.split("/") : [];
    const start = Date.parse(interval[0] ?? "");
    const end = Date.parse(interval[1] ?? "");
    if (interval.length !== 2 || Number.isNaN(start) || Number.isNaN(end) || end <= start) {
      return { error: badRequest("interval must be start/end in ISO-8601 with the end after the start") };
    }
    const DAY = 86_400_000;
    const firstDay = Math.floor(start / DAY) * DAY;
    const afterLastDay = Math.floor((end - 1) / DAY) * DAY + DAY;
    const wanted = contactListFilter(query.segmentFilters);
    const matches = this.conversations.filter((conversation) => {
      const convStart = Date.parse(conversation.conversationStart);
      const convEnd = conversation.conversationEnd ? Date.parse(conversation.conversationEnd) : Infinity;
      const overlaps = convStart < end && convEnd >= start;
      const startedOnATouchedDay = convStart >= firstDay && convStart < afterLastDay;
      if (!overlaps && !startedOnATouchedDay) return false;
      return (
        wanted === undefined ||
        segmentValues(conversation, "outboundContactListId").some((id) => wanted.has(id))
      );
    });
    return { matches };
  }

  /** `POST .../details/jobs`: the matches are fixed now; the job is FULFILLED after `jobDurationMs`. */
  private submitJob(body: unknown): Answer {
    const parsed = this.parseDetailsQuery(body);
    if ("error" in parsed) return parsed.error;
    const jobId = randomUUID();
    this.jobs.set(jobId, { submittedMs: this.clock.now(), matches: parsed.matches });
    return [202, { jobId }];
  }

  /** `GET .../jobs/{id}` (state) and `GET .../jobs/{id}/results?cursor=&pageSize=` (one page). */
  private jobAnswer(jobId: string, results: boolean, url: URL): Answer {
    const job = this.jobs.get(jobId);
    if (!job) return notFound(`job ${jobId} not found`);
    const fulfilled = this.clock.now() >= job.submittedMs + (this.options.jobDurationMs ?? 1500);
    if (!results) {
      return [
        200,
        {
          state: fulfilled ? "FULFILLED" : "PENDING",
          submissionDate: new Date(job.submittedMs).toISOString(),
          expirationDate: new Date(job.submittedMs + 86_400_000).toISOString(),
        },
      ];
    }
    if (!fulfilled) return badRequest(`job ${jobId} is not fulfilled yet`);
    const pageSize = Number(url.searchParams.get("pageSize") ?? 100);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000)
      return badRequest("pageSize must be between 1 and 1000");
    const cursor = url.searchParams.get("cursor");
    const offset = cursor === null ? 0 : Number(Buffer.from(cursor, "base64url").toString("utf8"));
    if (!Number.isInteger(offset) || offset < 0) return badRequest("cursor is not valid");
    const page = job.matches.slice(offset, offset + pageSize);
    const next = offset + pageSize < job.matches.length;
    return [
      200,
      {
        conversations: page,
        ...(next ? { cursor: Buffer.from(String(offset + pageSize)).toString("base64url") } : {}),
        dataAvailabilityDate: new Date(this.clock.now()).toISOString(),
      },
    ];
  }

  private async delay(): Promise<void> {
    if (this.faultState.latencyMs > 0) await this.clock.sleep(this.faultState.latencyMs);
  }

  private recordCaller(route: string, req: IncomingMessage): void {
    // A dual-stack listener shows IPv4 clients as ::ffff:a.b.c.d.
    const address = (req.socket.remoteAddress ?? "").replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");
    const counts = this.received.clientAddresses.get(route) ?? new Map<string, number>();
    counts.set(address, (counts.get(address) ?? 0) + 1);
    this.received.clientAddresses.set(route, counts);
  }

  private listen(
    host: string,
    port: number,
    handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  ): Promise<Server> {
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      handler(req, res).catch((error: unknown) => {
        if (!res.headersSent)
          send(res, 500, { message: String(error), code: "internal.server.error", status: 500 });
      });
    };
    const tls = this.options.tls;
    const server = tls
      ? https.createServer({ keepAliveTimeout: 60_000, key: tls.key, cert: tls.cert }, onRequest)
      : http.createServer({ keepAliveTimeout: 60_000 }, onRequest);
    server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve(server));
    });
  }
}

/** Starts a simulator; `await sim.close()` when done. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<GenesysSimulator> {
  return new GenesysSimulator(options).start();
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    ...(text === "" ? {} : { "content-type": "application/json" }),
    "content-length": String(Buffer.byteLength(text)),
    "inin-correlation-id": randomUUID(),
  });
  res.end(text);
}

async function readBody(
  req: IncomingMessage,
  maxBytes: number,
): Promise<{ ok: true; text: string } | { ok: false }> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > maxBytes) {
    req.resume();
    return { ok: false };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) tooLarge = true;
    else chunks.push(chunk);
  }
  return tooLarge ? { ok: false } : { ok: true, text: Buffer.concat(chunks).toString("utf8") };
}

function parseBasic(header: string | undefined): { clientId: string; clientSecret: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? "");
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { clientId: decoded.slice(0, colon), clientSecret: decoded.slice(colon + 1) };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A contact as Genesys answers it: its call records as CallRecord (`lastAttempt`, `lastResult`), no write count. */
function publicContact(contact: DialerContact): unknown {
  const { writes: _writes, callRecords, ...rest } = contact;
  if (!callRecords) return rest;
  const records = Object.entries(callRecords).map(([column, record]) => [
    column,
    { lastAttempt: record.lastAttempt, lastResult: record.lastResult },
  ]);
  return { ...rest, callRecords: Object.fromEntries(records) };
}

/** What an upsert keeps of a contact unless it asks `clearSystemData=true`: the dialer's call records. */
function systemDataOf(previous: DialerContact | undefined): Pick<DialerContact, "callRecords"> {
  return previous?.callRecords ? { callRecords: previous.callRecords } : {};
}

/** The permissions DNC list calls need (the SDK's OutboundApi docs: "Requires ANY/ALL permissions"). */
export type DncPermission =
  | "outbound:dnc:add"
  | "outbound:dnc:edit"
  | "outbound:dnc:delete"
  | "outbound:dnc:view"
  | "outbound:dncList:view";

export type ListPermission =
  | "outbound:contact:add"
  | "outbound:contact:delete"
  | "outbound:contactList:view"
  | "outbound:contact:view"
  | "outbound:contactList:upload";

/** The permission a contact-list call needs (an export needs both of two). */
function permissionFor(method: string, path: string): ListPermission | readonly ListPermission[] {
  if (path === MULTIPART_UPLOAD_PATH) return "outbound:contactList:upload";
  if (/\/export$/.test(path)) return ["outbound:contact:view", "outbound:contactList:view"];
  if (/\/contacts\/bulk$/.test(path) || (method === "GET" && /\/contacts\//.test(path)))
    return "outbound:contact:view";
  if (method === "DELETE" && /\/contacts$/.test(path)) return "outbound:contact:delete";
  if (/\/contacts$/.test(path)) return "outbound:contact:add";
  return "outbound:contactList:view";
}

/** The permissions a DNC list call needs: POST, PATCH and DELETE of entries one each, an export both view ones. */
function dncPermissionsFor(method: string, path: string): readonly DncPermission[] {
  if (path.endsWith("/export")) return ["outbound:dnc:view", "outbound:dncList:view"];
  if (!/\/(phonenumbers|emailaddresses|whatsappnumbers)$/.test(path)) return ["outbound:dncList:view"];
  if (method === "POST") return ["outbound:dnc:add"];
  return method === "PATCH" ? ["outbound:dnc:edit"] : ["outbound:dnc:delete"];
}

function routeOf(path: string): string {
  return path
    .replace(/^(\/api\/v2\/outbound\/contactlists\/)(?!uploads$)[^/]+/, "$1{id}")
    .replace(/^(\/api\/v2\/outbound\/dnclists\/)(?!uploads$|divisionviews$)[^/]+/, "$1{id}")
    .replace(/^(\/api\/v2\/downloads\/)[^/]+/, "$1{downloadId}")
    .replace(/(\/contacts\/)(?!bulk$)[^/]+$/, "$1{contactId}")
    .replace(/(\/details\/jobs\/)[^/]+/, "$1{jobId}");
}

/** Contact list ids named by `outboundContactListId` predicates in segment filters, if any. */
function contactListFilter(filters: unknown): Set<string> | undefined {
  if (!Array.isArray(filters)) return undefined;
  const ids = new Set<string>();
  for (const filter of filters) {
    const predicates = (filter as { predicates?: unknown }).predicates;
    if (!Array.isArray(predicates)) continue;
    for (const predicate of predicates) {
      const { dimension, value } = predicate as { dimension?: unknown; value?: unknown };
      if (dimension === "outboundContactListId" && typeof value === "string") ids.add(value);
    }
  }
  return ids.size > 0 ? ids : undefined;
}

function segmentValues(conversation: SimulatedConversation, key: string): string[] {
  const values: string[] = [];
  for (const participant of conversation.participants) {
    for (const session of (participant as { sessions?: unknown[] }).sessions ?? []) {
      const value = (session as Record<string, unknown>)[key];
      if (typeof value === "string") values.push(value);
      for (const segment of (session as { segments?: unknown[] }).segments ?? []) {
        const segmentValue = (segment as Record<string, unknown>)[key];
        if (typeof segmentValue === "string") values.push(segmentValue);
      }
    }
  }
  return values;
}
