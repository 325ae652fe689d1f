import { orgLimitProblem, podBudget, type PodBudget } from "../../app/src/shared/rate-budget";
import { HPA_CPU_TARGET_PERCENT } from "../../app/src/shared/setting-rules";
import { chartPathOf, chartValueAt } from "../../app/src/shared/settings";
import { configuredValues, defineRule, sameNamespace, type PolicyInput, type Violation } from "../lib";

interface Config {
  minCpuPercent: number;
  maxCpuPercent: number;
  minReplicas: number;
  /**
   * The organisation's limit across all tokens, requests a minute: the stack's
   * `orgRequestsPerMinute`, which policies/config/<stack>.json carries; unset: Genesys' per-token
   * limit only.
   */
  orgRequestsPerMinute?: number;
}

/**
 * The pods' budget (shared/rate-budget.ts): ConfigMap data and container env in the HPA's
 * namespace first, then the first chart's values, then the service's defaults.
 */
function hpaPodBudget(input: PolicyInput, hpa: PolicyInput["objects"][number]): PodBudget {
  const chartValues = input.charts.find(() => true)?.values ?? {};
  const configured = new Map(
    configuredValues(input.objects.filter((object) => sameNamespace(object, hpa))).map(
      ({ name, value }) => [name, value] as const,
    ),
  );
  return podBudget((setting) => configured.get(setting) ?? chartValueAt(chartValues, chartPathOf(setting)));
}

export default defineRule<Config>({
  name: "hpa-sane",
  description:
    "Checks that HPAs are autoscaling/v2 with a CPU target in range, enough replicas, and a maximum whose rate budget (per token × pool size × replicas) stays within the organisation's limit when one is given.",
  configSchema: {
    properties: {
      minCpuPercent: { type: "integer", default: HPA_CPU_TARGET_PERCENT.min },
      maxCpuPercent: { type: "integer", default: HPA_CPU_TARGET_PERCENT.max },
      minReplicas: { type: "integer", default: 2 },
      orgRequestsPerMinute: { type: "integer", minimum: 1 },
    },
  },
  defaults: {
    minCpuPercent: HPA_CPU_TARGET_PERCENT.min,
    maxCpuPercent: HPA_CPU_TARGET_PERCENT.max,
    minReplicas: 2,
  },
  check(input, config) {
    const violations: Violation[] = [];
    for (const object of input.objects.filter((candidate) => candidate.kind === "HorizontalPodAutoscaler")) {
      if (object.apiVersion !== "autoscaling/v2") {
        violations.push({
          object,
          message: `Uses ${object.apiVersion}; autoscaling/v2beta1 and v2beta2 were removed (Kubernetes 1.25/1.26). Use autoscaling/v2.`,
        });
      }
      const spec = object.spec ?? {};
      const cpu =
        (spec.metrics ?? []).find((metric: any) => metric.resource?.name === "cpu")?.resource?.target
          ?.averageUtilization ?? spec.targetCPUUtilizationPercentage;
      if (typeof cpu === "number" && (cpu < config.minCpuPercent || cpu > config.maxCpuPercent)) {
        violations.push({
          object,
          message: `CPU target ${cpu} % is outside ${config.minCpuPercent}-${config.maxCpuPercent} %. The guide's trap: 20-30 % scales on every blip, which costs money and churns pods (each new pod fetches its own tokens). Use about 70 %.`,
        });
      }
      if ((spec.minReplicas ?? 1) < config.minReplicas) {
        violations.push({
          object,
          message: `minReplicas is ${spec.minReplicas ?? 1}; keep at least ${config.minReplicas} so a node drain or a restart does not stop the sync.`,
        });
      }
      if (config.orgRequestsPerMinute === undefined) continue;
      const message = orgLimitProblem({
        ...hpaPodBudget(input, object),
        replicas: spec.maxReplicas ?? 0,
        orgLimitPerMinute: config.orgRequestsPerMinute,
      });
      if (message) violations.push({ object, message });
    }
    return violations;
  },
});
