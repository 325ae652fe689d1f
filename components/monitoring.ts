import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ListSnapshotSettings, SnapshotSchedule } from "../stacks/settings";

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: { readonly severity: "warning" | "critical" };
  readonly annotations: { readonly summary: string; readonly runbook: string };
}

/** What the alerts depend on besides the namespace. */
export interface AlertOptions {
  /** The contact-list snapshots' schedule and ready timeout; default off: no staleness alert. */
  readonly listSnapshots?: Pick<ListSnapshotSettings, "schedule" | "readyTimeoutSeconds">;
}

/** Alerts that matter for the sync, on the metrics the service exposes. */
export function alertRules(namespace: string, options: AlertOptions = {}): AlertRule[] {
  const scope = `namespace="${namespace}"`;
  return [
    ...genesysAlerts(scope),
    ...importAlerts(scope),
    ...exportAlerts(scope),
    ...snapshotAlerts(scope, options.listSnapshots),
  ];
}

/** The Genesys Cloud client: tokens, rate limits, the circuit breaker. */
function genesysAlerts(scope: string): AlertRule[] {
  return [
    {
      alert: "GenesysTokenRefreshFailing",
      expr: `sum(increase(genesys_token_refreshes_total{${scope},result!="success"}[15m])) > 3`,
      for: "5m",
      labels: { severity: "critical" },
      annotations: {
        summary: "Token requests to the Genesys Cloud login server keep failing",
        runbook:
          "invalid_client: check the client secret in Vault and the OAuth client's grant; throttled: too many token requests (pool size, restarts)",
      },
    },
    {
      alert: "GenesysRateLimited",
      expr: `sum(rate(genesys_rate_limited_total{${scope}}[10m])) / clamp_min(sum(rate(genesys_requests_total{${scope}}[10m])), 1) > 0.005`,
      for: "10m",
      labels: { severity: "warning" },
      annotations: {
        summary: "More than 0.5 % of Genesys Cloud requests are answered 429",
        runbook:
          "Genesys counts 300 requests a minute per token: is GENESYS_RATE_LIMIT_PER_WINDOW above that, another process using the same tokens, or an org-wide limit below tokens × pool size × replicas?",
      },
    },
    {
      alert: "GenesysCircuitBreakerOpen",
      expr: `max(genesys_circuit_breaker_state{${scope}}) == 2`,
      for: "5m",
      labels: { severity: "critical" },
      annotations: {
        summary: "The Genesys Cloud circuit breaker has been open for 5 minutes",
        runbook:
          "Genesys Cloud is failing or throttling every call: check its status page and the egress policy",
      },
    },
  ];
}

/** The contact import: a refusing list, a full volume, failing files, files waiting too long. */
function importAlerts(scope: string): AlertRule[] {
  return [
    {
      alert: "ImportContactListRefusing",
      // One alert per route and list (route is empty for the default route): the others still import.
      expr: `max by (route, contact_list) (import_target_blocked{${scope}}) == 1`,
      for: "1m",
      labels: { severity: "critical" },
      annotations: {
        // A DNC route held back sets the same gauge, contact_list being its DNC list's id.
        summary:
          "List {{ $labels.contact_list }} (route {{ $labels.route }}; empty: the default route) refuses every call (403 missing permission, 404 deleted list, a DNC list that is not internal, or credentials): no file of that route is applied",
        runbook:
          "The service's error log and /readyz name the route, the list (a contact list, or a DNC route's DNC list), the status and the fix (the permission for the OAuth client's role, the list id, or an internal DNC list); it resumes by itself once fixed",
      },
    },
    {
      alert: "ImportVolumeFull",
      expr: `max(import_volume_full{${scope}}) == 1`,
      for: "1m",
      labels: { severity: "critical" },
      annotations: {
        summary: "The shared volume is full: the import has stopped claiming and writing files",
        runbook:
          "Free space on the volume (old archive/ and rejects/ files, another system's exports) or grow it; /readyz names the condition and the import resumes by itself once 16 MiB (or a tenth of the volume) is free",
      },
    },
    {
      alert: "ImportFilesFailing",
      expr: `sum(increase(import_file_failures_total{${scope}}[15m])) > 10`,
      for: "5m",
      labels: { severity: "warning" },
      annotations: {
        summary:
          "Inbox files keep failing to be refused, claimed or imported (the other files still go through)",
        runbook:
          "The service logs each failing file once with its step and error code: look for 'a file could not be handled' (permissions on the volume, a state/ entry in the way, an NFS problem)",
      },
    },
    {
      alert: "ImportInboxFileTooOld",
      expr: `max by (route) (import_inbox_oldest_file_age_seconds{${scope}}) > 1800`,
      for: "5m",
      labels: { severity: "warning" },
      annotations: {
        summary:
          "A contact file has waited in the inbox of route {{ $labels.route }} (empty: the default route, inbox/ itself) for more than 30 minutes",
        runbook: "Is the import paused, not ready (no token), or is the shared volume unwritable?",
      },
    },
  ];
}

