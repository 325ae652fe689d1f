import { expect } from "chai";
import { addContacts, removeContacts } from "../../../app/src/genesys/api";
import { GenesysClient } from "../../../app/src/genesys/client";
import { ClientClosedError } from "../../../app/src/genesys/errors";
import { RequestPacer } from "../../../app/src/genesys/pacer";
import {
  currentRequestShare,
  withRequestShare,
  type RequestShare,
} from "../../../app/src/genesys/request-share";
import { tokenPacing } from "../../../app/src/shared/rate-budget";
import { resolveEndpoints } from "../../../app/src/shared/regions";
import { createLogger } from "../../../app/src/logging";
import { startSimulator } from "../../../simulator/simulator";
import { FakeClock } from "../../support/fake-clock";
import { ScriptedGenesys, SCRIPTED_ENDPOINTS } from "../../support/scripted-genesys";

const addition = (key: string): RequestShare => ({ key, priority: "addition" });
const removal = (key: string): RequestShare => ({ key, priority: "removal" });
const background = (key: string): RequestShare => ({ key, priority: "background" });

/** A pacer of `perWindow` requests per 1 s window (no safety margin) and the order it grants in. */
function setup(perWindow: number) {
  const clock = new FakeClock();
  const pacer = new RequestPacer(
    tokenPacing({ requestsPerWindow: perWindow, windowMs: 1_000, safetyMarginMs: 0 }),
    clock,
  );
  const granted: string[] = [];
  const ask = (label: string, share?: RequestShare) =>
    pacer.acquire(share).then(() => {
      granted.push(label);
    });
  /** `depth` workers of `label`, each asking again as soon as it is granted: a stream that always has `depth` waiting. */
  const stream = (label: string, share: RequestShare | undefined, depth: number) =>
    Array.from({ length: depth }, async () => {
      try {
        for (;;) {
          await pacer.acquire(share);
          granted.push(label);
        }
      } catch {
        // closed: the stream ends
      }
    });
  return { clock, pacer, granted, ask, stream };
}

