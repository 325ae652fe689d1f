import { expect } from "chai";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse, stringify } from "yaml";
import { loadConfig } from "../../app/src/config";
import { CHART, find, helm, renderChart, valuesFile, type K8sObject } from "../support/helm";
import { validateAgainstKubernetesSchema } from "../support/k8s-schemas";

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered manifests are checked field by field */

/** The chart rendered by the real helm binary, parsed, and checked object by object. */

/** The message helm fails with for these values. */
function failure(set: Record<string, string>): string {
  try {
    renderChart({ set });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected helm to refuse these values");
}

/** A values file holding these values (lists of objects are awkward with --set). */
function valuesOf(values: Record<string, unknown>): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "chart-values-")), "values.yaml");
  writeFileSync(file, stringify(values));
  return file;
}

/** The message helm fails with for this values file. */
function failureWith(values: Record<string, unknown>): string {
  try {
    renderChart({ files: [valuesOf(values)] });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected helm to refuse these values");
}

describe("Helm chart app/chart (real helm)", function () {
  this.timeout(60_000);

  describe("helm lint --strict", () => {
    for (const [label, files] of [
      ["default values", []],
      ["dev values", [valuesFile("dev")]],
      ["prod values", [valuesFile("prod")]],
    ] as const) {
      it(`passes with the ${label}`, () => {
        const result = helm(["lint", "--strict", CHART, ...files.flatMap((file) => ["-f", file])]);
        expect(result.status, result.stdout + result.stderr).to.equal(0);
      });
    }
  });

  for (const [label, files] of [
    ["default", []],
    ["dev", [valuesFile("dev")]],
    ["prod", [valuesFile("prod")]],
  ] as const) {
    describe(`helm template with the ${label} values`, () => {
      let text: string;
      let objects: K8sObject[];
      let deployment: any;
      let pod: any;
      let container: any;
      before(() => {
        ({ text, objects } = renderChart({ files: [...files] }));
        deployment = find<any>(objects, "Deployment");
        pod = deployment.spec.template.spec;
        container = pod.containers[0];
      });

      it("renders the workload objects and none of those another owner manages", () => {
        const kinds = objects.map((object) => object.kind).sort();
        expect(kinds).to.include.members([
          "ConfigMap",
          "Deployment",
          "HorizontalPodAutoscaler",
          "PodDisruptionBudget",
          "Service",
          "ServiceAccount",
        ]);
        for (const owned of ["Secret", "NetworkPolicy", "ServiceMonitor", "PersistentVolumeClaim"])
          expect(kinds).not.to.include(owned);
      });

      it("validates every object against the Kubernetes schemas", () => {
        for (const object of objects) {
          expect(
            () => validateAgainstKubernetesSchema(object),
            `${object.kind} ${object.metadata.name}`,
          ).not.to.throw();
        }
      });

      it("holds no secret value and no latest tag anywhere", () => {
        expect(text).not.to.match(/:latest\b/);
        expect(text).not.to.match(/(client_?secret|password)\s*:\s*["']?[^\s"'{]/i);
        const config = find<any>(objects, "ConfigMap").data as Record<string, string>;
        for (const key of Object.keys(config)) expect(key).not.to.match(/SECRET|PASSWORD|TOKEN$/);
        const plainEnv = (container.env as any[])
          .filter((entry) => "value" in entry)
          .map((entry) => entry.name);
        expect(plainEnv.filter((name: string) => /SECRET|PASSWORD/.test(name))).to.deep.equal([]);
      });

      it("takes the client secret from the Secret the guide names, through secretKeyRef", () => {
        const secret = (container.env as any[]).find((entry) => entry.name === "GENESYS_CLIENT_SECRET");
        expect(secret.valueFrom.secretKeyRef).to.deep.equal({
          name: "genesys-integration-secrets",
          key: "client-secret",
        });
      });

      it("maps values to the service's environment contract, which the service itself accepts", () => {
        const data = find<any>(objects, "ConfigMap").data as Record<string, string>;
        expect(container.envFrom[0].configMapRef.name).to.equal(find(objects, "ConfigMap").metadata.name);
        expect(data).to.include({
          SYNC_DATA_DIR: "/data",
          PORT: "8080",
          TOKEN_REFRESH_BUFFER_SECONDS: "60",
          POLLING_INTERVAL_SECONDS: "300",
        });
        // The service's own loader, fed the ConfigMap plus the Secret's value, must accept it.
        const env = {
          ...data,
          GENESYS_CLIENT_ID: data.GENESYS_CLIENT_ID || "id",
          GENESYS_CONTACT_LIST_ID: data.GENESYS_CONTACT_LIST_ID || "list",
          GENESYS_CLIENT_SECRET: "from-the-secret",
          // The console's secrets, from the same Secret (prod turns the console on).
          OIDC_CLIENT_SECRET: "oidc-from-the-secret",
          CONSOLE_SESSION_SECRET: "s".repeat(32),
          // What the kubelet adds in the pod: the API server, and the fieldRef variables of the Deployment.
          KUBERNETES_SERVICE_HOST: "10.96.0.1",
          POD_NAME: "sync-abc",
          POD_NAMESPACE: "genesys-sync",
        };
        const config = loadConfig(env);
        expect(config.leaderElection).to.deep.include({ namespace: "genesys-sync", identity: "sync-abc" });
        expect(config.dataDir).to.equal("/data");
        expect(config.endpoints.apiBaseUrl).to.equal("https://api.mypurecloud.ie");
      });

      it("runs as uid:gid 500:500, non-root, read-only, no privilege escalation, ALL dropped, RuntimeDefault", () => {
        expect(pod.securityContext).to.deep.include({
          runAsNonRoot: true,
          runAsUser: 500,
          runAsGroup: 500,
          fsGroup: 500,
        });
        expect(pod.securityContext.seccompProfile).to.deep.equal({ type: "RuntimeDefault" });
        expect(container.securityContext).to.deep.include({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          runAsNonRoot: true,
        });
        expect(container.securityContext.capabilities.drop).to.deep.equal(["ALL"]);
        expect(pod.hostNetwork ?? false).to.equal(false);
        const tmp = pod.volumes.find((volume: any) => volume.name === "tmp");
        expect(tmp.emptyDir).to.be.an("object");
        expect(container.volumeMounts).to.deep.include({ name: "tmp", mountPath: "/tmp" });
      });

      it("mounts the existing ReadWriteMany claim at the data dir", () => {
        const data = pod.volumes.find((volume: any) => volume.name === "data");
        expect(data.persistentVolumeClaim.claimName).to.equal("genesys-sync-data");
        expect(container.volumeMounts).to.deep.include({ name: "data", mountPath: "/data" });
      });

      it("probes: startup and readiness on /readyz (traffic only after the first token), liveness on /healthz", () => {
        expect(container.startupProbe.httpGet.path).to.equal("/readyz");
        expect(container.readinessProbe.httpGet.path).to.equal("/readyz");
        expect(container.livenessProbe.httpGet.path).to.equal("/healthz");
      });

      it("sets the guide's resources, omits replicas under the autoscaling/v2 HPA, and spreads across nodes", () => {
        expect(container.resources).to.deep.equal({
          requests: { cpu: "500m", memory: "512Mi" },
          limits: { cpu: "1", memory: "1Gi" },
        });
        expect(deployment.spec).not.to.have.property("replicas");
        const hpa = find<any>(objects, "HorizontalPodAutoscaler");
        expect(hpa.apiVersion).to.equal("autoscaling/v2");
        expect(hpa.spec.metrics[0].resource.target.averageUtilization).to.equal(70);
        expect(hpa.spec.minReplicas).to.be.at.least(2);
        expect(pod.topologySpreadConstraints[0].topologyKey).to.equal("kubernetes.io/hostname");
        expect(deployment.spec.template.metadata.annotations["checksum/config"]).to.match(/^[a-f0-9]{64}$/);
      });

      it("elects one poller: the API token is mounted for the Lease, with rights on leases only", () => {
        expect(pod.automountServiceAccountToken).to.equal(true);
        expect(find<any>(objects, "Role").rules).to.have.length(1);
        expect(find<any>(objects, "Role").rules[0].resources).to.deep.equal(["leases"]);
      });

      it("sets no proxy and trusts no extra CA unless asked", () => {
        const data = find<any>(objects, "ConfigMap").data as Record<string, string>;
        expect(Object.keys(data)).not.to.include.members(["HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"]);
        expect((container.env as any[]).map((entry) => entry.name)).not.to.include("NODE_EXTRA_CA_CERTS");
        expect(pod.volumes.map((volume: any) => volume.name)).to.deep.equal(["data", "tmp"]);
      });
    });
  }

  it("pins the image by digest where one is given (prod)", () => {
    const { objects } = renderChart({ files: [valuesFile("prod")] });
    expect(find<any>(objects, "Deployment").spec.template.spec.containers[0].image).to.match(
      /^registry\.example\.com\/.+:0\.1\.0@sha256:[a-f0-9]{64}$/,
    );
  });

  it("prod exposes the console through a TLS Ingress with the nginx cookie-affinity annotations", () => {
    const ingress = find<any>(renderChart({ files: [valuesFile("prod")] }).objects, "Ingress");
    expect(ingress.apiVersion).to.equal("networking.k8s.io/v1");
    expect(ingress.spec.ingressClassName).to.equal("nginx");
    expect(ingress.spec.tls[0].hosts).to.deep.equal(["genesys-sync.contact-centre.example.com"]);
    expect(ingress.metadata.annotations).to.include({
      "nginx.ingress.kubernetes.io/affinity": "cookie",
      "nginx.ingress.kubernetes.io/session-cookie-secure": "true",
    });
  });

  it("rolls the pods when the configuration changes (checksum/config)", () => {
    const checksum = (objects: K8sObject[]) =>
      (find<any>(objects, "Deployment").spec.template.metadata.annotations as Record<string, string>)[
        "checksum/config"
      ];
    const before = checksum(renderChart().objects);
    const after = checksum(renderChart({ set: { "genesys.pollingIntervalSeconds": "600" } }).objects);
    expect(after).not.to.equal(before);
  });

  it("with the console on, maps OIDC settings to the ConfigMap and both secrets to secretKeyRefs, which the service accepts", () => {
    const { objects } = renderChart({
      set: {
        "console.enabled": "true",
        "console.issuerUrl": "https://login.example.com/realms/ops",
        "console.clientId": "sync-console",
        "console.publicUrl": "https://sync.example.com",
        "console.allowedGroups[0]": "sync-operators",
      },
    });
    const data = find<any>(objects, "ConfigMap").data as Record<string, string>;
    expect(JSON.stringify(data)).not.to.match(/SECRET/);
    const env = find<any>(objects, "Deployment").spec.template.spec.containers[0].env as any[];
    const fromSecret = Object.fromEntries(
      env
        .filter((entry) => entry.valueFrom?.secretKeyRef)
        .map((entry) => [entry.name, entry.valueFrom.secretKeyRef.key]),
    );
    expect(fromSecret).to.include({
      OIDC_CLIENT_SECRET: "oidc-client-secret",
      CONSOLE_SESSION_SECRET: "console-session-secret",
    });
    const config = loadConfig({
      ...data,
      GENESYS_CLIENT_ID: "id",
      GENESYS_CONTACT_LIST_ID: "list",
      GENESYS_CLIENT_SECRET: "from-the-secret",
      OIDC_CLIENT_SECRET: "from-the-secret",
      CONSOLE_SESSION_SECRET: "a-session-secret-of-at-least-32-characters",
      KUBERNETES_SERVICE_HOST: "10.96.0.1",
      POD_NAMESPACE: "genesys-sync",
    });
    expect(config.console).to.deep.include({
      issuerUrl: "https://login.example.com/realms/ops",
      allowedGroups: ["sync-operators"],
    });
  });

  it("without leader election (one replica), mounts no API token and grants nothing", () => {
    const { objects } = renderChart({
      set: { "leaderElection.enabled": "false", "autoscaling.enabled": "false", replicaCount: "1" },
    });
    expect(find<any>(objects, "Deployment").spec.template.spec.automountServiceAccountToken).to.equal(false);
    expect(find<any>(objects, "ServiceAccount").automountServiceAccountToken).to.equal(false);
    expect(objects.map((object) => object.kind)).not.to.include("Role");
  });

  it("refuses several polling replicas without leader election, and lease timings that cannot work", () => {
    expect(failure({ "leaderElection.enabled": "false", replicaCount: "3" })).to.contain(
      "every replica would poll",
    );
    expect(failure({ "leaderElection.renewDeadlineSeconds": "20" })).to.contain(
      "must be shorter than leaderElection.leaseDurationSeconds",
    );
  });

  it("with leader election, mounts the token and grants exactly get, create and update on leases", () => {
    const { objects } = renderChart({ set: { "leaderElection.enabled": "true" } });
    const role = find<any>(objects, "Role");
    expect(role.rules).to.deep.equal([
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        // What app/src/cluster/lease-api.ts calls (GET, POST, PUT): no list, watch, patch or delete.
        verbs: ["get", "create", "update"],
      },
    ]);
    const binding = find<any>(objects, "RoleBinding");
    expect(binding.subjects[0].name).to.equal(find(objects, "ServiceAccount").metadata.name);
    expect(find<any>(objects, "Deployment").spec.template.spec.automountServiceAccountToken).to.equal(true);
    for (const object of objects) validateAgainstKubernetesSchema(object);
  });

  it("can expose through a Gateway API HTTPRoute instead", () => {
    const { objects } = renderChart({
      set: {
        "httpRoute.enabled": "true",
        "httpRoute.parentRefs[0].name": "public-gateway",
        "httpRoute.parentRefs[0].namespace": "gateways",
        "httpRoute.hostnames[0]": "sync.example.com",
      },
    });
    const route = find<any>(objects, "HTTPRoute");
    expect(route.apiVersion).to.equal("gateway.networking.k8s.io/v1");
    expect(route.spec.rules[0].backendRefs[0]).to.deep.equal({
      name: find(objects, "Service").metadata.name,
      port: 80,
    });
    validateAgainstKubernetesSchema(route);
  });

  it("sets replicas and no HPA when autoscaling is off", () => {
    const { objects } = renderChart({ set: { "autoscaling.enabled": "false", replicaCount: "3" } });
    expect(find<any>(objects, "Deployment").spec.replicas).to.equal(3);
    expect(objects.map((object) => object.kind)).not.to.include("HorizontalPodAutoscaler");
  });

  describe("behind a TLS-inspecting proxy", () => {
    const CA_FILE = "/etc/genesys-sync/ca/ca.crt";

    for (const source of ["configMap", "secret"] as const) {
      it(`trusts an extra CA bundle from a ${source}: mounted read-only, NODE_EXTRA_CA_CERTS points at it`, () => {
        const { objects } = renderChart({
          set: {
            [`extraCaCerts.${source}.name`]: "corporate-ca",
            [`extraCaCerts.${source}.key`]: "bundle.pem",
          },
        });
        const deployment = find<any>(objects, "Deployment");
        const pod = deployment.spec.template.spec;
        const container = pod.containers[0];
        const volume = pod.volumes.find((entry: any) => entry.name === "extra-ca-certs");
        const items = [{ key: "bundle.pem", path: "ca.crt" }];
        expect(volume).to.deep.equal(
          source === "configMap"
            ? { name: "extra-ca-certs", configMap: { name: "corporate-ca", items } }
            : { name: "extra-ca-certs", secret: { secretName: "corporate-ca", items } },
        );
        expect(container.volumeMounts).to.deep.include({
          name: "extra-ca-certs",
          mountPath: "/etc/genesys-sync/ca",
          readOnly: true,
        });
        expect(container.env).to.deep.include({ name: "NODE_EXTRA_CA_CERTS", value: CA_FILE });
        validateAgainstKubernetesSchema(deployment);
      });
    }

    it("rolls the pods when the CA reference changes (it is in the pod template)", () => {
      const template = (name: string) =>
        JSON.stringify(
          find<any>(
            renderChart({
              set: { "extraCaCerts.configMap.name": name, "extraCaCerts.configMap.key": "ca.crt" },
            }).objects,
            "Deployment",
          ).spec.template,
        );
      expect(template("ca-v2")).not.to.equal(template("ca-v1"));
    });

    it("refuses a CA reference without a key, and both a ConfigMap and a Secret", () => {
      expect(failure({ "extraCaCerts.configMap.name": "corporate-ca" })).to.contain(
        "/extraCaCerts/configMap",
      );
      expect(
        failureWith({
          extraCaCerts: {
            configMap: { name: "a", key: "ca.crt" },
            secret: { name: "b", key: "ca.crt" },
          },
        }),
      ).to.contain("keep one");
    });

    it("puts HTTPS_PROXY, HTTP_PROXY and NO_PROXY in the ConfigMap, which rolls the pods", () => {
      const proxy = {
        httpsProxy: "http://proxy.corp.example.com:3128",
        httpProxy: "http://proxy.corp.example.com:3128",
        noProxy: [".svc", ".cluster.local", "10.0.0.1"],
      };
      const { objects } = renderChart({ files: [valuesOf({ proxy })] });
      expect(find<any>(objects, "ConfigMap").data).to.include({
        HTTPS_PROXY: "http://proxy.corp.example.com:3128",
        HTTP_PROXY: "http://proxy.corp.example.com:3128",
        NO_PROXY: ".svc,.cluster.local,10.0.0.1",
      });
      const checksum = (found: K8sObject[]) =>
        find<any>(found, "Deployment").spec.template.metadata.annotations["checksum/config"];
      expect(checksum(objects)).not.to.equal(checksum(renderChart().objects));
    });

    it("accepts an https proxy and an IP literal with a port", () => {
      for (const url of [
        "https://proxy.corp.example.com:8443",
        "http://10.20.30.40:3128",
        "http://[fd00::1]:3128",
      ])
        expect(
          find<any>(renderChart({ set: { "proxy.httpsProxy": url } }).objects, "ConfigMap").data.HTTPS_PROXY,
        ).to.equal(url);
    });

    it("refuses a proxy URL with credentials without echoing them, and a scheme other than http(s)", () => {
      const message = failure({
        "proxy.httpsProxy": "http://svc-sync:Hunter2pw@proxy.corp.example.com:3128",
      });
      expect(message).to.contain("NO CREDENTIALS IN THE PROXY URL");
      expect(message).to.contain("valueFrom.secretKeyRef");
      expect(message).not.to.contain("Hunter2pw");
      expect(failure({ "proxy.httpProxy": "http://user:pw@proxy:3128" })).to.contain(
        "NO CREDENTIALS IN THE PROXY URL",
      );
      for (const url of ["socks5://proxy.corp.example.com:1080", "proxy.corp.example.com:3128"])
        expect(failure({ "proxy.httpsProxy": url }), url).to.contain("PROXY URL SCHEME");
      expect(failure({ "proxy.httpsProxy": "http://proxy.corp.example.com:3128/path" })).to.contain(
        "/proxy/httpsProxy",
      );
    });

    it("adds extraEnv, extraVolumes and extraVolumeMounts after the chart's own", () => {
      const { objects } = renderChart({
        files: [
          valuesOf({
            extraEnv: [
              { name: "UV_THREADPOOL_SIZE", value: "8" },
              { name: "PROXY_API_KEY", valueFrom: { secretKeyRef: { name: "proxy", key: "api-key" } } },
            ],
            extraVolumes: [{ name: "spool", emptyDir: { sizeLimit: "128Mi" } }],
            extraVolumeMounts: [{ name: "spool", mountPath: "/var/spool/sync" }],
          }),
        ],
      });
      const deployment = find<any>(objects, "Deployment");
      const pod = deployment.spec.template.spec;
      const container = pod.containers[0];
      expect(container.env.slice(-2)).to.deep.equal([
        { name: "UV_THREADPOOL_SIZE", value: "8" },
        { name: "PROXY_API_KEY", valueFrom: { secretKeyRef: { name: "proxy", key: "api-key" } } },
      ]);
      expect(pod.volumes).to.deep.include({ name: "spool", emptyDir: { sizeLimit: "128Mi" } });
      expect(container.volumeMounts).to.deep.include({ name: "spool", mountPath: "/var/spool/sync" });
      validateAgainstKubernetesSchema(deployment);
    });

    it("refuses an extraEnv entry whose name looks secret with a plain value, and accepts it with valueFrom", () => {
      for (const name of [
        "DB_PASSWORD",
        "proxy_token",
        "Vendor_Api_Key",
        "SIGNING_PRIVATE_KEY",
        "AWS_CREDENTIALS",
      ]) {
        const message = failureWith({ extraEnv: [{ name, value: "plain-s3cr3t" }] });
        expect(message, name).to.contain("NO SECRETS IN VALUES");
        expect(message, name).to.contain("valueFrom.secretKeyRef");
        expect(message, name).not.to.contain("plain-s3cr3t");
      }
      expect(failureWith({ extraEnv: [{ name: "DB_PASSWORD" }] })).to.contain("valueFrom");
      const { objects } = renderChart({
        files: [
          valuesOf({
            extraEnv: [
              { name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
              { name: "DB_PASSWORD_FILE", value: "/etc/db/password" },
            ],
          }),
        ],
      });
      const env = find<any>(objects, "Deployment").spec.template.spec.containers[0].env as any[];
      expect(env.map((entry) => entry.name)).to.include.members(["DB_PASSWORD", "DB_PASSWORD_FILE"]);
    });
  });

  describe("refuses values that must never be there, with the intended message", () => {
    it("a client secret, anywhere: says where the secret belongs", () => {
      for (const key of [
        "genesys.clientSecret",
        "genesys.client_secret",
        "podAnnotations.client_secret",
        "auth.clientSecret",
      ]) {
        const message = failure({ [key]: "s3cr3t-value" });
        expect(message, key).to.contain("NO SECRETS IN VALUES");
        expect(message, key).to.contain("existingSecret.name");
        expect(message, key).not.to.contain("s3cr3t-value");
      }
      expect(failure({ "podAnnotations.password": "x" })).to.contain("Secrets never go in values");
    });

    it("an unknown key under genesys (the guide's environment_uri) or auth", () => {
      expect(failure({ "genesys.environment_uri": "https://api.mypurecloud.com" })).to.contain(
        "additional properties 'environment_uri' not allowed",
      );
      expect(failure({ "auth.token_endpoint": "x" })).to.contain(
        "additional properties 'token_endpoint' not allowed",
      );
    });

    it("the guide's 20 % CPU target, and the latest tag", () => {
      expect(failure({ "autoscaling.targetCPUUtilizationPercentage": "20" })).to.contain(
        "minimum: got 20, want 50",
      );
      expect(failure({ "image.tag": "latest" })).to.contain("/image/tag");
    });

    it("impossible autoscaling, TLS without hosts, an Ingress without TLS, a grace period that cannot work", () => {
      expect(failure({ "autoscaling.minReplicas": "5", "autoscaling.maxReplicas": "3" })).to.contain(
        "autoscaling.minReplicas (5) is greater than autoscaling.maxReplicas (3)",
      );
      expect(
        failure({
          "ingress.enabled": "true",
          "ingress.hosts[0].host": "a.example.com",
          "ingress.tls[0].secretName": "t",
        }),
      ).to.contain('ingress.tls entry "t" has no hosts');
      expect(failure({ "ingress.enabled": "true", "ingress.hosts[0].host": "a.example.com" })).to.contain(
        "TLS is required",
      );
      expect(failure({ shutdownGraceSeconds: "40" })).to.contain(
        "must be shorter than terminationGracePeriodSeconds",
      );
    });
  });
});

describe("chart documentation", () => {
  const text = readFileSync(path.join(CHART, "values.yaml"), "utf8");
  const values = parse(text) as Record<string, unknown>;
  const documented = new Set([...text.matchAll(/## @param (\S+)/g)].map((match) => match[1]!));

  function leafPaths(node: unknown, prefix: string): string[] {
    if (node === null || typeof node !== "object" || Array.isArray(node) || Object.keys(node).length === 0)
      return [prefix];
    return Object.entries(node).flatMap(([key, child]) =>
      leafPaths(child, prefix ? `${prefix}.${key}` : key),
    );
  }

  it("documents every key of values.yaml with ## @param (itself or the object holding it)", () => {
    const undocumented = leafPaths(values, "").filter((leaf) => {
      const parts = leaf.split(".");
      return !parts.some((_, index) => documented.has(parts.slice(0, index + 1).join(".")));
    });
    expect(undocumented).to.deep.equal([]);
  });

  it("lists every @param in the chart README's parameter table", () => {
    const readme = readFileSync(path.join(CHART, "README.md"), "utf8");
    for (const name of documented) expect(readme, name).to.contain(`\`${name}\``);
  });
});
