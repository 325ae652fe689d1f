import { containersOf, defineRule, podSpecs, type Violation } from "../lib";

interface Config {
  uid: number;
  gid: number;
  fsGroup: number;
}

export default defineRule<Config>({
  name: "pod-security",
  description:
    "Checks that pods run non-root as the configured uid:gid with fsGroup, read-only root filesystem, no privilege escalation, ALL capabilities dropped, no host namespaces or hostPath.",
  configSchema: {
    properties: {
      uid: { type: "integer", default: 500 },
      gid: { type: "integer", default: 500 },
      fsGroup: { type: "integer", default: 500 },
    },
  },
  defaults: { uid: 500, gid: 500, fsGroup: 500 },
  check(input, config) {
    const violations: Violation[] = [];
    for (const { object, spec } of podSpecs(input.objects)) {
      const pod = spec.securityContext ?? {};
      const problems: string[] = [];
      for (const host of ["hostNetwork", "hostPID", "hostIPC"])
        if (spec[host] === true) problems.push(`${host} is on`);
      for (const volume of spec.volumes ?? [])
        if (volume.hostPath) problems.push(`volume ${volume.name} is a hostPath`);
      if (pod.fsGroup !== config.fsGroup)
        problems.push(`fsGroup is ${pod.fsGroup ?? "unset"}, not ${config.fsGroup}`);
      for (const container of containersOf(spec)) {
        const own = container.securityContext ?? {};
        const effective = { ...pod, ...own };
        const name = `container ${container.name}`;
        if (effective.runAsNonRoot !== true) problems.push(`${name} does not set runAsNonRoot`);
        if (effective.runAsUser !== config.uid)
          problems.push(`${name} runs as uid ${effective.runAsUser ?? "(image default)"}, not ${config.uid}`);
        if (effective.runAsGroup !== config.gid)
          problems.push(
            `${name} runs as gid ${effective.runAsGroup ?? "(image default)"}, not ${config.gid}`,
          );
        if (own.readOnlyRootFilesystem !== true) problems.push(`${name} has a writable root filesystem`);
        if (own.allowPrivilegeEscalation !== false) problems.push(`${name} allows privilege escalation`);
        if (own.privileged === true) problems.push(`${name} is privileged`);
        if (!(own.capabilities?.drop ?? []).includes("ALL"))
          problems.push(`${name} does not drop ALL capabilities`);
      }
      if (problems.length > 0) {
        violations.push({
          object,
          message: `${problems.join("; ")}. The shared CX Contact volume is written as uid:gid ${config.uid}:${config.gid}, and the restricted Pod Security Standard needs the rest: set them in podSecurityContext and containerSecurityContext.`,
        });
      }
    }
    return violations;
  },
});
