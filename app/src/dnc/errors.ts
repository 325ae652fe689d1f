import type { ErrorCodeDoc } from "../shared/errors";
import { ServiceError } from "../shared/errors";

/**
 * Every code the DNC routes raise, with what it means and what to do: their part of the
 * troubleshooting page, as IMPORT_ERROR_CODES is for the contact import. A DNC error can only use a
 * code listed here (DncError's constructor), and a test shows that every listed code has its class.
 */
export const DNC_ERROR_CODES = {
  DNC_LIST_NOT_INTERNAL: {
    meaning:
      "A DNC route's list is not an internal DNC list (its dncSourceType is rds_custom, dnc.com or gryphon): Genesys Cloud lets no client add or remove its entries. That route holds its files back; every other route goes on.",
    action:
      "Point the route at an internal DNC list (dncListId or dncListName), or change the list back in Genesys Cloud Admin > Outbound > DNC Lists. The route re-checks the list slowly (1 min doubling to 15 min) and resumes by itself; /readyz and the console name it meanwhile.",
  },
  DNC_INDEX_UNREADABLE: {
    meaning:
      "A file of a DNC route's index of applied entries (state/dnc/<route>/index/) cannot be read: cut short, or not written by this service. It is left out, so checkDnc counts in file summaries may be lower than they should until it is replaced.",
    action:
      "Delete the file the log names; the next DNC file of that route writes the index again for its own entries. Nothing sent to Genesys Cloud depends on the index: it only feeds the counts.",
  },
} as const satisfies Record<string, ErrorCodeDoc>;

export type DncErrorCode = keyof typeof DNC_ERROR_CODES;

/** The base of the DNC routes' errors: a listed code, `retryable`, `cause` kept. */
export class DncError extends ServiceError<DncErrorCode> {}

/** The route's DNC list is not internal (anymore): its entries cannot be changed by a client. */
export class DncListNotInternalError extends DncError {
  readonly dncListId: string;
  readonly dncSourceType: string | undefined;
  constructor(dncListId: string, dncSourceType: string | undefined, cause?: unknown) {
    super(
      "DNC_LIST_NOT_INTERNAL",
      `DNC list ${dncListId} is not an internal DNC list (dncSourceType ${dncSourceType ?? "unknown"}): Genesys Cloud lets no client add or remove its entries`,
      { cause },
    );
    this.dncListId = dncListId;
    this.dncSourceType = dncSourceType;
  }
}

/** A file of a route's index of applied entries that cannot be read; it is left out of the index. */
export class DncIndexFileError extends DncError {
  readonly file: string;
  constructor(file: string, problem: string) {
    super(
      "DNC_INDEX_UNREADABLE",
      `the DNC index file ${file} cannot be read (${problem}): it is left out of the index; delete it`,
    );
    this.file = file;
  }
}
