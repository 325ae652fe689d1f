import { expect } from "chai";
import { evaluate, type PackConfig } from "../../policies/engine";
import { RULES } from "../../policies/rules";
import { GENESYS_REGIONS, resolveEndpoints } from "../../app/src/shared/regions";
import { SETTING } from "../../app/src/shared/settings";
import { compliant, get, type Fixture } from "./fixtures";

/** Each rule: the compliant fixture passes; each way of breaking it fails with the rule's name and a message naming the fix. */
function findings(change: (fixture: Fixture) => void, pack: PackConfig = {}) {
  const fixture = compliant();
  change(fixture);
  return evaluate(fixture, pack);
}

function expectOnly(
  policy: string,
  change: (fixture: Fixture) => void,
  fragment: string,
  pack: PackConfig = {},
) {
  const found = findings(change, pack);
  expect(
    found.map((finding) => finding.policy),
    JSON.stringify(found.map((finding) => finding.message)),
  ).to.include(policy);
  const messages = found.filter((finding) => finding.policy === policy).map((finding) => finding.message);
  expect(
    messages.some((message) => message.includes(fragment)),
    messages.join("\n"),
  ).to.equal(true);
}

describe("policy rules over plain Kubernetes objects", () => {
  it("the compliant fixture passes every rule", () => {
    expect(
      evaluate(compliant(), { all: "mandatory", "pinned-versions": { requireDigest: true } }),
    ).to.deep.equal([]);
  });

  it("has the fifteen rules the issue names, kebab-case, each with a one-sentence description", () => {
    expect(RULES.map((rule) => rule.name)).to.deep.equal([
      "no-secret-in-values",
      "secret-env-from-secret-ref",
      "egress-restricted",
      "network-policy-required",
      "hpa-sane",
      "resources-required",
      "deprecated-api",
      "pinned-versions",
      "probes-required",
      "pod-security",
      "shared-volume-rwx",
      "ingress-tls",
      "servicemonitor-required",
      "genesys-endpoint",
      "token-refresh-buffer",
    ]);
    for (const rule of RULES) expect(rule.description, rule.name).to.match(/^Checks that .+\.$/);
  });

  describe("no-secret-in-values", () => {
    it("catches the guide's client_secret in values", () =>
      expectOnly(
        "no-secret-in-values",
        (f) => {
          f.charts[0]!.values = {
            genesys: {
              client_id: "your-organization-client-id",
              environment_uri: "https://api.mypurecloud.com",
              client_secret: "abc123xyz",
            },
          };
        },
        "put it in the Kubernetes Secret",
      ));
    it("catches a secret in a ConfigMap and a private key as a plain env value", () => {
      expectOnly(
        "no-secret-in-values",
        (f) => (get(f, "ConfigMap").data.GENESYS_CLIENT_SECRET = "s3cr3t"),
        "ConfigMap key GENESYS_CLIENT_SECRET",
      );
      expectOnly(
        "no-secret-in-values",
        (f) =>
          get(f, "Deployment").spec.template.spec.containers[0].env.push({
            name: "SIGNING",
            value: "-----BEGIN RSA PRIVATE KEY-----\nabc",
          }),
        "Plain env value SIGNING",
      );
    });
  });

  it("secret-env-from-secret-ref: a plain GENESYS_CLIENT_SECRET fails", () =>
    expectOnly(
      "secret-env-from-secret-ref",
      (f) =>
        (get(f, "Deployment").spec.template.spec.containers[0].env = [
          { name: "GENESYS_CLIENT_SECRET", value: "abc" },
        ]),
      "valueFrom.secretKeyRef",
    ));

  describe("egress-restricted", () => {
    it("fails the guide's own egress policy: 0.0.0.0/0 and a from inside an egress rule", () => {
      const found = findings((f) => {
        get(f, "NetworkPolicy").spec = {
          podSelector: {},
          policyTypes: ["Egress"],
          egress: [
            {
              to: [{ ipBlock: { cidr: "0.0.0.0/0" } }],
              ports: [{ protocol: "TCP", port: 443 }],
              from: [{ namespaceSelector: {} }],
            },
          ],
        };
      }).filter((finding) => finding.policy === "egress-restricted");
      expect(found.map((finding) => finding.message).join("\n"))
        .to.contain("allows 0.0.0.0/0")
        .and.to.contain('has a "from" field');
    });
    it("fails a rule without to, without ports, or open to ::/0", () => {
      expectOnly(
        "egress-restricted",
        (f) => (get(f, "NetworkPolicy").spec.egress = [{ ports: [{ port: 443 }] }]),
        'has no "to"',
      );
      expectOnly(
        "egress-restricted",
        (f) => (get(f, "NetworkPolicy").spec.egress = [{ to: [{ ipBlock: { cidr: "192.0.2.0/24" } }] }]),
        'has no "ports"',
      );
      expectOnly(
        "egress-restricted",
        (f) => (get(f, "NetworkPolicy").spec.egress[0].to = [{ ipBlock: { cidr: "::/0" } }]),
        "allows ::/0",
      );
    });
    it("fails a forward proxy's rule opened to 0.0.0.0/0, and names the proxy's addresses as the fix", () =>
      expectOnly(
        "egress-restricted",
        (f) =>
          get(f, "NetworkPolicy").spec.egress.push({
            to: [{ ipBlock: { cidr: "0.0.0.0/0" } }],
            ports: [{ protocol: "TCP", port: 3128 }],
          }),
        "only the proxy's addresses on its port",
      ));
  });

  it("network-policy-required: pods no Egress policy selects fail", () => {
    expectOnly(
      "network-policy-required",
      (f) => (get(f, "NetworkPolicy").spec.policyTypes = ["Ingress"]),
      "No NetworkPolicy with Egress",
    );
    expectOnly(
      "network-policy-required",
      (f) => (get(f, "NetworkPolicy").metadata.namespace = "other"),
      "No NetworkPolicy with Egress",
    );
  });

  describe("hpa-sane", () => {
    it("fails the guide's 20 % CPU target", () =>
      expectOnly(
        "hpa-sane",
        (f) => (get(f, "HorizontalPodAutoscaler").spec.metrics[0].resource.target.averageUtilization = 20),
        "The guide's trap: 20-30 %",
      ));
    it("fails autoscaling/v2beta2 and one replica", () => {
      expectOnly(
        "hpa-sane",
        (f) => (get(f, "HorizontalPodAutoscaler").apiVersion = "autoscaling/v2beta2"),
        "Use autoscaling/v2",
      );
      expectOnly(
        "hpa-sane",
        (f) => (get(f, "HorizontalPodAutoscaler").spec.minReplicas = 1),
        "keep at least 2",
      );
    });
    it("bounds maxReplicas by the org's limit, with the budget per token × pool size × replicas", () => {
      const org = { "hpa-sane": { orgRequestsPerMinute: 6000 } };
      const hpa = (f: Fixture) => get(f, "HorizontalPodAutoscaler");
      const configMap = (f: Fixture) => get(f, "ConfigMap");
      const budget = (change: (fixture: Fixture) => void) =>
        findings(change, org).filter((finding) => finding.policy === "hpa-sane");
      // 20 pods × 1 token × 300/min = 6,000: within.
      expect(budget((f) => (hpa(f).spec.maxReplicas = 20))).to.deep.equal([]);
      // The same pods with a pool of 2 tokens each send 12,000/min.
      const pooled = budget((f) => {
        hpa(f).spec.maxReplicas = 20;
        configMap(f).data.GENESYS_TOKEN_POOL_SIZE = "2";
      });
      expect(pooled).to.have.length(1);
      expect(pooled[0]!.message).to.contain(
        "20 × 2 token(s) per pod × 300 requests/min per token = 12000/min",
      );
      expect(pooled[0]!.message).to.contain("Lower maxReplicas to 10");
      // The pool size also counts when it comes from the chart's values.
      const fromValues = budget((f) => {
        hpa(f).spec.maxReplicas = 20;
        delete configMap(f).data.GENESYS_TOKEN_POOL_SIZE;
        f.charts[0]!.values.genesys = { tokenPoolSize: 2 };
      });
      expect(fromValues.map((finding) => finding.message).join()).to.contain("Lower maxReplicas to 10");
    });
    it("without an org limit, only Genesys' per-token limit applies: more pods bring more budget", () => {
      const found = findings((f) => (get(f, "HorizontalPodAutoscaler").spec.maxReplicas = 50));
      expect(found.filter((finding) => finding.policy === "hpa-sane")).to.deep.equal([]);
    });
  });

  it("resources-required: a container without limits fails", () =>
    expectOnly(
      "resources-required",
      (f) => delete get(f, "Deployment").spec.template.spec.containers[0].resources.limits,
      "no limits.cpu, limits.memory",
    ));

  it("deprecated-api: removed APIs fail at the target version, not before", () => {
    expectOnly(
      "deprecated-api",
      (f) => (get(f, "Ingress").apiVersion = "networking.k8s.io/v1beta1"),
      "removed in Kubernetes 1.22",
    );
    expectOnly(
      "deprecated-api",
      (f) =>
        f.objects.push({
          apiVersion: "policy/v1beta1",
          kind: "PodDisruptionBudget",
          metadata: { name: "p" },
          spec: {},
        }),
      "Use policy/v1",
    );
    const old = findings(
      (f) =>
        f.objects.push({
          apiVersion: "flowcontrol.apiserver.k8s.io/v1beta3",
          kind: "FlowSchema",
          metadata: { name: "x" },
        }),
      {
        "deprecated-api": { targetKubernetesVersion: "1.31" },
      },
    );
    expect(old.filter((finding) => finding.policy === "deprecated-api")).to.deep.equal([]);
  });

  it("pinned-versions: latest, no tag, no digest where required, an unpinned repository chart", () => {
    expectOnly(
      "pinned-versions",
      (f) =>
        (get(f, "Deployment").spec.template.spec.containers[0].image =
          "registry.example.com/genesys-sync:latest"),
      "tagged latest",
    );
    expectOnly(
      "pinned-versions",
      (f) =>
        (get(f, "Deployment").spec.template.spec.containers[0].image =
          "registry.example.com:5000/genesys-sync"),
      "without a tag",
    );
    expectOnly(
      "pinned-versions",
      (f) =>
        (get(f, "Deployment").spec.template.spec.containers[0].image =
          "registry.example.com/genesys-sync:0.1.0"),
      "without a digest",
      {
        "pinned-versions": { requireDigest: true },
      },
    );
    expectOnly(
      "pinned-versions",
      (f) => (f.charts[0]!.chart = "oci://registry.example.com/charts/genesys-middleware-stack"),
      "Pin version",
    );
  });

  it("probes-required: a missing startup probe fails", () =>
    expectOnly(
      "probes-required",
      (f) => delete get(f, "Deployment").spec.template.spec.containers[0].startupProbe,
      "no startupProbe",
    ));

  it("pod-security: root, another uid, a writable root, escalation, capabilities, host namespaces, hostPath", () => {
    const pod = (f: Fixture) => get(f, "Deployment").spec.template.spec;
    expectOnly(
      "pod-security",
      (f) => (pod(f).containers[0].securityContext.runAsUser = 0),
      "runs as uid 0, not 500",
    );
    expectOnly("pod-security", (f) => (pod(f).securityContext.fsGroup = 1000), "fsGroup is 1000, not 500");
    expectOnly(
      "pod-security",
      (f) => (pod(f).containers[0].securityContext.readOnlyRootFilesystem = false),
      "writable root filesystem",
    );
    expectOnly(
      "pod-security",
      (f) => (pod(f).containers[0].securityContext.allowPrivilegeEscalation = true),
      "allows privilege escalation",
    );
    expectOnly(
      "pod-security",
      (f) => (pod(f).containers[0].securityContext.capabilities.drop = ["NET_RAW"]),
      "does not drop ALL",
    );
    expectOnly("pod-security", (f) => (pod(f).hostNetwork = true), "hostNetwork is on");
    expectOnly(
      "pod-security",
      (f) => pod(f).volumes.push({ name: "host", hostPath: { path: "/" } }),
      "hostPath",
    );
  });

  it("shared-volume-rwx: a ReadWriteOnce claim at /data fails", () =>
    expectOnly(
      "shared-volume-rwx",
      (f) => (get(f, "PersistentVolumeClaim").spec.accessModes = ["ReadWriteOnce"]),
      "needs ReadWriteMany",
    ));

  it("ingress-tls: no TLS, an uncovered host, nginx without cookie affinity", () => {
    expectOnly("ingress-tls", (f) => delete get(f, "Ingress").spec.tls, "Has no TLS");
    expectOnly(
      "ingress-tls",
      (f) =>
        get(f, "Ingress").spec.rules.push({ host: "other.example.com", http: { paths: [{ path: "/api" }] } }),
      "other.example.com is not covered",
    );
    expectOnly(
      "ingress-tls",
      (f) => delete get(f, "Ingress").metadata.annotations["nginx.ingress.kubernetes.io/affinity"],
      "cookie-affinity annotations",
    );
  });

  it("servicemonitor-required: a metrics Service nothing monitors fails", () =>
    expectOnly(
      "servicemonitor-required",
      (f) => (f.objects = f.objects.filter((object) => object.kind !== "ServiceMonitor")),
      "no ServiceMonitor selects it",
    ));

  it("genesys-endpoint: the guide's api. token endpoint, plain http, an unknown region; an allowed proxy passes", () => {
    expectOnly(
      "genesys-endpoint",
      (f) => (get(f, "ConfigMap").data.GENESYS_LOGIN_BASE_URL = "https://api.mypurecloud.com"),
      "tokens come from login.",
    );
    expectOnly(
      "genesys-endpoint",
      (f) => (get(f, "ConfigMap").data.GENESYS_API_BASE_URL = "http://api.mypurecloud.ie"),
      "Use https://",
    );
    expectOnly(
      "genesys-endpoint",
      (f) => (get(f, "ConfigMap").data.GENESYS_REGION = "eu-west-9"),
      "not a Genesys Cloud region",
    );
    expectOnly(
      "genesys-endpoint",
      (f) => (get(f, "ConfigMap").data.GENESYS_APPS_BASE_URL = "https://uploads.example.com"),
      "bulk uploads go to apps.",
    );
    const apps = findings(
      (f) => (get(f, "ConfigMap").data.GENESYS_APPS_BASE_URL = "https://apps.mypurecloud.ie"),
    );
    expect(apps.filter((finding) => finding.policy === "genesys-endpoint")).to.deep.equal([]);
    const allowed = findings(
      (f) => (get(f, "ConfigMap").data.GENESYS_API_BASE_URL = "https://genesys-proxy.corp.example"),
      {
        "genesys-endpoint": { allowedOverrideHosts: ["genesys-proxy.corp.example"] },
      },
    );
    expect(allowed.filter((finding) => finding.policy === "genesys-endpoint")).to.deep.equal([]);
  });

  it("genesys-endpoint: accepts the base URLs the service resolves for every region, and refuses one at another host of it", () => {
    for (const region of Object.keys(GENESYS_REGIONS)) {
      const { apiBaseUrl, loginBaseUrl, appsBaseUrl } = resolveEndpoints({ region });
      const resolved = findings((f) => {
        f.charts[0]!.values.genesys = { region, apiBaseUrl, loginBaseUrl, appsBaseUrl };
        Object.assign(get(f, "ConfigMap").data, {
          GENESYS_REGION: region,
          GENESYS_API_BASE_URL: apiBaseUrl,
          GENESYS_LOGIN_BASE_URL: loginBaseUrl,
          GENESYS_APPS_BASE_URL: appsBaseUrl,
        });
      });
      expect(
        resolved.filter((finding) => finding.policy === "genesys-endpoint"),
        region,
      ).to.deep.equal([]);
    }
    expectOnly(
      "genesys-endpoint",
      (f) => (f.charts[0]!.values.genesys = { appsBaseUrl: "https://login.mypurecloud.ie" }),
      "genesys.appsBaseUrl points at login.mypurecloud.ie, which is not apps.<domain>",
    );
  });

  it("genesys-endpoint: extra snapshot download hosts must be a region's api-downloads. host, unless allowed", () => {
    const endpointFindings = (change: (fixture: Fixture) => void, pack: PackConfig = {}) =>
      findings(change, pack).filter((finding) => finding.policy === "genesys-endpoint");
    for (const domain of Object.values(GENESYS_REGIONS)) {
      expect(
        endpointFindings((f) => {
          get(f, "ConfigMap").data.EXPORT_LIST_SNAPSHOT_DOWNLOAD_HOSTS = `api-downloads.${domain}`;
          f.charts[0]!.values.export = { listSnapshotDownloadHosts: [`api-downloads.${domain}`] };
        }),
        domain,
      ).to.deep.equal([]);
    }
    expectOnly(
      "genesys-endpoint",
      (f) =>
        (get(f, "ConfigMap").data.EXPORT_LIST_SNAPSHOT_DOWNLOAD_HOSTS =
          "api-downloads.mypurecloud.ie,exports.s3.eu-west-1.amazonaws.com"),
      "EXPORT_LIST_SNAPSHOT_DOWNLOAD_HOSTS lets contact-list snapshots download from exports.s3.eu-west-1.amazonaws.com, which is not api-downloads.<domain>",
    );
    expectOnly(
      "genesys-endpoint",
      (f) => (f.charts[0]!.values.export = { listSnapshotDownloadHosts: ["api.mypurecloud.ie"] }),
      "export.listSnapshotDownloadHosts lets contact-list snapshots download from api.mypurecloud.ie",
    );
    expectOnly(
      "genesys-endpoint",
      (f) =>
        (f.charts[0]!.values.export = {
          listSnapshotDownloadHosts: ["https://api-downloads.mypurecloud.ie/x"],
        }),
      "without scheme or path",
    );
    expect(
      endpointFindings(
        (f) =>
          (f.charts[0]!.values.export = {
            listSnapshotDownloadHosts: ["exports.s3.eu-west-1.amazonaws.com"],
          }),
        { "genesys-endpoint": { allowedOverrideHosts: ["exports.s3.eu-west-1.amazonaws.com"] } },
      ),
    ).to.deep.equal([]);
  });

  it("token-refresh-buffer: outside the service's own bounds, or not well below a given lifetime, fails", () => {
    const bounds = SETTING.TOKEN_REFRESH_BUFFER_SECONDS;
    expectOnly(
      "token-refresh-buffer",
      (f) => (get(f, "ConfigMap").data.TOKEN_REFRESH_BUFFER_SECONDS = String(bounds.min! - 1)),
      `below ${bounds.min} s`,
    );
    expectOnly(
      "token-refresh-buffer",
      (f) => (f.charts[0]!.values.auth = { tokenRefreshBufferSeconds: bounds.max! + 1 }),
      `above the service's maximum of ${bounds.max} s`,
    );
    // What the stack and the chart accept, the policy accepts (200 s was refused once).
    expect(
      findings((f) => (f.charts[0]!.values.auth = { tokenRefreshBufferSeconds: 200 })).filter(
        (finding) => finding.policy === "token-refresh-buffer",
      ),
    ).to.deep.equal([]);
    expect(
      findings((f) => (f.charts[0]!.values.auth = { tokenRefreshBufferSeconds: 200 }), {
        "token-refresh-buffer": { tokenLifetimeSeconds: 300 },
      }).map((finding) => finding.message),
    ).to.satisfy((messages: string[]) =>
      messages.some((m) => m.includes("not well below the 300 s token lifetime")),
    );
  });

  it("an advisory config reports the same violations as advisory", () => {
    const found = findings((f) => (get(f, "HorizontalPodAutoscaler").spec.minReplicas = 1), {
      all: "advisory",
    });
    expect(found.every((finding) => finding.enforcementLevel === "advisory")).to.equal(true);
    expect(
      findings((f) => (get(f, "HorizontalPodAutoscaler").spec.minReplicas = 1), { "hpa-sane": "disabled" }),
    ).to.deep.equal([]);
  });
});
