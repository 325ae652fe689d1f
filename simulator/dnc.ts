import { randomUUID } from "node:crypto";
import type { Clock } from "../app/src/time/clock";
import { apiError, badRequest, notFound, type Answer } from "./errors";
import type { ExportFile } from "./list-exports";
import { entityListing } from "./listing";

/**
 * Genesys Cloud's do-not-call lists, as the facts file and Genesys' own API descriptions tell
 * them (the JavaScript SDK 262's OutboundApi and its docs, the CLI's embedded API description,
 * the Terraform provider's genesyscloud_outbound_dnclist resource):
 *
 * - Kinds (`dncSourceType`, SDK DncList model): `rds` is the internal list, the only one a client
 *   may change; `rds_custom` (internal, matched on a custom exclusion column), `dnc.com` and
 *   `gryphon` (external providers) are read-only here. `contactMethod` is Phone, Email or Any
 *   (required for rds).
 * - Entries of an internal list: `POST .../phonenumbers` and `POST .../emailaddresses` take a JSON
 *   array (phone numbers also `?expirationDateTime=`; the SDK's email operation has no such
 *   parameter, so it is ignored there, as Genesys ignores unknown query parameters);
 *   `PATCH .../phonenumbers|emailaddresses|whatsappnumbers` takes `{action: "Add"|"Remove",
 *   phoneNumbers|emailAddresses|whatsAppNumbers, expirationDateTime?}`;
 *   `DELETE ...?expiredOnly=` removes all entries of that kind, or the expired ones. There is no
 *   `POST .../whatsappnumbers` in the SDK, so none here.
 * - A change to a list that is not `rds` is refused with 400 `dnc.source.operation.not.supported`
 *   ("An attempt was made to append numbers to a DNC list that is not of type Internal", from the
 *   x-inin-error-codes of POST .../phonenumbers); a bad expiry with 400 `invalid.date`; a full
 *   list with 400 `dnc.records.per.list.limit.exceeded` (both codes from the same description;
 *   1,000,000 records a list is the limit Genesys' resource center gives).
 *
 * Where the sources are silent the simulator chooses, and says so: at most 1,000 entries a
 * request (400 `bad.request` beyond; no limit is documented, so a client that sends more is told
 * at once rather than in production), an entry must look like a phone number (digits, with `+`,
 * spaces, `-`, `.` and parentheses) or an email address (else 400 `invalid.value`), emails go to
 * Email or Any lists and numbers to Phone or Any lists (else 400 `bad.request`), and the
 * answers carry no body (200; 202 for `POST .../emailaddresses`, whose description says
 * "Accepted"). Changes apply at once. Phone and WhatsApp numbers match on their digits and a
 * leading `+`, so `+1 (317) 555-0100` and `+13175550100` are one entry; emails match ignoring case.
 * An entry added again takes the new expiry (none means for ever). An expired entry stays in the
 * list (and in `size`) until a DELETE removes it, but no longer counts (`isOnDnc`).
 */

/** `dncSourceType` of the SDK's DncList model. */
export const DNC_SOURCE_TYPES = ["rds", "rds_custom", "dnc.com", "gryphon"] as const;
export type DncSourceType = (typeof DNC_SOURCE_TYPES)[number];
/** `contactMethod` of the SDK's DncList model. */
export const DNC_CONTACT_METHODS = ["Phone", "Email", "Any"] as const;
export type DncContactMethod = (typeof DNC_CONTACT_METHODS)[number];

/** The routes below a DNC list that hold its entries. */
export type DncEntryKind = "phonenumbers" | "emailaddresses" | "whatsappnumbers";

/** A DNC list to create (`dncLists` option, `createDncList`). */
export interface NewDncList {
  /** Default a random UUID. */
  readonly id?: string;
  readonly name: string;
  readonly dncSourceType: DncSourceType;
  /** Required for `rds`, as in Genesys. */
  readonly contactMethod?: DncContactMethod;
}

/** One entry as a test sees it (`dncEntries`). */
export interface DncEntry {
  readonly kind: DncEntryKind;
  /** As the client sent it the first time. */
  readonly value: string;
  readonly expiresAtMs?: number;
  /** Whether it no longer counts, now on the simulator's clock. */
  readonly expired: boolean;
}

export interface DncStoreOptions {
  /** Entries one request may carry; default 1,000. */
  readonly maxEntriesPerRequest?: number;
  /** Entries a list may hold; default 1,000,000. */
  readonly maxEntriesPerList?: number;
}

interface StoredEntry {
  readonly value: string;
  readonly expiresAtMs: number | undefined;
}

