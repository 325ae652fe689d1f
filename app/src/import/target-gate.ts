import type { Logger } from "pino";
import {
  addContacts,
  getContactList,
  readContacts,
  removeContacts,
  type ContactListDefinition,
} from "../genesys/api";
import type { GenesysClient } from "../genesys/client";
import { failureClass, GenesysHttpError, targetFix } from "../genesys/errors";
import type { Clock } from "../time/clock";
import { readListDefinition } from "./contact-list";
import type { ImportMetrics } from "./metrics";

/** Why the import is holding back: what Genesys said, and what fixes it. */
export interface BlockedTarget {
  readonly contactListId: string;
  readonly status: number | undefined;
  /** Genesys' own message (or the error's). */
  readonly message: string;
  readonly fix: string;
  readonly sinceMs: number;
}

export interface TargetGateOptions {
  readonly client: GenesysClient;
  readonly contactListId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: ImportMetrics;
  /** First re-check after this long, doubling up to `maxRecheckMs`; default 1 min up to 15 min. */
  readonly initialRecheckMs?: number;
  readonly maxRecheckMs?: number;
}

/**
 * Holds the import back while its contact list refuses every call: a 403 (the OAuth client lacks
 * a permission), a 404 (the list is wrong or deleted), credentials refused. It says so once (an
 * error log with the list, the status, Genesys' message and the fix; a gauge; the reason readiness
 * shows), then re-checks with one cheap call: a GET of the list, or, when adding contacts was what
 * Genesys refused, an empty add, which needs that permission and writes nothing; 1 min after the
 * failure and doubling up to every 15 min: a handful of requests an hour. Once the GET passes, the import resumes by
 * itself; files stay where they are meanwhile, their journals intact.
 */
export class TargetGate {
  private current: BlockedTarget | undefined;
  /** The call Genesys refused: the re-check makes the same kind, so it proves the same permission. */
  private refused: RefusedCall = "read-list";
  private readonly initialRecheckMs: number;
  private readonly maxRecheckMs: number;

  constructor(private readonly options: TargetGateOptions) {
    this.initialRecheckMs = options.initialRecheckMs ?? 60_000;
    this.maxRecheckMs = options.maxRecheckMs ?? 900_000;
    options.metrics.targetBlocked.set({ contact_list: options.contactListId }, 0);
  }

  /** Undefined while the list takes calls. */
  get blocked(): BlockedTarget | undefined {
    return this.current;
  }

  /** Records a target-fatal failure; returns false (and changes nothing) for any other class. */
  block(error: unknown): boolean {
    if (failureClass(error) !== "target-fatal") return false;
    if (this.current) return true;
    const { contactListId, clock, logger, metrics } = this.options;
    const status = error instanceof GenesysHttpError ? error.status : undefined;
    this.refused = error instanceof GenesysHttpError ? refusedCall(error.route) : "read-list";
    this.current = {
      contactListId,
      status,
      message: error instanceof Error ? error.message : String(error),
      fix: targetFix(error, `contact list ${contactListId}`),
      sinceMs: clock.now(),
    };
    metrics.targetBlocked.set({ contact_list: contactListId }, 1);
    logger.error(
      { contactListId, status, err: { message: this.current.message }, fix: this.current.fix },
      `contact list ${contactListId} refuses every call${status ? ` (HTTP ${status})` : ""}: nothing more is sent to it until this is fixed; files wait in place. Fix: ${this.current.fix}`,
    );
    return true;
  }

  /**
   * Reads the list's definition once (at start): a list the client cannot use is reported now,
   * before any file arrives. Undefined when it cannot be read.
   */
  async preflight(signal: AbortSignal): Promise<ContactListDefinition | undefined> {
    const { client, contactListId, logger, clock } = this.options;
    try {
      const definition = await readListDefinition(client, contactListId, clock, signal);
      logger.info(
        {
          contactListId,
          columns: definition.columnNames.length,
          phoneColumns: definition.phoneColumns.map((column) => column.columnName),
          size: definition.size,
        },
        "contact list reachable",
      );
      return definition;
    } catch (error) {
      if (signal.aborted) return undefined;
      if (!this.block(error))
        logger.warn(
          { contactListId, err: { message: error instanceof Error ? error.message : String(error) } },
          "could not read the contact list's definition at start; each file will try again",
        );
      return undefined;
    }
  }

  /**
   * While blocked, waits and re-checks until the list answers again; resolves at once when not
   * blocked. Rejects only when the signal aborts (shutdown).
   */
  async waitUntilOpen(signal: AbortSignal): Promise<void> {
    let delayMs = this.initialRecheckMs;
    while (this.current) {
      await this.options.clock.sleep(delayMs, signal);
      try {
        await recheck(this.refused, this.options.client, this.options.contactListId);
        this.open();
      } catch (error) {
        this.options.logger.debug(
          { contactListId: this.options.contactListId, class: failureClass(error), retryInMs: delayMs },
          "contact list still refuses calls",
        );
        delayMs = Math.min(this.maxRecheckMs, delayMs * 2);
      }
    }
  }

  private open(): void {
    const blocked = this.current;
    if (!blocked) return;
    this.current = undefined;
    this.options.metrics.targetBlocked.set({ contact_list: blocked.contactListId }, 0);
    this.options.logger.info(
      {
        contactListId: blocked.contactListId,
        blockedSeconds: (this.options.clock.now() - blocked.sinceMs) / 1000,
      },
      `contact list ${blocked.contactListId} takes calls again: the import resumes`,
    );
  }
}

/** The kinds of call on a list, each needing its own permission (outbound:contact:add, :delete, :view, contactList:view). */
type RefusedCall = "add" | "remove" | "read-contacts" | "read-list";

/** Which kind of call a refused route (`POST /api/v2/.../contacts`) was. */
function refusedCall(route: string): RefusedCall {
  if (/\/contacts\/bulk$/.test(route)) return "read-contacts";
  if (/^DELETE .*\/contacts$/.test(route)) return "remove";
  if (/\/contacts$/.test(route)) return "add";
  return "read-list";
}

/** An id no contact has: the removal and read re-checks name it, so they change and return nothing. */
const NO_SUCH_CONTACT = "genesys-sync-permission-check";

/**
 * One cheap call of the kind that was refused, which writes nothing: an empty add, a removal or a
 * read of an id no contact has, or a GET of the list. Reading the list alone would pass while the
 * permission to add or remove is still missing, and the gate would reopen onto the same refusal.
 */
async function recheck(kind: RefusedCall, client: GenesysClient, contactListId: string): Promise<void> {
  if (kind === "add") await addContacts(client, contactListId, { json: "[]" });
  else if (kind === "remove") await removeContacts(client, contactListId, [NO_SUCH_CONTACT]);
  else if (kind === "read-contacts") await readContacts(client, contactListId, [NO_SUCH_CONTACT]);
  else await getContactList(client, contactListId);
}
