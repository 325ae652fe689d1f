import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** The import's Prometheus metrics, on the service's registry. */
export class ImportMetrics {
  readonly rows: Counter<"outcome">;
  readonly files: Counter<"outcome">;
  readonly batchDuration: Histogram;
  readonly inboxFiles: Gauge;
  readonly oldestInboxFileAgeSeconds: Gauge;
  readonly filesInProgress: Gauge;
  readonly targetBlocked: Gauge<"contact_list">;
  readonly bulkUploads: Counter<"outcome">;
  readonly bulkPercentComplete: Gauge;
  readonly fileFailures: Counter<"step">;
  readonly volumeFull: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.rows = new Counter({
      name: "import_rows_total",
      help: "Contact rows by outcome: read, accepted (valid), rejected (reported), synced (acknowledged by Genesys Cloud)",
      labelNames: ["outcome"],
      registers,
    });
    this.files = new Counter({
      name: "import_files_total",
      help: "Files by outcome: imported, imported_with_rejects, partial (unreadable remainder kept), rejected, failed (a bulk load Genesys could not import), released (shutdown)",
      labelNames: ["outcome"],
      registers,
    });
    this.batchDuration = new Histogram({
      name: "import_batch_duration_seconds",
      help: "Time from sending a batch of contacts until Genesys Cloud acknowledged it, waits and retries included",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180],
      registers,
    });
    this.inboxFiles = new Gauge({
      name: "import_inbox_files",
      help: "Files waiting in inbox/ at the last scan",
      registers,
    });
    this.oldestInboxFileAgeSeconds = new Gauge({
      name: "import_inbox_oldest_file_age_seconds",
      help: "Age of the oldest file waiting in inbox/ at the last scan (0 when empty)",
      registers,
    });
    this.filesInProgress = new Gauge({
      name: "import_files_in_progress",
      help: "Files this replica is importing",
      registers,
    });
    this.targetBlocked = new Gauge({
      name: "import_target_blocked",
      help: "1 while the contact list refuses every call (403 missing permission, 404 deleted, credentials refused): nothing is sent until it is fixed",
      labelNames: ["contact_list"],
      registers,
    });
    this.bulkUploads = new Counter({
      name: "import_bulk_uploads_total",
      help: "Bulk contact-list uploads by outcome: sent (Genesys took it), unknown (the connection broke after the whole file was sent; the import status decides), cut_short (cut off before the whole file was sent, so sent again), refused (Genesys answered with an error)",
      labelNames: ["outcome"],
      registers,
    });
    this.bulkPercentComplete = new Gauge({
      name: "import_bulk_percent_complete",
      help: "Genesys' progress importing the bulk load in hand (percentComplete of the list's import status)",
      registers,
    });
    this.fileFailures = new Counter({
      name: "import_file_failures_total",
      help: "Failures handling one inbox file, by step (refuse, claim, import): logged once per file, and the scan goes on with the other files",
      labelNames: ["step"],
      registers,
    });
    this.volumeFull = new Gauge({
      name: "import_volume_full",
      help: "1 while the shared volume is full (ENOSPC or quota): nothing is claimed or written until space is freed, then imports resume by themselves",
      registers,
    });
  }
}