describe("RequestPacer shares the budget: removals first, then each key in turn (fake clock)", () => {
  it("a second key's single request is granted within the next two grants while another key keeps four waiting", async () => {
    const { clock, pacer, granted, ask, stream } = setup(3);
    const streaming = stream("A", addition("A"), 4);
    await clock.flush();
    expect(granted).to.deep.equal(["A", "A", "A"]);
    expect(pacer.queued()).to.equal(4);
    const before = granted.length;
    const b = ask("B", addition("B"));
    await clock.advance(1_000);
    await b;
    expect(granted.indexOf("B") - before).to.be.at.most(1);
    expect(pacer.queued(), "A still has four waiting").to.equal(4);
    pacer.close();
    await Promise.all(streaming);
  });

  it("without shares the same request waits behind all four, first come, first served, as before shares existed", async () => {
    const { clock, pacer, granted, ask, stream } = setup(3);
    const streaming = stream("A", undefined, 4);
    await clock.flush();
    const before = granted.length;
    const b = ask("B");
    await clock.advance(2_000);
    await b;
    expect(granted.indexOf("B") - before).to.equal(4);
    pacer.close();
    await Promise.all(streaming);
  });

  it("grants removals before additions queued earlier, and background only when neither waits", async () => {
    const { clock, pacer, granted, ask } = setup(1);
    const all = [ask("a0", addition("A"))];
    await clock.flush();
    all.push(
      ask("bg1", background("export")),
      ask("a1", addition("A")),
      ask("a2", addition("A")),
      ask("b1", addition("B")),
      ask("r1", removal("C")),
      ask("r2", removal("C")),
    );
    await clock.advance(6_000);
    await Promise.all(all);
    expect(granted).to.deep.equal(["a0", "r1", "r2", "a1", "b1", "a2", "bg1"]);
    expect(pacer.queued()).to.equal(0);
  });

  it("two keys alternate, each key's own requests in the order they came", async () => {
    const { clock, ask, granted, pacer } = setup(1);
    const first = ask("first");
    await clock.flush();
    const all = [
      first,
      ...["a1", "a2", "a3"].map((label) => ask(label, addition("A"))),
      ...["b1", "b2", "b3"].map((label) => ask(label, addition("B"))),
    ];
    await clock.advance(6_000);
    await Promise.all(all);
    expect(granted).to.deep.equal(["first", "a1", "b1", "a2", "b2", "a3", "b3"]);
    expect(pacer.queued()).to.equal(0);
  });

  it("uses the whole budget when only one key has work (work-conserving)", async () => {
    const { clock, pacer, granted, ask } = setup(4);
    const all = Array.from({ length: 12 }, (_, index) => ask(`a${index}`, addition("A")));
    await clock.flush();
    expect(granted).to.have.length(4);
    expect(pacer.inUse()).to.equal(4);
    await clock.advance(999);
    expect(granted).to.have.length(4);
    await clock.advance(1);
    expect(granted).to.have.length(8);
    await clock.advance(1_000);
    expect(granted).to.have.length(12);
    await Promise.all(all);
    expect(granted).to.deep.equal(Array.from({ length: 12 }, (_, index) => `a${index}`));
  });

  it("lets a lower class use budget the higher ones leave: background is sent at once when nothing else waits", async () => {
    const { clock, pacer, granted, ask } = setup(2);
    const all = [ask("r1", removal("C")), ask("bg1", background("export")), ask("bg2", background("export"))];
    await clock.flush();
    expect(granted).to.deep.equal(["r1", "bg1"]);
    expect(pacer.queued()).to.equal(1);
    await clock.advance(1_000);
    await Promise.all(all);
    expect(granted).to.deep.equal(["r1", "bg1", "bg2"]);
  });

  it("serves a request without a share in its turn among the routes' additions", async () => {
    const { clock, pacer, granted, ask, stream } = setup(3);
    const streaming = [...stream("A", addition("A"), 4), ...stream("B", addition("B"), 4)];
    await clock.flush();
    const before = granted.length;
    const unshared = ask("poll");
    await clock.advance(1_000);
    await unshared;
    expect(granted.indexOf("poll") - before).to.be.at.most(2);
    pacer.close();
    await Promise.all(streaming);
  });

  it("serves requests without a share first come, first served among themselves", async () => {
    const { clock, granted, ask } = setup(1);
    const all = ["u1", "u2", "u3", "u4"].map((label) => ask(label));
    await clock.advance(3_000);
    await Promise.all(all);
    expect(granted).to.deep.equal(["u1", "u2", "u3", "u4"]);
  });

  it("counts what would go before a new request of each share", async () => {
    const { clock, pacer, ask } = setup(1);
    const all = [ask("first")];
    await clock.flush();
    all.push(
      ...Array.from({ length: 3 }, () => ask("a", addition("A"))),
      ask("b", addition("B")),
      ask("r", removal("C")),
      ask("bg", background("export")),
    );
    expect(pacer.queued()).to.equal(6);
    expect(pacer.queuedAhead(removal("C"))).to.equal(1);
    expect(pacer.queuedAhead(removal("D"))).to.equal(1);
    // One removal, then per turn one of A's and B's: at most A's four turns and B's one.
    expect(pacer.queuedAhead(addition("A"))).to.equal(1 + 3 + 1);
    expect(pacer.queuedAhead(addition("B"))).to.equal(1 + 1 + 2);
    expect(pacer.queuedAhead(addition("new"))).to.equal(1 + 1 + 1);
    expect(pacer.queuedAhead(), "no share: one more key among the additions").to.equal(1 + 1 + 1);
    expect(pacer.queuedAhead(background("export"))).to.equal(1 + 4 + 1);
    pacer.close();
    await Promise.allSettled(all);
  });

  it("close() rejects the waiters of every class and refuses new ones", async () => {
    const { clock, pacer, ask } = setup(1);
    await ask("first");
    const waiting = [ask("r", removal("C")), ask("a", addition("A")), ask("u"), ask("bg", background("x"))];
    await clock.flush();
    pacer.close();
    const outcomes = await Promise.allSettled(waiting);
    expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(Array(4).fill("rejected"));
    for (const outcome of outcomes)
      expect((outcome as PromiseRejectedResult).reason).to.be.instanceOf(ClientClosedError);
    expect(pacer.queued()).to.equal(0);
    const late = await pacer.acquire(removal("C")).catch((error: unknown) => error);
    expect(late).to.be.instanceOf(ClientClosedError);
  });
});