/** The results export. */
function exportAlerts(scope: string): AlertRule[] {
  return [
    {
      alert: "ExportPollLagging",
      // The results export exposes this gauge (the seconds its watermark trails now).
      expr: `max(export_watermark_lag_seconds{${scope}}) > 1800`,
      for: "10m",
      labels: { severity: "warning" },
      annotations: {
        summary: "The results export's watermark trails by more than 30 minutes",
        runbook: "Check the poller's leader and the analytics query's 429s",
      },
    },
  ];
}

/** Seconds in one period of a snapshot schedule; undefined when snapshots are off. */
export function snapshotPeriodSeconds(schedule: SnapshotSchedule): number | undefined {
  if (schedule.kind === "interval") return schedule.seconds;
  if (schedule.kind === "daily") return 86_400;
  return undefined;
}

/**
 * The contact-list snapshots (export/snapshots.ts): a snapshot that failed, and while snapshots
 * are on, a route whose newest snapshot is older than two periods and the ready timeout: a
 * scheduled one was missed and the next did not make up for it (routes are snapshotted one after
 * another, so one period alone would fire while a long export holds the others back).
 */
function snapshotAlerts(
  scope: string,
  listSnapshots: AlertOptions["listSnapshots"] = { schedule: { kind: "off" }, readyTimeoutSeconds: 0 },
): AlertRule[] {
  const failing: AlertRule = {
    alert: "ExportListSnapshotFailing",
    expr: `sum by (route, outcome) (increase(export_list_snapshots_total{${scope},outcome!="ok"}[1h])) > 0`,
    for: "1m",
    labels: { severity: "warning" },
    annotations: {
      summary:
        "A contact-list snapshot of route {{ $labels.route }} failed ({{ $labels.outcome }}) in the last hour: no new file in outbox/lists/ for it until the next scheduled one succeeds",
      runbook:
        "not_ready: the list's export was not ready within EXPORT_LIST_SNAPSHOT_READY_TIMEOUT_SECONDS (a large list or a slow Genesys: raise it); failed: the console's snapshot section and the error log give the code (EXPORT_LIST_DOWNLOAD_REFUSED or _FAILED: the egress to api-downloads.<domain>, egress.downloadCidrs, the proxy; a 403: the OAuth client's export permission). The next scheduled snapshot tries again",
    },
  };
  const period = snapshotPeriodSeconds(listSnapshots.schedule);
  if (period === undefined) return [failing];
  const staleAfter = 2 * period + listSnapshots.readyTimeoutSeconds;
  const stale: AlertRule = {
    alert: "ExportListSnapshotStale",
    expr: `time() - max by (route) (export_list_snapshot_last_success_timestamp_seconds{${scope}}) > ${staleAfter}`,
    for: "15m",
    labels: { severity: "warning" },
    annotations: {
      summary: `The newest contact-list snapshot of route {{ $labels.route }} is older than ${staleAfter} s (two scheduled periods and the ready timeout): the CRM's view of the dialer is out of date`,
      runbook:
        "Only the leader snapshots: is one leading (the console says which replica)? Then the console's snapshot section shows the route's last error and when it is next due, and ExportListSnapshotFailing says how the last attempts ended; every replica reports the newest file in outbox/lists/ for the route",
    },
  };
  return [failing, stale];
}

