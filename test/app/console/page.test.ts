import { expect } from "chai";
import { renderConsole, type ConsoleView } from "../../../app/src/console/page";

const view = (importer: Partial<ConsoleView["importer"]> = {}): ConsoleView => ({
  user: "ops@example.com",
  csrf: "token",
  nowMs: Date.parse("2026-12-02T10:00:00Z"),
  client: {
    tokens: [],
    breaker: "closed",
    rateBudgetInUse: 0,
    rateBudgetPerWindow: 300,
    rateWindowMs: 60_000,
  },
  history: [],
  importer: {
    paused: false,
    inboxFiles: 1,
    oldestInboxFileAgeSeconds: 120,
    current: undefined,
    recent: [],
    lastScanAt: undefined,
    lastError: undefined,
    blocked: undefined,
    volumeFull: undefined,
    ...importer,
  },
  archive: { count: 0, lastAgeSeconds: undefined },
  rejected: [],
  exporter: { enabled: true, paused: false, leader: true, lastPoll: undefined, lastError: undefined },
  watermarkMs: undefined,
  notice: undefined,
});

describe("operator console page", () => {
  it("says in a line when the import holds back because the contact list refuses calls, with the fix", () => {
    const html = renderConsole(
      view({
        blocked: {
          contactListId: "list-<1>",
          status: 403,
          message: "Genesys Cloud answered 403: missing outbound:contact:add",
          fix: "give the OAuth client's role the permission outbound:contact:add",
          sinceMs: 0,
        },
      }),
    );
    expect(html).to.contain("import holding back: contact list list-&lt;1&gt; refuses calls");
    expect(html).to.contain("Fix: give the OAuth client&#39;s role the permission outbound:contact:add");
    expect(renderConsole(view())).not.to.contain("holding back");
  });

  it("shows a bulk load's step and Genesys' progress, and a failed load's reason", () => {
    const html = renderConsole(
      view({
        current: {
          name: "nightly.csv",
          mode: "replace",
          phase: "importing",
          percentComplete: 42,
          rowsRead: 1_000,
          accepted: 990,
          rejected: 10,
          synced: 420,
          alreadySynced: 0,
          batchesSent: 0,
        },
        recent: [
          {
            name: "friday.csv",
            mode: "bulk",
            status: "failed",
            rowsRead: 5,
            accepted: 5,
            rejected: 0,
            synced: 0,
            alreadySynced: 0,
            batchesSent: 0,
            elapsedSeconds: 1,
            bulk: { cleared: false, uploads: 1, failureReason: "MISSING_CUSTOM_ID" },
          },
        ],
      }),
    );
    expect(html).to.contain("420 synced, 10 rejected of 1000 read · replace load: importing 42 %");
    expect(html).to.contain("friday.csv (bulk)");
    expect(html).to.contain("MISSING_CUSTOM_ID");
  });

  it("shows each import route: its list, whether it takes files, what waits, what is in progress and its last file", () => {
    const html = renderConsole(
      view({
        routes: [
          {
            name: "default",
            state: "running",
            contactListId: "list-1",
            inboxFiles: 0,
            current: undefined,
            last: undefined,
            blocked: undefined,
          },
          {
            name: "spring",
            state: "running",
            contactListId: "list-2",
            contactListName: "Spring 2027",
            inboxFiles: 3,
            current: {
              name: "crm.csv",
              rowsRead: 2000,
              accepted: 2000,
              rejected: 0,
              synced: 1000,
              alreadySynced: 0,
              batchesSent: 1,
            },
            last: {
              name: "monday.csv",
              rowsRead: 5,
              accepted: 5,
              rejected: 0,
              synced: 5,
              alreadySynced: 0,
              batchesSent: 1,
              status: "imported",
              elapsedSeconds: 1,
            },
            blocked: undefined,
          },
          {
            name: "renewals",
            state: "running",
            contactListId: "list-3",
            inboxFiles: 1,
            current: undefined,
            last: undefined,
            blocked: {
              contactListId: "list-3",
              status: 404,
              message: "HTTP 404",
              fix: "correct the route's contactListId",
              sinceMs: 0,
            },
          },
          {
            name: "winback",
            state: "resolving",
            contactListName: "Winback",
            inboxFiles: 0,
            current: undefined,
            last: undefined,
            blocked: undefined,
          },
        ],
      }),
    );
    const row = (name: string) =>
      new RegExp(`<tr data-testid="route-${name}">(.*?)</tr>`).exec(html)?.[1] ?? "";
    expect(row("spring"))
      .to.contain("Spring 2027 (list-2)")
      .and.contain("taking files")
      .and.contain("crm.csv: 1000 synced of 2000 read")
      .and.contain("monday.csv: imported");
    expect(row("spring")).to.contain('<td class="num">3</td>');
    expect(row("renewals")).to.contain("blocked: HTTP 404. Fix: correct the route&#39;s contactListId");
    expect(row("winback")).to.contain("looking up its list");
    expect(html).to.contain("import route renewals holding back: contact list list-3 refuses calls");
    expect(
      renderConsole(
        view({
          routes: [
            {
              name: "default",
              state: "running",
              inboxFiles: 0,
              current: undefined,
              last: undefined,
              blocked: undefined,
            },
          ],
        }),
      ),
    ).not.to.contain("Import routes");
  });

  it("offers Requeue for a refused contact file, and for a DNC route's refused file says why not instead", () => {
    const html = renderConsole({
      ...view(),
      rejected: [
        {
          name: "spring/x-contacts.csv",
          ageSeconds: 60,
          reason: "no phone column",
          requeueAs: "spring/contacts.csv",
        },
        {
          name: "dnc/opt-outs/x-opt-outs.csv",
          ageSeconds: 30,
          reason: "mostly bad",
          requeueAs: undefined,
          notRequeueable: "drop it yourself in dnc/opt-outs/add/ or dnc/opt-outs/remove/",
        },
      ],
    });
    const rows = html.split("<tr>").filter((row) => row.includes("x-"));
    const [contact, dnc] = [
      rows.find((row) => row.includes("spring/")),
      rows.find((row) => row.includes("dnc/")),
    ];
    expect(contact).to.contain("Requeue").and.contain('value="spring/x-contacts.csv"');
    expect(dnc).to.not.contain("Requeue");
    expect(dnc)
      .to.contain('data-testid="not-requeueable"')
      .and.contain("dnc/opt-outs/add/ or dnc/opt-outs/remove/");
  });
});
