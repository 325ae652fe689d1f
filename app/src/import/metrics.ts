import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/**
 * The import's Prometheus metrics, on the service's registry. Every series may carry a `route`
 * label: a named route's (shared/routes.ts: configured names only, never taken from files, so the
 * label stays bounded). The default route's series have no route label, exactly as before routes
 * existed, so dashboards and alerts written for one list keep working. `forRoute` gives the view
 * one route's import writes through.
 */
export class ImportMetrics {
  readonly rows: Counter<"outcome" | "route">;
  readonly files: Counter<"outcome" | "route">;
  readonly batchDuration: Histogram<"route">;
  readonly inboxFiles: Gauge<"route">;
  readonly oldestInboxFileAgeSeconds: Gauge<"route">;
  readonly filesInProgress: Gauge<"route">;
  readonly targetBlocked: Gauge<"contact_list" | "route">;
  readonly bulkUploads: Counter<"outcome" | "route">;
  readonly bulkPercentComplete: Gauge<"route">;
  readonly fileFailures: Counter<"step" | "route">;
  readonly volumeFull: Gauge<"route">;
  readonly dncEntries: Counter<"outcome" | "route">;

  /** One route's view: the same metrics, each call labelled with the route (none for the default route). */
  forRoute(route: string | undefined): ImportMetrics {
    if (route === undefined) return this;
    const view = Object.create(ImportMetrics.prototype) as Record<string, unknown>;
    for (const [key, metric] of Object.entries(this)) view[key] = labelled(metric as object, { route });
    return view as unknown as ImportMetrics;
  }

  constructor(registry: Registry) {
    const registers = [registry];
    this.rows = new Counter({
      name: "import_rows_total",
      help: "Contact rows by outcome: read, accepted (valid), rejected (reported), synced (acknowledged by Genesys Cloud); for files in remove/: removed (gone from the list), kept (a campaign was using it, reported by id)",
      labelNames: ["outcome", "route"],
      registers,
    });
    this.files = new Counter({
      name: "import_files_total",
      help: "Files by outcome: imported, imported_with_rejects, partial (unreadable remainder kept), rejected, failed (a bulk load Genesys could not import), released (shutdown); removed, removed_with_rejects, removed_with_kept (files in remove/)",
      labelNames: ["outcome", "route"],
      registers,
    });
    this.batchDuration = new Histogram({
      name: "import_batch_duration_seconds",
      help: "Time from sending a batch of contacts until Genesys Cloud acknowledged it, waits and retries included",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180],
      labelNames: ["route"],
      registers,
    });
    this.inboxFiles = new Gauge({
      name: "import_inbox_files",
      help: "Files waiting in inbox/ at the last scan",
      labelNames: ["route"],
      registers,
    });
    this.oldestInboxFileAgeSeconds = new Gauge({
      name: "import_inbox_oldest_file_age_seconds",
      help: "Age of the oldest file waiting in inbox/ at the last scan (0 when empty)",
      labelNames: ["route"],
      registers,
    });
    this.filesInProgress = new Gauge({
      name: "import_files_in_progress",
      help: "Files this replica is importing",
      labelNames: ["route"],
      registers,
    });
    this.targetBlocked = new Gauge({
      name: "import_target_blocked",
      help: "1 while the contact list refuses every call (403 missing permission, 404 deleted, credentials refused): nothing is sent until it is fixed; for a DNC route, contact_list is its DNC list's id, also 1 while that list is not internal",
      labelNames: ["contact_list", "route"],
      registers,
    });
    this.bulkUploads = new Counter({
      name: "import_bulk_uploads_total",
      help: "Bulk contact-list uploads by outcome: sent (Genesys took it), unknown (the connection broke after the whole file was sent; the import status decides), cut_short (cut off before the whole file was sent, so sent again), refused (Genesys answered with an error)",
      labelNames: ["outcome", "route"],
      registers,
    });
    this.bulkPercentComplete = new Gauge({
      name: "import_bulk_percent_complete",
      help: "Genesys' progress importing the bulk load in hand (percentComplete of the list's import status)",
      labelNames: ["route"],
      registers,
    });
    this.fileFailures = new Counter({
      name: "import_file_failures_total",
      help: "Failures handling one inbox file, by step (refuse, claim, import): logged once per file, and the scan goes on with the other files",
      labelNames: ["step", "route"],
      registers,
    });
    this.dncEntries = new Counter({
      name: "import_dnc_entries_total",
      help: "Entries of DNC routes' files (dnc/<route>/add/, dnc/<route>/remove/) by outcome: read, rejected (reported), added (acknowledged by Genesys Cloud, on the list), removed (off the list)",
      labelNames: ["outcome", "route"],
      registers,
    });
    this.volumeFull = new Gauge({
      name: "import_volume_full",
      help: "1 while the shared volume is full (ENOSPC or quota): nothing is claimed or written until space is freed, then imports resume by themselves",
      labelNames: ["route"],
      registers,
    });
  }
}

const LABELLED_METHODS = new Set(["inc", "dec", "set", "observe", "startTimer", "reset"]);

/** A metric whose every call carries `extra` labels beside its own (prom-client's first argument). */
function labelled<T extends object>(metric: T, extra: Readonly<Record<string, string>>): T {
  return new Proxy(metric, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function" || !LABELLED_METHODS.has(String(property))) return value;
      return (...args: unknown[]) => {
        const [first, ...rest] = args;
        const labels = typeof first === "object" && first !== null ? { ...first, ...extra } : extra;
        const tail = typeof first === "object" && first !== null ? rest : args;
        return (value as (...call: unknown[]) => unknown).apply(target, [labels, ...tail]);
      };
    },
  });
}
