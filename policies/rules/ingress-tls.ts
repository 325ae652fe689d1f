import { defineRule, type Violation } from "../lib";

const AFFINITY = "nginx.ingress.kubernetes.io/affinity";

export default defineRule<{ consolePaths: string[] }>({
  name: "ingress-tls",
  description:
    "Checks that every Ingress has TLS for its hosts and, for the nginx class exposing the console, the cookie-affinity annotations.",
  configSchema: {
    properties: { consolePaths: { type: "array", items: { type: "string" }, default: ["/", "/console"] } },
  },
  defaults: { consolePaths: ["/", "/console"] },
  check(input, config) {
    const violations: Violation[] = [];
    for (const object of input.objects.filter((candidate) => candidate.kind === "Ingress")) {
      const tlsHosts = new Set<string>(
        ((object.spec?.tls ?? []) as any[]).flatMap((entry) => entry.hosts ?? []),
      );
      const rules: any[] = object.spec?.rules ?? [];
      if (tlsHosts.size === 0) {
        violations.push({
          object,
          message:
            "Has no TLS: the console's session cookie is Secure and the webhook carries Basic credentials (the CX Contact guide requires a valid certificate). Add spec.tls with secretName and hosts.",
        });
      } else {
        for (const rule of rules) {
          if (rule.host && !tlsHosts.has(rule.host))
            violations.push({
              object,
              message: `Host ${rule.host} is not covered by spec.tls: add it to a tls entry's hosts.`,
            });
        }
      }
      const className =
        object.spec?.ingressClassName ?? object.metadata?.annotations?.["kubernetes.io/ingress.class"];
      const exposesConsole = rules.some((rule) =>
        (rule.http?.paths ?? []).some((path: any) => config.consolePaths.includes(path.path)),
      );
      if (className === "nginx" && exposesConsole && object.metadata?.annotations?.[AFFINITY] !== "cookie") {
        violations.push({
          object,
          message: `Exposes the console through ingress-nginx without ${AFFINITY}: "cookie", which the CX Contact guide asks for. Add the cookie-affinity annotations (the chart does for the nginx class).`,
        });
      }
    }
    return violations;
  },
});