interface DncList {
  readonly id: string;
  readonly name: string;
  readonly dncSourceType: DncSourceType;
  readonly contactMethod: DncContactMethod | undefined;
  readonly createdMs: number;
  modifiedMs: number;
  readonly entries: Record<DncEntryKind, Map<string, StoredEntry>>;
}

interface KindRules {
  /** The field of the PATCH body that holds the entries. */
  readonly patchField: string;
  readonly postable: boolean;
  readonly methods: readonly DncContactMethod[];
  readonly valid: (value: string) => boolean;
  readonly key: (value: string) => string;
}

const PHONE_SHAPE = /^\+?[\d\s().-]*\d[\d\s().-]*$/;
const phoneKey = (value: string) => (value.trim().startsWith("+") ? "+" : "") + value.replace(/\D/g, "");

const KINDS: Record<DncEntryKind, KindRules> = {
  phonenumbers: {
    patchField: "phoneNumbers",
    postable: true,
    methods: ["Phone", "Any"],
    valid: (value) => PHONE_SHAPE.test(value.trim()),
    key: phoneKey,
  },
  emailaddresses: {
    patchField: "emailAddresses",
    postable: true,
    methods: ["Email", "Any"],
    valid: (value) => /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value.trim()),
    key: (value) => value.trim().toLowerCase(),
  },
  whatsappnumbers: {
    patchField: "whatsAppNumbers",
    postable: false,
    methods: ["Phone", "Any"],
    valid: (value) => PHONE_SHAPE.test(value.trim()),
    key: phoneKey,
  },
};

const ENTRY_ROUTE = /^\/api\/v2\/outbound\/dnclists\/([^/]+)\/(phonenumbers|emailaddresses|whatsappnumbers)$/;
const LIST_ROUTE = /^\/api\/v2\/outbound\/dnclists\/([^/]+)$/;

export class DncStore {
  private readonly lists = new Map<string, DncList>();
  private readonly maxEntriesPerRequest: number;
  private readonly maxEntriesPerList: number;

  constructor(
    private readonly clock: Clock,
    options: DncStoreOptions = {},
  ) {
    this.maxEntriesPerRequest = options.maxEntriesPerRequest ?? 1000;
    this.maxEntriesPerList = options.maxEntriesPerList ?? 1_000_000;
  }

  /** Creates a list; answers its id. Throws on a kind or contact method Genesys would refuse. */
  create(list: NewDncList): string {
    const id = list.id ?? randomUUID();
    if (this.lists.has(id)) throw new Error(`DNC list ${id} already exists`);
    if (!DNC_SOURCE_TYPES.includes(list.dncSourceType))
      throw new Error(`dncSourceType must be one of ${DNC_SOURCE_TYPES.join(", ")}`);
    if (list.contactMethod !== undefined && !DNC_CONTACT_METHODS.includes(list.contactMethod))
      throw new Error(`contactMethod must be one of ${DNC_CONTACT_METHODS.join(", ")}`);
    if (list.dncSourceType === "rds" && list.contactMethod === undefined)
      throw new Error("contactMethod is required when dncSourceType is rds");
    const now = this.clock.now();
    this.lists.set(id, {
      id,
      name: list.name,
      dncSourceType: list.dncSourceType,
      contactMethod: list.contactMethod,
      createdMs: now,
      modifiedMs: now,
      entries: { phonenumbers: new Map(), emailaddresses: new Map(), whatsappnumbers: new Map() },
    });
    return id;
  }

  has(id: string): boolean {
    return this.lists.has(id);
  }

  /** Every entry of a list, expired or not, by kind in the order they were first added. */
  entries(id: string): DncEntry[] {
    const list = this.lists.get(id);
    if (!list) return [];
    const now = this.clock.now();
    return (Object.keys(KINDS) as DncEntryKind[]).flatMap((kind) =>
      [...list.entries[kind].values()].map((entry) => ({
        kind,
        value: entry.value,
        ...(entry.expiresAtMs === undefined ? {} : { expiresAtMs: entry.expiresAtMs }),
        expired: entry.expiresAtMs !== undefined && entry.expiresAtMs <= now,
      })),
    );
  }

  /**
   * Whether `value` (a phone or WhatsApp number, or an email address: one with an `@`) is on the
   * list and not expired at `atMs`, as the dialer would see it.
   */
  isOnDnc(id: string, value: string, atMs: number = this.clock.now()): boolean {
    const list = this.lists.get(id);
    if (!list) return false;
    const kinds: DncEntryKind[] = value.includes("@")
      ? ["emailaddresses"]
      : ["phonenumbers", "whatsappnumbers"];
    return kinds.some((kind) => {
      const entry = list.entries[kind].get(KINDS[kind].key(value));
      return entry !== undefined && (entry.expiresAtMs === undefined || entry.expiresAtMs > atMs);
    });
  }

