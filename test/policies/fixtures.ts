import type { K8sObject } from "../../policies/lib";

/** A compliant deployment of the middleware, as plain objects; each test changes one thing. */
export function compliant(): {
  objects: K8sObject[];
  charts: Array<{ name: string; values: Record<string, unknown>; chart?: string; version?: string }>;
} {
  const labels = {
    "app.kubernetes.io/name": "genesys-middleware-stack",
    "app.kubernetes.io/instance": "genesys-sync",
  };
  const ns = "genesys-sync";
  const container = {
    name: "sync",
    image:
      "registry.example.com/contact-centre/genesys-sync:0.1.0@sha256:3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a",
    envFrom: [{ configMapRef: { name: "genesys-sync" } }],
    env: [
      {
        name: "GENESYS_CLIENT_SECRET",
        valueFrom: { secretKeyRef: { name: "genesys-integration-secrets", key: "client-secret" } },
      },
    ],
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 500,
      runAsGroup: 500,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    },
    startupProbe: { httpGet: { path: "/readyz", port: "http" } },
    readinessProbe: { httpGet: { path: "/readyz", port: "http" } },
    livenessProbe: { httpGet: { path: "/healthz", port: "http" } },
    resources: { requests: { cpu: "500m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } },
    volumeMounts: [{ name: "data", mountPath: "/data" }],
  };
  return {
    objects: [
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "genesys-sync", namespace: ns },
        data: {
          GENESYS_REGION: "eu-west-1",
          GENESYS_CLIENT_ID: "abc",
          TOKEN_REFRESH_BUFFER_SECONDS: "60",
          GENESYS_API_BASE_URL: "https://api.mypurecloud.ie",
        },
      },
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "genesys-sync", namespace: ns, labels },
        spec: {
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              securityContext: {
                runAsNonRoot: true,
                runAsUser: 500,
                runAsGroup: 500,
                fsGroup: 500,
                seccompProfile: { type: "RuntimeDefault" },
              },
              containers: [container],
              volumes: [{ name: "data", persistentVolumeClaim: { claimName: "genesys-sync-data" } }],
            },
          },
        },
      },
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "genesys-sync", namespace: ns, labels },
        spec: { selector: labels, ports: [{ name: "http", port: 80 }] },
      },
      {
        apiVersion: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        metadata: { name: "genesys-sync", namespace: ns },
        spec: {
          minReplicas: 2,
          maxReplicas: 10,
          metrics: [
            {
              type: "Resource",
              resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
            },
          ],
        },
      },
      {
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "genesys-egress", namespace: ns },
        spec: {
          podSelector: { matchLabels: labels },
          policyTypes: ["Ingress", "Egress"],
          egress: [{ to: [{ ipBlock: { cidr: "192.0.2.0/24" } }], ports: [{ protocol: "TCP", port: 443 }] }],
        },
      },
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: { name: "genesys-sync", namespace: ns },
        spec: { selector: { matchLabels: labels } },
      },
      {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: "genesys-sync-data", namespace: ns },
        spec: { accessModes: ["ReadWriteMany"] },
      },
      {
        apiVersion: "networking.k8s.io/v1",
        kind: "Ingress",
        metadata: {
          name: "genesys-sync",
          namespace: ns,
          annotations: { "nginx.ingress.kubernetes.io/affinity": "cookie" },
        },
        spec: {
          ingressClassName: "nginx",
          tls: [{ secretName: "tls", hosts: ["sync.example.com"] }],
          rules: [{ host: "sync.example.com", http: { paths: [{ path: "/", pathType: "Prefix" }] } }],
        },
      },
    ],
    charts: [
      {
        name: "genesys-sync",
        chart: "/repo/app/chart",
        values: {
          genesys: { region: "eu-west-1", clientId: "abc" },
          auth: { tokenRefreshBufferSeconds: 60 },
        },
      },
    ],
  };
}

export type Fixture = ReturnType<typeof compliant>;

/** The object of a kind in a fixture, for changing it in place. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixtures are edited field by field
export function get(fixture: Fixture, kind: string): any {
  return fixture.objects.find((object) => object.kind === kind)!;
}
