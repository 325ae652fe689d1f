import type { ErrorCodeDoc } from "../shared/errors";
import { ServiceError } from "../shared/errors";

/**
 * Every code the console raises, with what it means and what to do (the console shows the
 * message to the operator as it is): the one list for the troubleshooting page, as
 * GENESYS_ERROR_CODES and EXPORT_ERROR_CODES are for the client and the export.
 */
export const CONSOLE_ERROR_CODES = {
  REQUEUE_NOT_REJECTED: {
    meaning:
      "A requeue named a file that is not a rejected file in rejects/ (requeued already, removed, or not a name the console listed).",
    action: "Reload the console: its list of rejected files is the one to requeue from.",
  },
  REQUEUE_INBOX_OCCUPIED: {
    meaning:
      "A requeue would put a file back into inbox/ where a file of the same name waits to be imported.",
    action: "Wait until that file is imported (it moves to archive/), then requeue.",
  },
  REQUEUE_LANE_UNKNOWN: {
    meaning:
      "A requeue named a DNC route's refused file (rejects/dnc/<route>/): nothing on the volume records whether it came from add/ or remove/, so the console cannot tell where it goes back.",
    action:
      "Fix the file and drop it yourself in dnc/<route>/add/ or dnc/<route>/remove/, then delete it from rejects/dnc/<route>/.",
  },
} as const satisfies Record<string, ErrorCodeDoc>;

export type ConsoleErrorCode = keyof typeof CONSOLE_ERROR_CODES;

/** A requeue the console refuses; the message is shown to the operator as it is. */
export class RequeueError extends ServiceError<ConsoleErrorCode> {}
