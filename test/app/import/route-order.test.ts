import { expect } from "chai";
import { loadConfig } from "../../../app/src/config";
import { buildService, type Service } from "../../../app/src/service";
import { generateCsv } from "../../support/contacts";
import { capturedLogger } from "../../support/capture";
import { listFolder, serviceEnv, startHarness, waitFor } from "../../support/harness";

/**
 * Two replicas on one data dir: the order of a route's files holds across them. A removal dropped
 * while another replica imports the file that adds those contacts waits for it, so the contacts
 * end removed; without the check the second replica ran the removal first and they stayed.
 */
describe("file order across replicas (two services on one data dir, simulator)", function () {
  this.timeout(120_000);
  let h: Awaited<ReturnType<typeof startHarness>> | undefined;
  let second: Service | undefined;
  afterEach(async () => {
    await second?.shutdown();
    await h?.close();
  });

  it("a removal waits for the older import another replica holds, then removes what it added", async () => {
    // Paced so the import takes seconds: 20 batches of 1,000 at 5 a second.
    const slow = { GENESYS_RATE_LIMIT_PER_WINDOW: "5", GENESYS_RATE_LIMIT_WINDOW_MS: "1000" };
    h = await startHarness({ env: slow });
    const file = generateCsv(20_000);
    h.drop("big.csv", file.content);
    await waitFor(() => h!.sim.contacts().size >= 1_000, "the first replica to be importing");
    second = await buildService(loadConfig(serviceEnv(h.sim, h.dataDir, slow)), {
      logger: capturedLogger("info").logger,
      replicaId: "second-replica-1-0000abcd",
    });
    await second.start();
    const last = file.goodIds.slice(-10);
    h.drop("remove/opt-outs.txt", `${last.join("\n")}\n`);
    await waitFor(
      () => listFolder(h!.dataDir, "archive").some((name) => name.endsWith("opt-outs.txt")),
      "the removal to be done",
      90_000,
    );
    expect(
      listFolder(h.dataDir, "archive").some((name) => name.endsWith("big.csv")),
      "the import ended first",
    ).to.equal(true);
    expect(last.filter((id) => h!.sim.contacts().has(id))).to.deep.equal([]);
    expect(h.sim.contacts().size).to.equal(file.goodIds.length - last.length);
  });
});
