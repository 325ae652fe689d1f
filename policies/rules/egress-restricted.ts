import { defineRule, type Violation } from "../lib";

const OPEN = new Set(["0.0.0.0/0", "::/0"]);

export default defineRule<Record<string, never>>({
  name: "egress-restricted",
  description:
    "Checks that NetworkPolicy egress never opens 0.0.0.0/0 or ::/0, every egress rule has to and ports, and no egress rule carries from.",
  configSchema: { properties: {} },
  defaults: {},
  check(input) {
    const violations: Violation[] = [];
    for (const object of input.objects.filter((candidate) => candidate.kind === "NetworkPolicy")) {
      for (const [index, rule] of ((object.spec?.egress ?? []) as any[]).entries()) {
        const where = `egress rule ${index}`;
        if ("from" in rule) {
          violations.push({
            object,
            message: `${where} has a "from" field, which egress rules do not have (the guide's YAML has this mistake; the API server drops or rejects it). Move peers to "to".`,
          });
        }
        if (!Array.isArray(rule.to) || rule.to.length === 0) {
          violations.push({
            object,
            message: `${where} has no "to": it allows every destination. List the destinations (Genesys Cloud ranges, NFS server, cluster DNS).`,
          });
        }
        if (!Array.isArray(rule.ports) || rule.ports.length === 0) {
          violations.push({
            object,
            message: `${where} has no "ports": it allows every port. Name the ports (443 for Genesys Cloud, 2049 for NFS, 53 for DNS).`,
          });
        }
        for (const peer of rule.to ?? []) {
          const cidr = peer.ipBlock?.cidr;
          if (OPEN.has(cidr)) {
            violations.push({
              object,
              message: `${where} allows ${cidr}: the whole internet, an exfiltration path the guide warns about. Allow the Genesys Cloud ranges of the region instead (npm run ipranges:refresh), or, behind a forward proxy, only the proxy's addresses on its port.`,
            });
          }
        }
      }
    }
    return violations;
  },
});
