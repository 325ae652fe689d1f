import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CHART_PATH } from "../stacks/chart";

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