  /** Entries held now (expired ones too, until deleted), over all lists. */
  size(): number {
    return [...this.lists.keys()].reduce((sum, id) => sum + this.sizeOf(id), 0);
  }

  /** A list's entries as a file, for `POST .../dnclists/{id}/export` (columns are the simulator's own). */
  file(id: string): ExportFile {
    const rows = this.entries(id).map((entry) => [
      entry.value,
      entry.kind,
      entry.expiresAtMs === undefined ? "" : new Date(entry.expiresAtMs).toISOString(),
    ]);
    return { header: ["Value", "Kind", "ExpirationDateTime"], rows: () => rows };
  }

  /**
   * The answer for a DNC list route, or undefined when `path` is not one. `listed` says whether a
   * list appears in `GET /api/v2/outbound/dnclists` (a list answering 404 does not).
   */
  route(method: string, url: URL, text: string, listed: (id: string) => boolean): Answer | undefined {
    const path = url.pathname;
    if (method === "GET" && path === "/api/v2/outbound/dnclists") {
      const type = url.searchParams.get("dncSourceType");
      const lists = [...this.lists.values()].filter(
        (list) => listed(list.id) && (type === null || list.dncSourceType === type),
      );
      const withSize = url.searchParams.get("includeSize") === "true";
      return entityListing(
        url,
        lists,
        (list) => list.name,
        (list) => this.describe(list, withSize),
      );
    }
    const single = LIST_ROUTE.exec(path);
    if (single && method === "GET") {
      const list = this.lists.get(decodeURIComponent(single[1]!));
      if (!list) return notFound(`DNC list ${single[1]} not found`);
      return [200, this.describe(list, url.searchParams.get("includeSize") === "true")];
    }
    const entries = ENTRY_ROUTE.exec(path);
    if (!entries) return undefined;
    const id = decodeURIComponent(entries[1]!);
    const kind = entries[2] as DncEntryKind;
    if (method === "POST" && KINDS[kind].postable) return this.post(id, kind, url, text);
    if (method === "PATCH") return this.patch(id, kind, text);
    if (method === "DELETE") return this.remove(id, kind, url);
    return undefined;
  }

  /** The DncList body; `size` only when asked for, as `includeSize` does in Genesys. */
  private describe(list: DncList, withSize: boolean): unknown {
    return {
      id: list.id,
      name: list.name,
      dateCreated: new Date(list.createdMs).toISOString(),
      dateModified: new Date(list.modifiedMs).toISOString(),
      version: 1,
      dncSourceType: list.dncSourceType,
      ...(list.contactMethod ? { contactMethod: list.contactMethod } : {}),
      ...(withSize ? { size: this.sizeOf(list.id) } : {}),
      selfUri: `/api/v2/outbound/dnclists/${list.id}`,
    };
  }

  private sizeOf(id: string): number {
    const list = this.lists.get(id);
    if (!list) return 0;
    return Object.values(list.entries).reduce((sum, entries) => sum + entries.size, 0);
  }

  /** `POST .../phonenumbers` and `.../emailaddresses`: a JSON array of entries to add. */
  private post(id: string, kind: DncEntryKind, url: URL, text: string): Answer {
    const list = this.changeable(id, kind);
    if (Array.isArray(list)) return list;
    const values = parseArray(text);
    if (!values) return badRequest("The request body must be a JSON array of strings");
    const expiry =
      kind === "phonenumbers" ? expiryOf(url.searchParams.get("expirationDateTime") ?? undefined) : {};
    if ("error" in expiry) return expiry.error;
    const added = this.add(list, kind, values, expiry.atMs);
    if (added) return added;
    return [kind === "emailaddresses" ? 202 : 200, undefined];
  }

  /** `PATCH ...`: `{action: "Add"|"Remove", <entries field>: [...], expirationDateTime?}`. */
  private patch(id: string, kind: DncEntryKind, text: string): Answer {
    const list = this.changeable(id, kind);
    if (Array.isArray(list)) return list;
    const body = parseObject(text);
    if (!body) return badRequest("The request body must be a JSON object");
    const field = KINDS[kind].patchField;
    const values = body[field];
    if (!Array.isArray(values) || values.some((value) => typeof value !== "string"))
      return badRequest(`${field} must be an array of strings`);
    if (body.action === "Remove") return this.take(list, kind, values as string[]) ?? [200, undefined];
    if (body.action !== "Add")
      return apiError(
        400,
        "invalid.value",
        `Value [${String(body.action)}] is not valid for field type [action]. Allowable values are: Add, Remove`,
      );
    const expiry = expiryOf(body.expirationDateTime);
    if ("error" in expiry) return expiry.error;
    return this.add(list, kind, values as string[], expiry.atMs) ?? [200, undefined];
  }

