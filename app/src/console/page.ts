import type { ExportStatus } from "../export/export-service";
import type { ClientState } from "../genesys/client";
import type { ImportStatus } from "../import/import-service";
import type { RouteStatus } from "../import/route-set";
import { budgetShareInUse } from "../shared/rate-budget";
import { CONSOLE_PREFIX } from "./config";
import type { ArchiveSummary, RejectedFile } from "./files";
import type { Sample } from "./history";
import { renderSnapshotSection, snapshotErrors } from "./snapshots-view";
import type { ListSnapshotStatus } from "../export/snapshots";

export interface ConsoleView {
  readonly user: string;
  readonly csrf: string;
  readonly nowMs: number;
  readonly client: ClientState;
  readonly history: readonly Sample[];
  /** With `routes` once the deployment declares routes beyond the default one (import/route-set.ts). */
  readonly importer: ImportStatus & { readonly routes?: readonly RouteStatus[] };
  readonly archive: ArchiveSummary;
  readonly rejected: readonly RejectedFile[];
  readonly exporter: ExportStatus;
  /** Undefined without a schedule (or in tests that leave it out): no section. */
  readonly snapshots?: ListSnapshotStatus | undefined;
  readonly watermarkMs: number | undefined;
  readonly notice: string | undefined;
}

