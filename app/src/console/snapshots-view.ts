import type { ListSnapshotStatus } from "../export/snapshots";

/**
 * The console's contact-list snapshots section and error lines (export/snapshots.ts status()).
 * page.ts escapes with its own `escapeHtml` and passes it in, so this file imports nothing of
 * page.ts and page.ts may import it without a cycle.
 */
export type Escape = (value: unknown) => string;

function when(ms: number | undefined): string {
  return ms === undefined
    ? "never"
    : new Date(ms)
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, " UTC");
}

function size(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * The "Contact-list snapshots" section: the schedule and who takes them, then a row per route
 * with its last snapshot (file, time, size), the last failure or the next time, and the snapshot
 * under way. Empty when snapshots are off: the page shows no section at all.
 */
export function renderSnapshotSection(
  status: ListSnapshotStatus | undefined,
  nowMs: number,
  escape: Escape,
): string {
  if (!status?.enabled) return "";
  const who = status.leader ? "this replica takes them (leader)" : "the leader takes them";
  const rows = status.routes
    .map((route) => {
      const last = route.last
        ? `${escape(route.last.file)}<br><small>${when(route.last.atMs)}, ${size(route.last.bytes)}</small>`
        : "none yet";
      const running = status.running?.route === route.route ? status.running : undefined;
      const state = running
        ? `<span class="warn">${running.phase}${running.phase === "downloading" ? ` ${size(running.bytes)}` : ""}</span>`
        : route.lastError
          ? `<span class="bad">failed ${when(route.lastError.atMs)}: ${escape(route.lastError.message)}</span>`
          : `<span class="ok">next ${route.nextDueMs === undefined ? "—" : route.nextDueMs <= nowMs ? "now" : when(route.nextDueMs)}</span>`;
      return `<tr data-testid="snapshot-${escape(route.route)}"><td>${escape(route.route)}<br><small>${escape(route.contactListId)}</small></td><td>${last}</td><td>${state}</td></tr>`;
    })
    .join("");
  return `<section class="wide"><h2>Contact-list snapshots</h2><p>${escape(status.schedule)}, in outbox/lists/; ${who}.</p><table data-testid="snapshots"><tr><th>route and list</th><th>last snapshot</th><th>state</th></tr>${rows}</table></section>`;
}

/** The snapshot failures for the console's "Recent errors" list, one line per route that failed last. */
export function snapshotErrors(status: ListSnapshotStatus | undefined): string[] {
  if (!status?.enabled) return [];
  return status.routes.flatMap((route) =>
    route.lastError ? [`contact-list snapshot of route ${route.route}: ${route.lastError.message}`] : [],
  );
}