  /** `DELETE ...?expiredOnly=`: every entry of the kind, or the expired ones. */
  private remove(id: string, kind: DncEntryKind, url: URL): Answer {
    const list = this.changeable(id, kind);
    if (Array.isArray(list)) return list;
    const expiredOnly = url.searchParams.get("expiredOnly");
    if (expiredOnly !== null && expiredOnly !== "true" && expiredOnly !== "false")
      return apiError(
        400,
        "invalid.query.param.value",
        `Value [${expiredOnly}] is not valid for parameter [expiredOnly]. Allowable values are: true, false`,
      );
    const entries = list.entries[kind];
    const now = this.clock.now();
    for (const [key, entry] of entries)
      if (expiredOnly !== "true" || (entry.expiresAtMs !== undefined && entry.expiresAtMs <= now))
        entries.delete(key);
    list.modifiedMs = now;
    return [200, undefined];
  }

  /** The list, when a client may change its entries of `kind`; else Genesys' refusal. */
  private changeable(id: string, kind: DncEntryKind): DncList | Answer {
    const list = this.lists.get(id);
    if (!list) return notFound(`DNC list ${id} not found`);
    if (list.dncSourceType !== "rds")
      return apiError(
        400,
        "dnc.source.operation.not.supported",
        `An attempt was made to change the entries of a DNC list that is not of type Internal (${list.dncSourceType})`,
      );
    if (!KINDS[kind].methods.includes(list.contactMethod!))
      return badRequest(
        `DNC list ${id} holds ${list.contactMethod} entries: ${kind} cannot be changed on it`,
      );
    return list;
  }

  private add(
    list: DncList,
    kind: DncEntryKind,
    values: readonly string[],
    expiresAtMs?: number,
  ): Answer | undefined {
    const problem = this.checkEntries(kind, values);
    if (problem) return problem;
    const rules = KINDS[kind];
    const entries = list.entries[kind];
    const fresh = new Set(values.map(rules.key).filter((key) => !entries.has(key)));
    if (this.sizeOf(list.id) + fresh.size > this.maxEntriesPerList)
      return apiError(
        400,
        "dnc.records.per.list.limit.exceeded",
        `The DNC list has reached the limit on total records (${this.maxEntriesPerList})`,
      );
    for (const value of values) {
      const key = rules.key(value);
      entries.set(key, { value: entries.get(key)?.value ?? value.trim(), expiresAtMs });
    }
    list.modifiedMs = this.clock.now();
    return undefined;
  }

  private take(list: DncList, kind: DncEntryKind, values: readonly string[]): Answer | undefined {
    const problem = this.checkEntries(kind, values);
    if (problem) return problem;
    for (const value of values) list.entries[kind].delete(KINDS[kind].key(value));
    list.modifiedMs = this.clock.now();
    return undefined;
  }

  private checkEntries(kind: DncEntryKind, values: readonly string[]): Answer | undefined {
    if (values.length > this.maxEntriesPerRequest)
      return badRequest(`At most ${this.maxEntriesPerRequest} entries may be sent in one request`);
    const bad = values.findIndex((value) => !KINDS[kind].valid(value));
    if (bad >= 0)
      return apiError(400, "invalid.value", `Value [${values[bad]}] is not valid for field type [${kind}]`, {
        messageParams: { index: String(bad) },
      });
    return undefined;
  }
}

/** An expiry as the query parameter or PATCH field gives it (yyyy-MM-ddTHH:mmZ in the SDK's words; any ISO-8601 here). */
function expiryOf(raw: unknown): { atMs?: number } | { error: Answer } {
  if (raw === undefined || raw === null || raw === "") return {};
  const atMs = typeof raw === "string" && /^\d{4}-\d{2}-\d{2}T/.test(raw) ? Date.parse(raw) : NaN;
  if (Number.isNaN(atMs))
    return {
      error: apiError(
        400,
        "invalid.date",
        "Dates must be specified as ISO-8601 strings. For example: yyyy-MM-ddTHH:mm:ss.SSSZ",
      ),
    };
  return { atMs };
}

function parseArray(text: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) && parsed.every((value) => typeof value === "string") ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
