import { Counter, Gauge, type Registry } from "prom-client";

/** The results export's Prometheus metrics, on the service's registry. */
export class ExportMetrics {
  readonly polls: Counter<"result">;
  readonly conversations: Counter<"method">;
  readonly leader: Gauge;
  readonly lastPollTimestamp: Gauge;
  readonly webhookEvents: Counter<"result">;
  readonly rereadRequests: Counter;
  readonly corrections: Counter;
  readonly replayMarkersSwept: Counter;

  /** `watermarkMs` is read at each scrape, from the shared state, so every replica reports the lag. */
  constructor(registry: Registry, watermarkMs: () => Promise<number | undefined>, now: () => number) {
    const registers = [registry];
    this.polls = new Counter({
      name: "export_polls_total",
      help: "Results polls by result: ok or error (only the leader polls)",
      labelNames: ["result"],
      registers,
    });
    this.conversations = new Counter({
      name: "export_conversations_total",
      help: "Conversations written to the outbox, by how they were fetched: query or job",
      labelNames: ["method"],
      registers,
    });
    this.leader = new Gauge({
      name: "export_leader",
      help: "1 when this replica holds the poller's Lease (or runs alone), 0 otherwise",
      registers,
    });
    this.lastPollTimestamp = new Gauge({
      name: "export_last_poll_timestamp_seconds",
      help: "When this replica last finished a poll successfully (Unix time)",
      registers,
    });
    new Gauge({
      name: "export_watermark_lag_seconds",
      help: "How far the export's watermark trails now: conversations that ended since then are not in the outbox yet",
      registers,
      async collect() {
        const watermark = await watermarkMs().catch(() => undefined);
        if (watermark === undefined) this.reset();
        else this.set(Math.max(0, (now() - watermark) / 1000));
      },
    });
    this.webhookEvents = new Counter({
      name: "webhook_events_total",
      help: "Pushed events by result: accepted, duplicate, in_flight (the same id being stored elsewhere: 503, retry), invalid, unauthorized, too_large, failed",
      labelNames: ["result"],
      registers,
    });
    this.rereadRequests = new Counter({
      name: "export_reread_requests_total",
      help: "Reads by id the late-data re-read sent (up to 100 conversations each): its whole cost in requests",
      registers,
    });
    this.corrections = new Counter({
      name: "export_corrections_total",
      help: "Conversations written again to outbox/corrections-*.ndjson because they changed after they were exported",
      registers,
    });
    this.replayMarkersSwept = new Counter({
      name: "webhook_replay_ids_forgotten_total",
      help: "Event ids removed from the shared replay window: older than the window, or beyond its size bound",
      registers,
    });
  }
}

/** What became of one route's snapshot: published, or failed (export not ready in time, download failed, refused). */
export const SNAPSHOT_OUTCOMES = ["ok", "not_ready", "failed"] as const;

export type SnapshotOutcome = (typeof SNAPSHOT_OUTCOMES)[number];

/**
 * The contact-list snapshots' metrics (export/snapshots.ts), on the service's registry. The route
 * label is a configured route's name (the default route's is "default"), never a file's: bounded.
 */
export class ListSnapshotMetrics {
  readonly snapshots: Counter<"route" | "outcome">;
  readonly lastSuccessTimestamp: Gauge<"route">;
  readonly bytes: Counter<"route">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.snapshots = new Counter({
      name: "export_list_snapshots_total",
      help: "Contact-list snapshots by route and outcome: ok (published in outbox/lists/), not_ready (the export was not ready in time) or failed (retried at the next one)",
      labelNames: ["route", "outcome"],
      registers,
    });
    this.lastSuccessTimestamp = new Gauge({
      name: "export_list_snapshot_last_success_timestamp_seconds",
      help: "When the route's last snapshot was published (Unix time); alert when it is older than the schedule allows",
      labelNames: ["route"],
      registers,
    });
    this.bytes = new Counter({
      name: "export_list_snapshot_bytes_total",
      help: "Bytes of contact-list snapshots published, by route",
      labelNames: ["route"],
      registers,
    });
  }
}
