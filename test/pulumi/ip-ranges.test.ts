import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { IP_RANGES_FILE } from "../../scripts/ip-ranges";
import { shippedGenesysRanges } from "../../stacks/egress-destinations";
import { startSimulator } from "../../simulator/simulator";

const ROOT = path.resolve(__dirname, "../..");

describe("npm run ipranges:refresh (against the simulator)", function () {
  this.timeout(60_000);

  it("writes the region's ranges from GET /api/v2/ipranges into the dataset the egress policy reads", async () => {
    const sim = await startSimulator();
    const file = path.join(mkdtempSync(path.join(tmpdir(), "ipranges-")), "genesys-ip-ranges.json");
    copyFileSync(IP_RANGES_FILE, file);
    try {
      // spawn, not spawnSync: the simulator answering the child runs in this process.
      const result = await new Promise<{ status: number | null; output: string }>((resolve) => {
        const child = spawn(
          process.execPath,
          ["-r", "ts-node/register/transpile-only", path.join(ROOT, "scripts/refresh-ip-ranges.ts")],
          {
            cwd: ROOT,
            env: {
              PATH: process.env.PATH ?? "",
              GENESYS_REGION: "eu-west-1",
              GENESYS_API_BASE_URL: sim.apiBaseUrl,
              GENESYS_LOGIN_BASE_URL: sim.loginBaseUrl,
              GENESYS_CLIENT_ID: sim.clients[0]!.clientId,
              GENESYS_CLIENT_SECRET: sim.clients[0]!.clientSecret,
              IPRANGES_FILE: file,
            },
          },
        );
        let output = "";
        child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
        child.once("exit", (status) => resolve({ status, output }));
      });
      expect(result.status, result.output).to.equal(0);
      const dataset = JSON.parse(readFileSync(file, "utf8"));
      expect(dataset.regions["eu-west-1"]).to.deep.equal([
        "192.0.2.0/24",
        "198.51.100.0/25",
        "2001:db8:10::/48",
      ]);
      expect(dataset.fetchedAt).to.match(/^\d{4}-\d\d-\d\dT/);
      expect(shippedGenesysRanges("eu-west-1", dataset)).to.deep.equal(dataset.regions["eu-west-1"]);
      expect(result.output).not.to.contain(sim.clients[0]!.clientSecret);
    } finally {
      await sim.close();
    }
  });

  it("lists what is missing instead of starting without credentials", () => {
    const run = spawnSync(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", path.join(ROOT, "scripts/refresh-ip-ranges.ts")],
      {
        cwd: ROOT,
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "" },
      },
    );
    expect(run.status).to.equal(1);
    expect(run.stderr).to.contain("set GENESYS_REGION");
    expect(run.stderr).to.contain("set GENESYS_CLIENT_ID");
  });
});
