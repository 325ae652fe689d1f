import { defineRule, type Violation } from "../lib";

/** apiVersion (and kind, where only some kinds moved) → the Kubernetes minor version that removed it (facts file). */
export const REMOVED_APIS: ReadonlyArray<{
  apiVersion: string;
  kind?: string;
  removedIn: string;
  replacement: string;
}> = [
  {
    apiVersion: "networking.k8s.io/v1beta1",
    kind: "Ingress",
    removedIn: "1.22",
    replacement: "networking.k8s.io/v1",
  },
  {
    apiVersion: "extensions/v1beta1",
    kind: "Ingress",
    removedIn: "1.22",
    replacement: "networking.k8s.io/v1",
  },
  { apiVersion: "batch/v1beta1", kind: "CronJob", removedIn: "1.25", replacement: "batch/v1" },
  { apiVersion: "policy/v1beta1", kind: "PodDisruptionBudget", removedIn: "1.25", replacement: "policy/v1" },
  {
    apiVersion: "policy/v1beta1",
    kind: "PodSecurityPolicy",
    removedIn: "1.25",
    replacement: "Pod Security Admission (namespace labels)",
  },
  { apiVersion: "autoscaling/v2beta1", removedIn: "1.25", replacement: "autoscaling/v2" },
  { apiVersion: "autoscaling/v2beta2", removedIn: "1.26", replacement: "autoscaling/v2" },
  {
    apiVersion: "storage.k8s.io/v1beta1",
    kind: "CSIStorageCapacity",
    removedIn: "1.27",
    replacement: "storage.k8s.io/v1",
  },
  {
    apiVersion: "flowcontrol.apiserver.k8s.io/v1beta2",
    removedIn: "1.29",
    replacement: "flowcontrol.apiserver.k8s.io/v1",
  },
  {
    apiVersion: "flowcontrol.apiserver.k8s.io/v1beta3",
    removedIn: "1.32",
    replacement: "flowcontrol.apiserver.k8s.io/v1",
  },
];

function minor(version: string): number {
  const match = /^v?1\.(\d+)/.exec(version);
  return match ? Number(match[1]) : Number.NaN;
}

export default defineRule<{ targetKubernetesVersion: string }>({
  name: "deprecated-api",
  description: "Checks that no object uses an apiVersion removed at or before the target Kubernetes version.",
  configSchema: { properties: { targetKubernetesVersion: { type: "string", default: "1.31" } } },
  defaults: { targetKubernetesVersion: "1.31" },
  check(input, config) {
    const target = minor(config.targetKubernetesVersion);
    const violations: Violation[] = [];
    for (const object of input.objects) {
      const removed = REMOVED_APIS.find(
        (entry) =>
          entry.apiVersion === object.apiVersion && (entry.kind === undefined || entry.kind === object.kind),
      );
      if (removed && minor(removed.removedIn) <= target) {
        violations.push({
          object,
          message: `${object.apiVersion} ${object.kind} was removed in Kubernetes ${removed.removedIn}; the target is ${config.targetKubernetesVersion}, so this object will not apply after the upgrade (the guide's version-drift edge case). Use ${removed.replacement}.`,
        });
      }
    }
    return violations;
  },
});