describe("withRequestShare", () => {
  it("keeps the share across awaits, timers and promise chains, and none outside", async () => {
    const clock = new FakeClock();
    const share = removal("optouts");
    const seen: Array<RequestShare | undefined> = [];
    const work = withRequestShare(share, async () => {
      seen.push(currentRequestShare());
      await new Promise((resolve) => setImmediate(resolve));
      seen.push(currentRequestShare());
      await clock.sleep(5_000);
      seen.push(currentRequestShare());
      await new Promise((resolve) => setTimeout(resolve, 1));
      return Promise.resolve().then(() => currentRequestShare());
    });
    expect(currentRequestShare()).to.equal(undefined);
    await clock.advance(5_000);
    expect(await work).to.equal(share);
    expect(seen).to.deep.equal([share, share, share]);
    expect(currentRequestShare()).to.equal(undefined);
  });

  it("keeps concurrent contexts apart, and a nested one wins inside it only", async () => {
    const seen: Record<string, Array<string | undefined>> = { A: [], B: [] };
    const step = () => new Promise((resolve) => setImmediate(resolve));
    const run = (key: string) =>
      withRequestShare(addition(key), async () => {
        for (let round = 0; round < 5; round += 1) {
          seen[key]!.push(currentRequestShare()?.key);
          await step();
        }
        await withRequestShare(removal(`${key}-inner`), async () => {
          await step();
          seen[key]!.push(currentRequestShare()?.key);
        });
        seen[key]!.push(currentRequestShare()?.key);
      });
    await Promise.all([run("A"), run("B")]);
    expect(seen.A).to.deep.equal(["A", "A", "A", "A", "A", "A-inner", "A"]);
    expect(seen.B).to.deep.equal(["B", "B", "B", "B", "B", "B-inner", "B"]);
  });

  it("refuses a priority it does not know, naming the ones it does", () => {
    expect(() => withRequestShare({ key: "A", priority: "urgent" as never }, async () => undefined)).to.throw(
      TypeError,
      "removal, addition, background",
    );
  });

  it("turns a work that throws at once into a rejected promise", async () => {
    const error = await withRequestShare(addition("A"), () => {
      throw new Error("boom");
    }).catch((caught: unknown) => caught);
    expect((error as Error).message).to.equal("boom");
  });
});

