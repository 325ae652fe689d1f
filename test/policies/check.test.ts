import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { stringify } from "yaml";
import { runCheck } from "../../policies/check";
import { compliant, get } from "./fixtures";

const ROOT = path.resolve(__dirname, "../..");

function manifests(change?: (fixture: ReturnType<typeof compliant>) => void): string {
  const fixture = compliant();
  change?.(fixture);
  return fixture.objects.map((object) => stringify(object)).join("---\n");
}

describe("npm run policy:check", function () {
  this.timeout(30_000);
  const dir = mkdtempSync(path.join(tmpdir(), "policy-check-"));

  it("exits 0 on compliant manifests and says so", () => {
    const result = runCheck(["-"], () => manifests());
    expect(result.exitCode).to.equal(0);
    expect(result.stdout).to.contain("8 objects checked: no violations");
  });

  it("exits 1 on a mandatory violation and groups the report by object", () => {
    const result = runCheck(["--stack", "prod", "-"], () =>
      manifests(
        (f) => (get(f, "HorizontalPodAutoscaler").spec.metrics[0].resource.target.averageUtilization = 20),
      ),
    );
    expect(result.exitCode).to.equal(1);
    expect(result.stdout).to.contain(
      "HorizontalPodAutoscaler genesys-sync/genesys-sync\n  [mandatory] hpa-sane: CPU target 20 %",
    );
  });

  it("exits 0 when the same violation is only advisory (the dev config)", () => {
    const result = runCheck(["--stack", "dev", "-"], () =>
      manifests(
        (f) => (get(f, "HorizontalPodAutoscaler").spec.metrics[0].resource.target.averageUtilization = 20),
      ),
    );
    expect(result.exitCode).to.equal(0);
    expect(result.stdout).to.contain("[advisory] hpa-sane");
  });

  it("prints one JSON object with the documented shape", () => {
    const result = runCheck(["--json", "--stack", "prod", "-"], () =>
      manifests((f) => (get(f, "ConfigMap").data.GENESYS_REGION = "mars-1")),
    );
    const parsed = JSON.parse(result.stdout);
    expect(Object.keys(parsed)).to.deep.equal(["violations"]);
    expect(parsed.violations).to.have.length(1);
    expect(parsed.violations[0]).to.have.keys([
      "policy",
      "enforcementLevel",
      "kind",
      "name",
      "namespace",
      "message",
    ]);
    expect(parsed.violations[0]).to.include({
      policy: "genesys-endpoint",
      enforcementLevel: "mandatory",
      kind: "ConfigMap",
      name: "genesys-sync",
      namespace: "genesys-sync",
    });
  });

  it("reads a directory of YAML and JSON files, including kind: List", () => {
    const sub = mkdtempSync(path.join(dir, "manifests-"));
    writeFileSync(path.join(sub, "a.yaml"), manifests());
    writeFileSync(
      path.join(sub, "b.json"),
      JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          {
            apiVersion: "extensions/v1beta1",
            kind: "Ingress",
            metadata: { name: "old" },
            spec: { tls: [{ hosts: ["x"] }], rules: [] },
          },
        ],
      }),
    );
    const result = runCheck(["--config", path.join(ROOT, "policies/config/prod.json"), sub]);
    expect(result.exitCode).to.equal(1);
    expect(result.stdout).to.contain("Ingress old\n  [mandatory] deprecated-api");
  });

  it("exits 2 on unreadable input, naming the file and line", () => {
    const bad = path.join(dir, "broken.yaml");
    writeFileSync(bad, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: [unclosed\n");
    const result = runCheck([bad]);
    expect(result.exitCode).to.equal(2);
    expect(result.stderr).to.match(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+:\\d+: `));
    expect(runCheck([path.join(dir, "missing.yaml")]).exitCode).to.equal(2);
    expect(runCheck([]).stderr).to.contain("usage: npm run policy:check");
  });

  it("works as a command on stdin, as `helm template ... | npm run policy:check -- -` uses it", async () => {
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          "-r",
          "ts-node/register/transpile-only",
          path.join(ROOT, "policies/check.ts"),
          "--stack",
          "prod",
          "-",
        ],
        { cwd: ROOT },
      );
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
      child.once("exit", (status) => resolve({ code: status, stdout: out }));
      child.stdin.end(
        manifests((f) => (get(f, "NetworkPolicy").spec.egress[0].to[0].ipBlock.cidr = "0.0.0.0/0")),
      );
    });
    expect(code).to.equal(1);
    expect(stdout).to.contain("egress-restricted");
  });
});