export function grafanaDashboard(namespace: string): Record<string, unknown> {
  const panel = (id: number, title: string, expr: string, y: number) => ({
    id,
    title,
    type: "timeseries",
    gridPos: { h: 8, w: 12, x: (id % 2) * 12, y },
    targets: [{ expr, refId: "A" }],
  });
  const scope = `namespace="${namespace}"`;
  return {
    title: `Genesys sync (${namespace})`,
    uid: `genesys-sync-${namespace}`.slice(0, 40),
    schemaVersion: 39,
    panels: [
      panel(0, "Requests by status", `sum by (status) (rate(genesys_requests_total{${scope}}[5m]))`, 0),
      panel(1, "429s per second", `sum(rate(genesys_rate_limited_total{${scope}}[5m]))`, 0),
      panel(2, "Rows synced per second", `sum(rate(import_rows_total{${scope},outcome="synced"}[5m]))`, 8),
      panel(
        3,
        "Rows rejected per second",
        `sum(rate(import_rows_total{${scope},outcome="rejected"}[5m]))`,
        8,
      ),
      panel(4, "Token expiry (s)", `min(genesys_token_expiry_seconds{${scope}})`, 16),
      panel(5, "Oldest inbox file (s)", `max(import_inbox_oldest_file_age_seconds{${scope}})`, 16),
    ],
  };
}

export interface MonitoringArgs {
  readonly namespace: pulumi.Input<string>;
  /** Namespace name, plain, for alert and dashboard queries. */
  readonly namespaceName: string;
  /** Labels of the Service to scrape (the chart's selector labels). */
  readonly serviceLabels: Record<string, string>;
  /** Also create the Grafana dashboard ConfigMap; default true. */
  readonly grafanaDashboard?: boolean;
  /** The contact-list snapshots' schedule, for their staleness alert; default off (no such alert). */
  readonly listSnapshots?: AlertOptions["listSnapshots"];
}

/** Prometheus Operator objects: ServiceMonitor, PrometheusRule, and a dashboard for the Grafana sidecar. */
export class Monitoring extends pulumi.ComponentResource {
  public readonly serviceMonitor: k8s.apiextensions.CustomResource;
  public readonly prometheusRule: k8s.apiextensions.CustomResource;
  public readonly dashboard: k8s.core.v1.ConfigMap | undefined;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("genesys:middleware:Monitoring", name, args, opts);
    this.serviceMonitor = new k8s.apiextensions.CustomResource(
      `${name}-servicemonitor`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: { name: `${name}`, namespace: args.namespace },
        spec: {
          selector: { matchLabels: args.serviceLabels },
          endpoints: [{ port: "http", path: "/metrics", interval: "30s" }],
        },
      },
      { parent: this },
    );
    this.prometheusRule = new k8s.apiextensions.CustomResource(
      `${name}-rules`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name: `${name}-alerts`, namespace: args.namespace },
        spec: {
          groups: [
            {
              name: "genesys-sync",
              rules: alertRules(args.namespaceName, { listSnapshots: args.listSnapshots }),
            },
          ],
        },
      },
      { parent: this },
    );
    this.dashboard =
      args.grafanaDashboard === false
        ? undefined
        : new k8s.core.v1.ConfigMap(
            `${name}-dashboard`,
            {
              metadata: {
                name: `${name}-dashboard`,
                namespace: args.namespace,
                labels: { grafana_dashboard: "1" },
              },
              data: { "genesys-sync.json": JSON.stringify(grafanaDashboard(args.namespaceName)) },
            },
            { parent: this },
          );
    this.registerOutputs({
      serviceMonitor: this.serviceMonitor,
      prometheusRule: this.prometheusRule,
      dashboard: this.dashboard,
    });
  }
}