describe("GenesysClient takes the share from withRequestShare or the request", () => {
  const get = (client: GenesysClient, path: string, share?: RequestShare) =>
    client.request({ method: "GET", path, ...(share ? { share } : {}) });

  function scripted(poolSize: number) {
    const clock = new FakeClock();
    const genesys = new ScriptedGenesys();
    genesys.issueTokens(86_400);
    const client = new GenesysClient({
      endpoints: SCRIPTED_ENDPOINTS,
      clientId: "client-id",
      clientSecret: "client-secret-for-tests",
      dispatcher: genesys.agent,
      clock,
      random: () => 0.5,
      logger: createLogger({ level: "silent" }),
      tokenPoolSize: poolSize,
      rateLimit: { requestsPerWindow: 1, windowMs: 1_000, safetyMarginMs: 0 },
    });
    const sent = () => genesys.apiRequests().map((request) => request.path.split("/").pop()!);
    return { clock, genesys, client, sent };
  }

  it("an explicit share wins over the one around the caller", async () => {
    const { clock, client, sent } = scripted(1);
    const all = [get(client, "/api/v2/things/first")];
    await clock.flush();
    await withRequestShare(addition("A"), async () => {
      all.push(get(client, "/api/v2/things/a1"), get(client, "/api/v2/things/a2"));
      all.push(get(client, "/api/v2/things/optout", removal("C")));
    });
    await clock.run(Promise.all(all));
    expect(sent()).to.deep.equal(["first", "optout", "a1", "a2"]);
    expect(
      await client.metrics.registry.getSingleMetricAsString("genesys_pacer_wait_seconds_total"),
    ).to.match(/priority="removal"\} 1$/m);
    await client.close();
  });

  it("with a pool of two tokens, two removals behind a route's queue on both go out in the next window, one on each token, and B soon after", async () => {
    const { clock, genesys, client, sent } = scripted(2);
    client.start();
    await clock.run(client.whenReady());
    const all: Array<Promise<unknown>> = [];
    await withRequestShare(addition("A"), async () => {
      for (let index = 0; index < 8; index += 1) all.push(get(client, `/api/v2/things/a${index}`));
    });
    await clock.flush();
    expect(sent()).to.have.length(2);
    await withRequestShare(removal("C"), async () => {
      all.push(get(client, "/api/v2/things/r1"), get(client, "/api/v2/things/r2"));
    });
    await withRequestShare(addition("B"), async () => {
      all.push(get(client, "/api/v2/things/b1"));
    });
    await clock.advance(1_000);
    expect(sent().slice(2)).to.have.members(["r1", "r2"]);
    const tokens = genesys
      .apiRequests()
      .slice(2)
      .map((request) => request.headers["authorization"]);
    expect(new Set(tokens).size, "one removal on each token").to.equal(2);
    // B joined its slot's turns after A: one of A's, then B's (the second grant on that token).
    await clock.advance(2_000);
    expect(sent().slice(4, 8), "B's turn comes within the two windows after").to.include("b1");
    await clock.run(Promise.all(all));
    expect(sent()).to.have.length(11);
    await client.close();
  });
});

describe("a removal tagged with withRequestShare against the simulator (loopback HTTP, real clock)", function () {
  this.timeout(30_000);

  it("is sent next, ahead of additions queued before it", async () => {
    const sim = await startSimulator({ rateLimit: { requestsPerWindow: 1_000, windowMs: 60_000 } });
    const client = new GenesysClient({
      endpoints: resolveEndpoints({ apiBaseUrl: sim.apiBaseUrl, loginBaseUrl: sim.loginBaseUrl }),
      clientId: sim.clients[0]!.clientId,
      clientSecret: sim.clients[0]!.clientSecret,
      logger: createLogger({ level: "silent" }),
      // One request per 250 ms: loopback answers well within a window, so completions come in grant order.
      rateLimit: { requestsPerWindow: 1, windowMs: 250, safetyMarginMs: 0 },
    });
    try {
      client.start();
      await client.whenReady();
      const listId = sim.contactListIds[0]!;
      const done: string[] = [];
      const add = (index: number) =>
        addContacts(client, listId, [
          { id: `c-${index}`, contactListId: listId, data: { phone: `+35385000${index}` } },
        ]).then(() => done.push(`add ${index}`));
      const adds = withRequestShare(addition("campaign-a"), () =>
        Promise.all([0, 1, 2, 3, 4].map((index) => add(index))),
      );
      await new Promise((resolve) => setTimeout(resolve, 20));
      const removed = withRequestShare(removal("optouts"), () =>
        removeContacts(client, listId, ["c-0"]),
      ).then(() => done.push("remove"));
      await Promise.all([adds, removed]);
      expect(done.slice(0, 2)).to.deep.equal(["add 0", "remove"]);
      expect(done).to.have.length(6);
      expect(sim.contacts(listId).has("c-0")).to.equal(false);
      expect(sim.contacts(listId).size).to.equal(4);
    } finally {
      await client.close();
      await sim.close();
    }
  });
});
