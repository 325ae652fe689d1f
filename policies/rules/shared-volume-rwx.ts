import { defineRule, podSpecs, sameNamespace, type Violation } from "../lib";

export default defineRule<{ mountPath: string }>({
  name: "shared-volume-rwx",
  description: "Checks that the claim mounted as the shared data volume is ReadWriteMany.",
  configSchema: { properties: { mountPath: { type: "string", default: "/data" } } },
  defaults: { mountPath: "/data" },
  check(input, config) {
    const violations: Violation[] = [];
    for (const { object, spec } of podSpecs(input.objects)) {
      const mounted = new Set<string>();
      for (const container of spec.containers ?? []) {
        for (const mount of container.volumeMounts ?? [])
          if (mount.mountPath === config.mountPath) mounted.add(mount.name);
      }
      for (const volume of spec.volumes ?? []) {
        if (!mounted.has(volume.name)) continue;
        if (!volume.persistentVolumeClaim) {
          violations.push({
            object,
            message: `The shared data volume ${volume.name} at ${config.mountPath} is not a PersistentVolumeClaim: replicas and on-premises writers would not share files. Mount the ReadWriteMany claim.`,
          });
          continue;
        }
        const claim = input.objects.find(
          (candidate) =>
            candidate.kind === "PersistentVolumeClaim" &&
            candidate.metadata?.name === volume.persistentVolumeClaim.claimName &&
            sameNamespace(candidate, object),
        );
        // A claim created elsewhere cannot be checked here; the one in the stack must be RWX.
        if (claim && !(claim.spec?.accessModes ?? []).includes("ReadWriteMany")) {
          violations.push({
            object: claim,
            message: `Claim ${claim.metadata?.name} is mounted as the shared data volume but is ${(claim.spec?.accessModes ?? []).join(", ") || "without access modes"}: the CX Contact pattern needs ReadWriteMany so every replica and the on-premises writers see the same files.`,
          });
        }
      }
    }
    return violations;
  },
});
