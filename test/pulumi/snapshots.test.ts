import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { egressPolicySpec } from "../../components/egress";
import { GenesysMiddlewareStack } from "../../components/stack";
import { DEV_PLATFORM, type PlatformInfo } from "../../stacks/platform";
import { plan } from "../../stacks/plan";
import { PROJECT, readStackSettings, type Environment } from "../../stacks/settings";
import { installMocks, recorded, settled, stackConfig } from "../support/pulumi-mocks";

// Under Pulumi's mocks, like test/pulumi/stack.test.ts: no engine, provider, cluster or Vault here.
installMocks();

/* eslint-disable @typescript-eslint/no-explicit-any -- policy specs are checked field by field */

const CALICO: PlatformInfo = { kubeconfig: undefined, ...DEV_PLATFORM };
const CILIUM: PlatformInfo = { ...CALICO, cni: "cilium" };
const CREDENTIALS = { vaultJwt: pulumi.secret("ci-oidc-token") };
const DOWNLOAD_CIDR = "52.95.150.0/24";
const TO_DOWNLOADS = JSON.stringify({
  to: [{ ipBlock: { cidr: DOWNLOAD_CIDR } }],
  ports: [{ protocol: "TCP", port: 443 }],
});

/** The committed stack's config, its values' export section and its egress (and other keys) changed. */
function configWith(
  environment: Environment,
  exportValues: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Record<string, string> {
  const config = stackConfig(environment);
  const values = JSON.parse(config[`${PROJECT}:values`]!) as Record<string, unknown>;
  values.export = { ...(values.export as object | undefined), ...exportValues };
  config[`${PROJECT}:values`] = JSON.stringify(values);
  for (const [key, value] of Object.entries(extra)) {
    const current = config[`${PROJECT}:${key}`];
    const merged = current && typeof value === "object" ? { ...JSON.parse(current), ...value } : value;
    config[`${PROJECT}:${key}`] = typeof merged === "string" ? merged : JSON.stringify(merged);
  }
  return config;
}

const settingsOf = (environment: Environment, exportValues: Record<string, unknown>, extra = {}) =>
  readStackSettings(configWith(environment, exportValues, extra), new Set(), environment);

function planned(
  environment: Environment,
  exportValues: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  platform: PlatformInfo = CALICO,
) {
  return plan(settingsOf(environment, exportValues, extra), platform, CREDENTIALS);
}

const egressRules = (deployment: ReturnType<typeof planned>) =>
  (egressPolicySpec(deployment.egress) as any).egress.map((rule: any) => JSON.stringify(rule));

const WITH_DOWNLOAD_CIDRS = { egress: { downloadCidrs: [DOWNLOAD_CIDR] } };

describe("contact-list snapshots in the stack (stacks/settings.ts, stacks/plan.ts)", function () {
  this.timeout(60_000);

  it("reads the schedule from the values: off by default, an interval, or a daily UTC time; and the hosts downloads come from", () => {
    expect(readStackSettings(stackConfig("dev"), new Set(), "dev").listSnapshots).to.deep.equal({
      schedule: { kind: "off" },
      keep: 7,
      readyTimeoutSeconds: 1800,
      downloadHosts: ["api-downloads.mypurecloud.ie"],
    });
    expect(
      settingsOf("dev", { listSnapshotIntervalSeconds: 21_600, listSnapshotKeep: 3 }).listSnapshots,
    ).to.deep.include({
      schedule: { kind: "interval", seconds: 21_600 },
      keep: 3,
    });
    const daily = settingsOf("prod", {
      listSnapshotDailyAt: "02:30",
      listSnapshotDownloadHosts: ["exports.s3.eu-west-1.amazonaws.com"],
    }).listSnapshots;
    expect(daily.schedule).to.deep.equal({ kind: "daily", atUtc: "02:30" });
    expect(daily.downloadHosts).to.deep.equal([
      "api-downloads.mypurecloud.ie",
      "exports.s3.eu-west-1.amazonaws.com",
    ]);
  });

  it("refuses two schedules at once, a keep below 1 and a malformed daily time, in the chart's words, before anything exists", () => {
    const start = recorded.length;
    let problems: string[] = [];
    try {
      const deployment = planned("dev", {
        listSnapshotIntervalSeconds: 3600,
        listSnapshotDailyAt: "02:30",
        listSnapshotKeep: 0,
      });
      new GenesysMiddlewareStack("refused-snapshots", { plan: deployment });
    } catch (error) {
      expect(pulumi.InputPropertiesError.isInstance(error), String(error)).to.equal(true);
      problems = (error as pulumi.InputPropertiesError).errors.map((e) => `${e.propertyPath}: ${e.reason}`);
    }
    expect(recorded.length, "no resource exists").to.equal(start);
    expect(problems).to.include(
      `${PROJECT}:values.export.listSnapshotDailyAt: must be unset while export.listSnapshotIntervalSeconds is above 0: contact-list snapshots run on one schedule, every interval or once a day, not both`,
    );
    expect(
      problems.some((problem) => problem.startsWith(`${PROJECT}:values.export.listSnapshotKeep: `)),
    ).to.equal(true);
    expect(() => settingsOf("dev", { listSnapshotDailyAt: "2:30" })).to.throw(/listSnapshotDailyAt/);
  });

  it("alerts when a route's newest snapshot is older than its schedule allows: the PrometheusRule follows the values", async () => {
    const start = recorded.length;
    new GenesysMiddlewareStack("snapshots-alerts", {
      plan: planned(
        "dev",
        { listSnapshotIntervalSeconds: 21_600, listSnapshotReadyTimeoutSeconds: 900 },
        WITH_DOWNLOAD_CIDRS,
      ),
    });
    await settled();
    const rule = recorded
      .slice(start)
      .find((resource) => resource.type.endsWith(":PrometheusRule"))!
      .inputs.spec.groups[0].rules.find((rule: any) => rule.alert === "ExportListSnapshotStale");
    expect(rule.expr).to.match(
      /export_list_snapshot_last_success_timestamp_seconds\{namespace="[^"]+"\}\) > 44100$/,
    );
  });

  it("opens no download egress while snapshots are off, and says so when egress.downloadCidrs is set", () => {
    const off = planned("dev", {}, WITH_DOWNLOAD_CIDRS, CILIUM);
    expect(off.egress.downloadCidrs).to.deep.equal([]);
    expect(egressRules(off)).to.not.include(TO_DOWNLOADS);
    expect(off.ciliumHosts).to.not.include("api-downloads.mypurecloud.ie");
    expect(off.warnings.join("\n")).to.contain(
      "egress.downloadCidrs allows nothing while contact-list snapshots are off",
    );
  });

  it("with snapshots on: HTTPS 443 to egress.downloadCidrs, and on Cilium an FQDN rule for api-downloads.<domain> and the extra hosts", () => {
    const on = planned("dev", { listSnapshotIntervalSeconds: 3600 }, WITH_DOWNLOAD_CIDRS);
    expect(egressRules(on)).to.include(TO_DOWNLOADS);
    expect(on.warnings.join("\n")).to.not.contain("download");

    const cilium = planned(
      "prod",
      { listSnapshotDailyAt: "02:30", listSnapshotDownloadHosts: ["exports.s3.eu-west-1.amazonaws.com"] },
      {},
      CILIUM,
    );
    expect(cilium.ciliumHosts).to.include.members([
      "api.mypurecloud.ie",
      "api-downloads.mypurecloud.ie",
      "exports.s3.eu-west-1.amazonaws.com",
    ]);
    expect(cilium.egress.downloadCidrs, "nothing to allow by address").to.deep.equal([]);
  });

  it("behind a proxy the downloads go through it and need no rule; a download host in network.noProxy goes direct and needs one", () => {
    const network = (noProxy: string[]) => ({
      network: { httpsProxy: "http://10.96.50.7:3128", noProxy },
      ...WITH_DOWNLOAD_CIDRS,
    });
    const proxied = planned("dev", { listSnapshotIntervalSeconds: 3600 }, network([".svc"]));
    expect(egressRules(proxied)).to.not.include(TO_DOWNLOADS);
    const direct = planned(
      "dev",
      { listSnapshotIntervalSeconds: 3600 },
      network([".svc", ".mypurecloud.ie"]),
    );
    expect(egressRules(direct)).to.include(TO_DOWNLOADS);
    const missing = planned(
      "dev",
      { listSnapshotIntervalSeconds: 3600 },
      {
        network: { httpsProxy: "http://10.96.50.7:3128", noProxy: ["api-downloads.mypurecloud.ie"] },
      },
    );
    expect(missing.warnings.join("\n")).to.contain(
      "download from api-downloads.mypurecloud.ie directly (network.noProxy), which no egress rule allows",
    );
  });

  it("refuses in prod snapshots that nothing lets out (no downloadCidrs, no proxy, no Cilium); dev deploys with a warning", () => {
    expect(() => planned("prod", { listSnapshotIntervalSeconds: 3600 })).to.throw(
      /egress\.downloadCidrs: contact-list snapshots are on .* download from api-downloads\.mypurecloud\.ie, which no egress rule allows/s,
    );
    const dev = planned("dev", { listSnapshotIntervalSeconds: 3600 });
    expect(dev.warnings.join("\n")).to.contain("list where it answers in egress.downloadCidrs (HTTPS 443)");
    expect(() => planned("prod", { listSnapshotIntervalSeconds: 3600 }, WITH_DOWNLOAD_CIDRS)).to.not.throw();
    expect(() => planned("prod", { listSnapshotIntervalSeconds: 3600 }, {}, CILIUM)).to.not.throw();
  });

  it("refuses 0.0.0.0/0 and non-CIDRs as download destinations", () => {
    expect(() =>
      settingsOf("dev", {}, { egress: { downloadCidrs: ["0.0.0.0/0", "api-downloads.mypurecloud.ie"] } }),
    ).to.throw(
      /egress\.downloadCidrs: 0\.0\.0\.0\/0 opens egress to the whole internet.*egress\.downloadCidrs: "api-downloads\.mypurecloud\.ie" is not a CIDR/s,
    );
  });
});
