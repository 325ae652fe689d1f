import { readFileSync } from "node:fs";
import path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";

export const CHART_PATH = path.resolve(__dirname, "../app/chart");
/** The chart version this program was tested with; plan() refuses a different app/chart/Chart.yaml. */
export const PINNED_CHART_VERSION = "0.1.0";

export function localChartVersion(chartPath = CHART_PATH): string {
  return String(
    (parse(readFileSync(path.join(chartPath, "Chart.yaml"), "utf8")) as { version: unknown }).version,
  );
}

export interface SyncReleaseArgs {
  readonly namespace: pulumi.Input<string>;
  /** Release name (the chart's fullnameOverride too). */
  readonly releaseName: string;
  /** Values from `chartValues`, valid under the chart's schema (plan() checks); never a secret. */
  readonly values: Record<string, unknown>;
}

/**
 * The sync service, deployed from app/chart with helm.v4.Chart: every rendered object becomes a
 * Pulumi resource, so the policy pack sees them on preview.
 */
export class SyncRelease extends pulumi.ComponentResource {
  public readonly chart: k8s.helm.v4.Chart;

  constructor(name: string, args: SyncReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("genesys:middleware:SyncRelease", name, args, opts);
    this.chart = new k8s.helm.v4.Chart(
      `${name}-chart`,
      {
        chart: CHART_PATH,
        name: args.releaseName,
        namespace: args.namespace,
        values: args.values,
        skipCrds: true,
      },
      { parent: this },
    );
    this.registerOutputs({ chart: this.chart });
  }
}