export function escapeHtml(value: unknown): string {
  return String(value).replace(
    /[&<>"']/g,
    (char) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[char]!,
  );
}

function age(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function time(ms: number | undefined): string {
  return ms === undefined
    ? "never"
    : new Date(ms)
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, " UTC");
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
header{display:flex;justify-content:space-between;align-items:center;padding:10px 20px;background:#1d2330;color:#fff}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(330px,1fr));gap:14px;padding:14px 20px}
section{background:#fff;border-radius:6px;padding:12px 16px;box-shadow:0 1px 2px #0002}
h1{font-size:17px;margin:0}h2{font-size:15px;margin:0 0 8px}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:2px 6px;border-bottom:1px solid #eee;vertical-align:top}
.ok{color:#17803d}.bad{color:#b42318}.warn{color:#b54708}.num{font-variant-numeric:tabular-nums}
form.inline{display:inline}button{cursor:pointer}.notice{margin:14px 20px 0;padding:8px 12px;background:#fff7d6;border-radius:6px}
.wide{grid-column:1/-1}`;

function chart(samples: readonly Sample[], nowMs: number): string {
  const width = 640;
  const height = 130;
  const x = (atMs: number) => Math.round(((atMs - (nowMs - 3_600_000)) / 3_600_000) * width);
  const maxLimited = Math.max(1, ...samples.map((sample) => sample.rateLimited));
  const bars = samples
    .filter((sample) => sample.rateLimited > 0)
    .map((sample) => {
      const barHeight = Math.max(2, Math.round((sample.rateLimited / maxLimited) * (height - 20)));
      return `<rect x="${x(sample.atMs) - 2}" y="${height - barHeight}" width="4" height="${barHeight}" fill="#b42318"><title>${sample.rateLimited} × 429</title></rect>`;
    })
    .join("");
  const line = samples
    .map((sample) => `${x(sample.atMs)},${Math.round(height - sample.budgetInUse * (height - 20))}`)
    .join(" ");
  const total429 = samples.reduce((sum, sample) => sum + sample.rateLimited, 0);
  return `<svg data-testid="rate-chart" viewBox="0 0 ${width} ${height}" width="100%" height="${height}" role="img" aria-label="Rate budget in use and 429 answers over the last hour">
<rect width="${width}" height="${height}" fill="#fafbfc" stroke="#ddd"/>
<line x1="0" x2="${width}" y1="20" y2="20" stroke="#ccc" stroke-dasharray="4"/>
<text x="4" y="14" font-size="11" fill="#667">budget 100 %</text>
${bars}<polyline fill="none" stroke="#2563eb" stroke-width="2" points="${line}"/>
</svg><div class="num">Last hour: <span data-testid="rate-limited-hour">${total429}</span> answers 429 · ${samples.length} samples · line: budget in use, bars: 429s</div>`;
}

/** A one-button form that posts to `path` with the session's CSRF token (and `extra` fields). */
function postButton(csrf: string, path: string, label: string, extra = ""): string {
  return `<form class="inline" method="post" action="${path}"><input type="hidden" name="csrf" value="${escapeHtml(csrf)}">${extra}<button type="submit">${escapeHtml(label)}</button></form>`;
}

function tokenRows(client: ClientState, nowMs: number): string {
  return client.tokens
    .map(
      (token) =>
        `<tr><td>slot ${token.slot}</td><td class="${token.valid ? "ok" : "bad"}" data-testid="token-state">${token.valid ? "valid" : "no valid token"}</td><td class="num">${
          token.expiresAtMs === undefined ? "" : `expires in ${age((token.expiresAtMs - nowMs) / 1000)}`
        }</td></tr>`,
    )
    .join("");
}

/** The file in progress (a bulk load with its step and Genesys' progress) and the last five done. */
function importRows(importer: ImportStatus): { current: string; recent: string } {
  const file = importer.current;
  const bulkStep =
    file?.mode === undefined || file.mode === "api"
      ? ""
      : ` · ${file.mode} load: ${file.phase ?? "starting"}${file.percentComplete === undefined ? "" : ` ${file.percentComplete} %`}`;
  const current = file
    ? `<tr><td>in progress</td><td data-testid="file-in-progress">${escapeHtml(file.name)}</td><td class="num">${file.synced + file.alreadySynced} synced, ${file.rejected} rejected of ${file.rowsRead} read${escapeHtml(bulkStep)}</td></tr>`
    : `<tr><td>in progress</td><td colspan="2">none</td></tr>`;
  const recent = importer.recent
    .slice(0, 5)
    .map(
      (outcome) =>
        `<tr><td>${escapeHtml(outcome.status.replace(/_/g, " "))}</td><td>${escapeHtml(outcome.name)}${outcome.mode && outcome.mode !== "api" ? ` (${outcome.mode})` : ""}</td><td class="num">${outcome.synced} synced, ${outcome.rejected} rejected${outcome.bulk?.failureReason ? ` · ${escapeHtml(outcome.bulk.failureReason)}` : ""}</td></tr>`,
    )
    .join("");
  return { current, recent };
}

/** One row per import route: its list, files waiting, the file in progress, the last summary, blocked or not. */
function routeRows(routes: readonly RouteStatus[]): string {
  return routes
    .map((route) => {
      const list = route.contactListName
        ? `${route.contactListName}${route.contactListId ? ` (${route.contactListId})` : ""}`
        : (route.contactListId ?? "");
      const state =
        route.state === "resolving"
          ? '<span class="warn">looking up its list</span>'
          : route.blocked
            ? `<span class="bad">blocked: ${escapeHtml(route.blocked.message)}. Fix: ${escapeHtml(route.blocked.fix)}</span>`
            : '<span class="ok">taking files</span>';
      const current = route.current
        ? `${escapeHtml(route.current.name)}: ${route.current.synced + route.current.alreadySynced} synced of ${route.current.rowsRead} read`
        : "none";
      const last = route.last
        ? `${escapeHtml(route.last.name)}: ${escapeHtml(route.last.status.replace(/_/g, " "))}`
        : "none yet";
      return `<tr data-testid="route-${escapeHtml(route.name)}"><td>${escapeHtml(route.name)}<br><small>${escapeHtml(list)}</small></td><td>${state}</td><td class="num">${route.inboxFiles}</td><td>${current}</td><td>${last}</td></tr>`;
    })
    .join("");
}

function rejectedRows(view: ConsoleView): string {
  return view.rejected
    .map(
      (file) =>
        `<tr><td>${escapeHtml(file.name)}<br><small>${escapeHtml(file.reason)}</small></td><td class="num">${age(file.ageSeconds)} ago</td><td>${
          file.requeueAs === undefined
            ? `<small data-testid="not-requeueable">${escapeHtml(file.notRequeueable ?? "not requeueable")}</small>`
            : postButton(
                view.csrf,
                `${CONSOLE_PREFIX}/actions/requeue`,
                "Requeue",
                `<input type="hidden" name="file" value="${escapeHtml(file.name)}">`,
              )
        }</td></tr>`,
    )
    .join("");
}

/** The ten first problems worth an operator's eye: token errors, a held-back or stopped import, loop errors. */
function recentErrors(view: ConsoleView): string[] {
  const { client, importer, exporter } = view;
  return [
    ...client.tokens.flatMap((token) =>
      token.lastError ? [`token slot ${token.slot}: ${token.lastError}`] : [],
    ),
    ...(importer.blocked
      ? [
          `import holding back: contact list ${importer.blocked.contactListId} refuses calls (${importer.blocked.message}). Fix: ${importer.blocked.fix}`,
        ]
      : []),
    ...(importer.routes ?? []).flatMap((route) =>
      route.blocked && route.name !== "default"
        ? [
            `import route ${route.name} holding back: contact list ${route.blocked.contactListId} refuses calls (${route.blocked.message}). Fix: ${route.blocked.fix}`,
          ]
        : [],
    ),
    ...(importer.volumeFull
      ? [
          `import stopped: the shared volume is full (${importer.volumeFull.message}). Fix: free space on it; imports resume by themselves`,
        ]
      : []),
    ...(importer.lastError ? [`import: ${importer.lastError}`] : []),
    ...(exporter.lastError ? [`export: ${exporter.lastError}`] : []),
    ...snapshotErrors(view.snapshots),
    ...importer.recent.flatMap((outcome) => (outcome.reason ? [`${outcome.name}: ${outcome.reason}`] : [])),
  ].slice(0, 10);
}

export function renderConsole(view: ConsoleView): string {
  const { client, importer, exporter } = view;
  const action = (name: string, label: string) =>
    postButton(view.csrf, `${CONSOLE_PREFIX}/actions/${name}`, label);
  const tokens = tokenRows(client, view.nowMs);
  const budgetShare = budgetShareInUse(client);
  const { current, recent } = importRows(importer);
  const rejected = rejectedRows(view);
  const errors = recentErrors(view);

  const poll = exporter.lastPoll;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="15">
<title>Genesys sync console</title><style>${STYLE}</style></head><body>
<header><h1>Genesys Cloud sync</h1><div>Signed in as <strong data-testid="user">${escapeHtml(view.user)}</strong> ${postButton(view.csrf, `${CONSOLE_PREFIX}/logout`, "Sign out")}</div></header>
${view.notice ? `<div class="notice" data-testid="notice">${escapeHtml(view.notice)}</div>` : ""}
<main>
<section><h2>Genesys Cloud access</h2><table>${tokens}
<tr><td>breaker</td><td class="${client.breaker === "closed" ? "ok" : "bad"}" data-testid="breaker">${client.breaker}</td><td></td></tr>
<tr><td>rate budget</td><td class="num" data-testid="budget">${client.rateBudgetInUse} of ${client.rateBudgetPerWindow} per ${client.rateWindowMs / 1000} s</td><td class="num">${Math.round(budgetShare * 100)} % in use</td></tr>
</table></section>
<section class="wide"><h2>Rate budget and 429s, last hour</h2>${chart(view.history, view.nowMs)}</section>
<section><h2>Contact import ${importer.paused ? '<span class="warn" data-testid="import-paused">paused</span>' : ""}</h2><table>
<tr><td>waiting</td><td class="num" data-testid="inbox-count">${importer.inboxFiles}</td><td class="num">${importer.inboxFiles > 0 ? `oldest ${age(importer.oldestInboxFileAgeSeconds)}` : ""}</td></tr>
${current}
<tr><td>imported</td><td class="num" data-testid="archive-count">${view.archive.count}</td><td class="num">${view.archive.lastAgeSeconds === undefined ? "" : `last ${age(view.archive.lastAgeSeconds)} ago`}</td></tr>
<tr><td>rejected</td><td class="num" data-testid="rejected-count">${view.rejected.length}</td><td class="num">${view.rejected.length > 0 ? `oldest ${age(Math.max(...view.rejected.map((file) => file.ageSeconds)))}` : ""}</td></tr>
${recent}</table>
<p>${importer.paused ? action("resume-import", "Resume import") : action("pause-import", "Pause import")}</p></section>
${
  (importer.routes?.length ?? 0) > 1
    ? `<section class="wide"><h2>Import routes</h2><table data-testid="routes"><tr><th>route and list</th><th>state</th><th>waiting</th><th>in progress</th><th>last file</th></tr>${routeRows(importer.routes!)}</table></section>`
    : ""
}
<section><h2>Rejected files</h2>${rejected ? `<table data-testid="rejected">${rejected}</table>` : "<p>None.</p>"}</section>
<section><h2>Results export ${exporter.paused ? '<span class="warn" data-testid="export-paused">paused</span>' : ""}</h2><table>
<tr><td>poller</td><td colspan="2">${exporter.enabled ? (exporter.leader ? "this replica polls (leader)" : "another replica polls") : "off"}</td></tr>
<tr><td>last window</td><td colspan="2" class="num" data-testid="last-window">${poll ? `${time(poll.windowStartMs)} → ${time(poll.windowEndMs)}: ${poll.exported} conversations (${poll.method})` : "none yet"}</td></tr>
<tr><td>watermark</td><td colspan="2" class="num" data-testid="watermark">${view.watermarkMs === undefined ? "none yet" : `${time(view.watermarkMs)} (${age((view.nowMs - view.watermarkMs) / 1000)} behind)`}</td></tr>
</table>
<p>${exporter.paused ? action("resume-export", "Resume export") : action("pause-export", "Pause export")}</p></section>
${renderSnapshotSection(view.snapshots, view.nowMs, escapeHtml)}
<section class="wide"><h2>Recent errors</h2>${errors.length > 0 ? `<ul data-testid="errors">${errors.map((error) => `<li>${escapeHtml(error)}</li>`).join("")}</ul>` : "<p>None.</p>"}</section>
</main></body></html>`;
}

export function renderMessage(
  title: string,
  message: string,
  link?: { href: string; label: string },
): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>
<header><h1>Genesys Cloud sync</h1></header><main><section class="wide"><h2 data-testid="title">${escapeHtml(title)}</h2><p>${escapeHtml(message)}</p>${
    link ? `<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.label)}</a></p>` : ""
  }</section></main></body></html>`;
}
