import { defineRule, type Violation } from "../lib";

interface Config {
  minCpuPercent: number;
  maxCpuPercent: number;
  minReplicas: number;
  perPodRequestsPerMinute: number;
  genesysBudgetPerMinute: number;
}

export default defineRule<Config>({
  name: "hpa-sane",
  description:
    "Checks that HPAs are autoscaling/v2 with a CPU target in range, enough replicas, and a maximum that cannot outrun the Genesys rate budget.",
  configSchema: {
    properties: {
      minCpuPercent: { type: "integer", default: 50 },
      maxCpuPercent: { type: "integer", default: 90 },
      minReplicas: { type: "integer", default: 2 },
      perPodRequestsPerMinute: { type: "integer", default: 300 },
      genesysBudgetPerMinute: { type: "integer", default: 3000 },
    },
  },
  defaults: {
    minCpuPercent: 50,
    maxCpuPercent: 90,
    minReplicas: 2,
    perPodRequestsPerMinute: 300,
    genesysBudgetPerMinute: 3000,
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
          message: `CPU target ${cpu} % is outside ${config.minCpuPercent}-${config.maxCpuPercent} %. The guide's trap: 20-30 % scales on every blip, which costs money and, since Genesys limits count per OAuth client, buys no extra budget. Use about 70 %.`,
        });
      }
      if ((spec.minReplicas ?? 1) < config.minReplicas) {
        violations.push({
          object,
          message: `minReplicas is ${spec.minReplicas ?? 1}; keep at least ${config.minReplicas} so a node drain or a restart does not stop the sync.`,
        });
      }
      const max = spec.maxReplicas ?? 0;
      if (max * config.perPodRequestsPerMinute > config.genesysBudgetPerMinute) {
        violations.push({
          object,
          message: `maxReplicas ${max} × ${config.perPodRequestsPerMinute} requests/min per pod exceeds the Genesys budget of ${config.genesysBudgetPerMinute}/min: scaling out would only draw 429s. Lower maxReplicas to ${Math.floor(config.genesysBudgetPerMinute / config.perPodRequestsPerMinute)} or raise the budget in the policy config.`,
        });
      }
    }
    return violations;
  },
});
