import type { Logger } from "pino";
import {
  changeDncEntries,
  getDncList,
  INTERNAL_DNC_SOURCE,
  type DncEntryKind,
  type DncListDefinition,
} from "../genesys/dnc-api";
import type { GenesysClient } from "../genesys/client";
import { failureClass, GenesysHttpError, targetFix } from "../genesys/errors";
import type { ImportMetrics } from "../import/metrics";
import type { Clock } from "../time/clock";
import { DncListNotInternalError } from "./errors";

/** Why a DNC route is holding back: what Genesys said (or what its list is), and what fixes it. */
export interface DncBlocked {
  readonly dncListId: string;
  /** `refused`: a 401, 403 or 404; `not-internal`: the list is of a kind no client may change. */
  readonly reason: "refused" | "not-internal";
  readonly status: number | undefined;
  readonly message: string;
  readonly fix: string;
  readonly sinceMs: number;
}

export interface DncGateOptions {
  readonly client: GenesysClient;
  readonly dncListId: string;
  readonly kind: DncEntryKind;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The route's view (ImportMetrics.forRoute): `import_target_blocked{contact_list=<the DNC list's id>, route}`. */
  readonly metrics: ImportMetrics;
  /** First re-check after this long, doubling up to `maxRecheckMs`; default 1 min up to 15 min. */
  readonly initialRecheckMs?: number;
  readonly maxRecheckMs?: number;
}

/** The kinds of call a DNC route makes, each needing its own permission (outbound:dnc:edit, outbound:dncList:view). */
type RefusedCall = "edit" | "read-list";

/**
 * A number in the range reserved for fiction (+1 555 0100 to 0199) and an address of the reserved
 * `.invalid` domain: a removal naming them changes nothing, and needs the same permission as any.
 */
const NO_SUCH_ENTRY: Readonly<Record<DncEntryKind, string>> = {
  phone: "+15555550100",
  email: "genesys-sync-permission-check@example.invalid",
};

/**
 * Holds one DNC route back while its list cannot take entries, as TargetGate holds a contact
 * route back: a 403 (a missing permission), a 404 (a wrong or deleted list), credentials refused,
 * or a list that is not internal (dncSourceType other than `rds`: Genesys refuses every change to
 * it). It says so once (an error log with the list, the reason and the fix; the route's
 * `import_target_blocked` gauge, labelled with the DNC list's id; the reason /readyz and the console
 * show), then re-checks with one cheap call that proves what was missing: a removal of an entry no
 * list holds when changing entries was refused, else a GET of the list that must show it internal;
 * 1 min after the failure and doubling up to every 15 min. Files wait in dnc/<route>/ meanwhile,
 * their journals intact, and the route resumes by itself. Only this route stops: the others, and
 * every contact route, go on.
 */
export class DncGate {
  private current: DncBlocked | undefined;
  private refused: RefusedCall = "read-list";
  private readonly initialRecheckMs: number;
  private readonly maxRecheckMs: number;

  constructor(private readonly options: DncGateOptions) {
    this.initialRecheckMs = options.initialRecheckMs ?? 60_000;
    this.maxRecheckMs = options.maxRecheckMs ?? 900_000;
    options.metrics.targetBlocked.set({ contact_list: options.dncListId }, 0);
  }

  /** Undefined while the list takes entries. */
  get blocked(): DncBlocked | undefined {
    return this.current;
  }

  /** Records a target-fatal failure or a list found not internal; false (and nothing changed) for anything else. */
  block(error: unknown): boolean {
    if (error instanceof DncListNotInternalError) {
      this.refused = "read-list";
      this.hold({
        reason: "not-internal",
        status: undefined,
        message: error.message,
        fix: `point the route at an internal DNC list (dncListId or dncListName), or make list ${error.dncListId} internal again in Genesys Cloud Admin > Outbound > DNC Lists`,
      });
      return true;
    }
    if (failureClass(error) !== "target-fatal") return false;
    const status = error instanceof GenesysHttpError ? error.status : undefined;
    this.refused =
      error instanceof GenesysHttpError && /\/(phonenumbers|emailaddresses)$/.test(error.route)
        ? "edit"
        : "read-list";
    this.hold({
      reason: "refused",
      status,
      message: error instanceof Error ? error.message : String(error),
      fix:
        status === 404
          ? `check that DNC list ${this.options.dncListId} exists in this Genesys Cloud org and region, and fix the route's dncListId or dncListName if it was renamed or deleted`
          : targetFix(error, `DNC list ${this.options.dncListId}`),
    });
    return true;
  }

  /**
   * Reads the list once (at start): a list the client cannot read, or one that is not internal,
   * is reported now, before any file arrives. Undefined when it cannot be read.
   */
  async preflight(signal: AbortSignal): Promise<DncListDefinition | undefined> {
    const { client, dncListId, logger } = this.options;
    try {
      const list = await getDncList(client, dncListId);
      this.check(list);
      logger.info(
        { dncListId, dncSourceType: list.dncSourceType, contactMethod: list.contactMethod, size: list.size },
        "DNC list reachable",
      );
      return list;
    } catch (error) {
      if (signal.aborted) return undefined;
      if (!this.block(error))
        logger.warn(
          { dncListId, err: { message: error instanceof Error ? error.message : String(error) } },
          "could not read the DNC list at start; each file will find out",
        );
      return undefined;
    }
  }

  /**
   * Judges the list as read again after Genesys refused a batch as a bad request (400): a list
   * changed to another kind since the start refuses every change that way. Throws
   * DncListNotInternalError (after blocking) when it is no longer internal; returns when it still
   * is, so the batch's own entries are to blame.
   */
  confirmInternal(list: DncListDefinition, cause: unknown): void {
    if (list.dncSourceType !== undefined && list.dncSourceType !== INTERNAL_DNC_SOURCE) {
      const error = new DncListNotInternalError(this.options.dncListId, list.dncSourceType, cause);
      this.block(error);
      throw error;
    }
  }

  /** While blocked, waits and re-checks until the list takes entries again. Rejects only when the signal aborts. */
  async waitUntilOpen(signal: AbortSignal): Promise<void> {
    let delayMs = this.initialRecheckMs;
    while (this.current) {
      await this.options.clock.sleep(delayMs, signal);
      try {
        await this.recheck();
        this.open();
      } catch (error) {
        this.options.logger.debug(
          { dncListId: this.options.dncListId, class: failureClass(error), retryInMs: delayMs },
          "DNC list still refuses entries",
        );
        delayMs = Math.min(this.maxRecheckMs, delayMs * 2);
      }
    }
  }

  /** Throws DncListNotInternalError for a list of another kind. */
  private check(list: DncListDefinition): void {
    if (list.dncSourceType !== undefined && list.dncSourceType !== INTERNAL_DNC_SOURCE)
      throw new DncListNotInternalError(this.options.dncListId, list.dncSourceType);
  }

  /** The same kind of call as the one refused, which changes nothing; and the list is internal. */
  private async recheck(): Promise<void> {
    const { client, dncListId, kind } = this.options;
    if (this.refused === "edit")
      await changeDncEntries(client, dncListId, { kind, action: "Remove", entries: [NO_SUCH_ENTRY[kind]] });
    this.check(await getDncList(client, dncListId));
  }

  private hold(what: Omit<DncBlocked, "dncListId" | "sinceMs">): void {
    if (this.current) return;
    const { dncListId, clock, logger, metrics } = this.options;
    this.current = { dncListId, sinceMs: clock.now(), ...what };
    metrics.targetBlocked.set({ contact_list: dncListId }, 1);
    logger.error(
      { dncListId, reason: what.reason, status: what.status, err: { message: what.message }, fix: what.fix },
      `DNC list ${dncListId} takes no entries${what.status ? ` (HTTP ${what.status})` : ""}: nothing more is sent to it until this is fixed; files wait in place. Fix: ${what.fix}`,
    );
  }

  private open(): void {
    const blocked = this.current;
    if (!blocked) return;
    this.current = undefined;
    this.options.metrics.targetBlocked.set({ contact_list: blocked.dncListId }, 0);
    this.options.logger.info(
      { dncListId: blocked.dncListId, blockedSeconds: (this.options.clock.now() - blocked.sinceMs) / 1000 },
      `DNC list ${blocked.dncListId} takes entries again: the route resumes`,
    );
  }
}
