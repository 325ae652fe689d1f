import { expect } from "chai";
import * as detailsSource from "../../../app/src/export/details-source";
import {
  DownloadFailedError,
  DownloadRefusedError,
  EXPORT_ERROR_CODES,
  ExportError,
  ListExportAnswerError,
  ListExportNotReadyError,
} from "../../../app/src/export/errors";
import * as poller from "../../../app/src/export/poller";
import * as webhook from "../../../app/src/export/webhook";

const { DetailsJobFailedError, DetailsJobTimeoutError, TooManyConversationIdsError } = detailsSource;
const { LeadershipLostError } = poller;
const { WebhookBodyRefused } = webhook;

/** One instance of every export error class, made as the export makes them (the webhook's per reason). */
const EXAMPLES: Record<string, ExportError> = {
  LeadershipLostError: new LeadershipLostError(),
  DetailsJobFailedError: new DetailsJobFailedError("job-1", "FAILED", "quota"),
  DetailsJobTimeoutError: new DetailsJobTimeoutError("job-1", 1_800_000),
  TooManyConversationIdsError: new TooManyConversationIdsError(101),
  "WebhookBodyRefused (empty)": new WebhookBodyRefused("WEBHOOK_BODY_EMPTY", 400, "empty"),
  "WebhookBodyRefused (not JSON)": new WebhookBodyRefused("WEBHOOK_BODY_NOT_JSON", 400, "not JSON"),
  "WebhookBodyRefused (too deep)": new WebhookBodyRefused("WEBHOOK_BODY_TOO_DEEP", 400, "too deep"),
  "WebhookBodyRefused (prototype key)": new WebhookBodyRefused(
    "WEBHOOK_BODY_PROTOTYPE_KEY",
    400,
    "__proto__",
  ),
  "WebhookBodyRefused (timeout)": new WebhookBodyRefused("WEBHOOK_BODY_TIMEOUT", 408, "slow"),
  // The contact-list snapshots' (export/snapshots.ts, genesys/list-export-api.ts), kept in errors.ts.
  ListExportNotReadyError: new ListExportNotReadyError("list-1", 1_800_000),
  ListExportAnswerError: new ListExportAnswerError("an export without a download uri"),
  DownloadRefusedError: new DownloadRefusedError("the download URL points at elsewhere.example"),
  DownloadFailedError: new DownloadFailedError("the download host answered 500", { status: 500 }),
};

describe("export error codes", () => {
  it("has an example here for every error class the export's modules export", () => {
    const snapshotClasses = [
      "ListExportNotReadyError",
      "ListExportAnswerError",
      "DownloadRefusedError",
      "DownloadFailedError",
    ];
    const classes = [detailsSource, poller, webhook].flatMap((module) =>
      Object.entries(module)
        .filter(([, value]) => typeof value === "function" && value.prototype instanceof ExportError)
        .map(([name]) => name),
    );
    const examples = new Set(Object.keys(EXAMPLES).map((name) => name.replace(/ \(.*\)$/, "")));
    expect([...classes, ...snapshotClasses].sort()).to.deep.equal([...examples].sort());
  });

  it("lists exactly the codes the classes use, one each, and keeps the ones logs and tests match on", () => {
    const codes = Object.values(EXAMPLES).map((error) => error.code);
    expect(new Set(codes).size, "one example per code").to.equal(codes.length);
    expect(codes.sort()).to.deep.equal(Object.keys(EXPORT_ERROR_CODES).sort());
    expect(EXAMPLES.DetailsJobFailedError!.code).to.equal("EXPORT_JOB_FAILED");
    expect(EXAMPLES.LeadershipLostError!.code).to.equal("EXPORT_LEADERSHIP_LOST");
  });

  it("says for every code what it means and what to do, in whole sentences", () => {
    for (const [code, doc] of Object.entries(EXPORT_ERROR_CODES)) {
      expect(doc.meaning, code).to.match(/^[A-Z].{20,}[.)]$/s);
      expect(doc.action, code).to.match(/^[A-Z].{10,}[.)]$/s);
    }
  });
});
