import { createHash } from "node:crypto";
import type { StackSettings } from "../stacks/settings";

/** Names shared by the chart values, the components and the stack outputs. */
export interface ReleaseNames {
  /** Release name; also the chart's fullnameOverride, so the Service and ServiceAccount carry it. */
  readonly release: string;
  readonly secretName: string;
  readonly claimName: string;
  /** ConfigMap holding the extra CA bundle (network.caBundle), under CA_BUNDLE_KEY. */
  readonly caConfigMapName: string;
}

/** The key of the CA bundle in its ConfigMap. */
export const CA_BUNDLE_KEY = "ca.crt";

/** Labels the chart puts on the pods (its selector labels). */
export function podLabels(names: ReleaseNames): Record<string, string> {
  return {
    "app.kubernetes.io/name": "genesys-middleware-stack",
    "app.kubernetes.io/instance": names.release,
  };
}

/**
 * The chart's values for a stack: a pure function of the settings, tested on its own. It never
 * holds a secret: the client secret reaches the pods through the Secret named here.
 */
export function chartValues(
  settings: StackSettings,
  names: ReleaseNames,
  ingressClass: string,
): Record<string, unknown> {
  const { genesys } = settings;
  const { proxy, caBundle } = settings.network;
  return {
    fullnameOverride: names.release,
    image: {
      repository: settings.image.repository,
      tag: settings.image.tag,
      ...(settings.image.digest ? { digest: settings.image.digest } : {}),
      pullPolicy: settings.image.pullPolicy,
    },
    genesys: {
      region: genesys.region,
      ...(genesys.apiBaseUrl ? { apiBaseUrl: genesys.apiBaseUrl } : {}),
      ...(genesys.loginBaseUrl ? { loginBaseUrl: genesys.loginBaseUrl } : {}),
      clientId: genesys.clientId,
      contactListId: genesys.contactListId,
      pollingIntervalSeconds: genesys.pollingIntervalSeconds,
      tokenPoolSize: genesys.tokenPoolSize,
      rateLimitPerMinute: genesys.rateLimitPerMinute,
    },
    auth: { tokenRefreshBufferSeconds: genesys.tokenRefreshBufferSeconds },
    existingSecret: {
      name: names.secretName,
      clientSecretKey: "client-secret",
      webhookUsernameKey: "webhook-username",
      webhookPasswordKey: "webhook-password",
      oidcClientSecretKey: "oidc-client-secret",
      consoleSessionSecretKey: "console-session-secret",
    },
    import: {
      defaultCountry: settings.import.defaultCountry,
      phoneColumns: [...settings.import.phoneColumns],
      columns: [...settings.import.columns],
    },
    persistence: { existingClaim: names.claimName, mountPath: "/data" },
    logLevel: settings.environment === "prod" ? "info" : "debug",
    autoscaling: {
      enabled: true,
      minReplicas: settings.autoscaling.minReplicas,
      maxReplicas: settings.autoscaling.maxReplicas,
      targetCPUUtilizationPercentage: settings.autoscaling.targetCpuPercent,
    },
    ...(proxy
      ? {
          proxy: {
            httpsProxy: proxy.url,
            ...(proxy.noProxy.length > 0 ? { noProxy: [...proxy.noProxy] } : {}),
          },
        }
      : {}),
    ...(caBundle
      ? {
          extraCaCerts: { configMap: { name: names.caConfigMapName, key: CA_BUNDLE_KEY } },
          // Node reads the bundle only at start-up: a new bundle must roll the pods.
          podAnnotations: { "checksum/extra-ca-certs": createHash("sha256").update(caBundle).digest("hex") },
        }
      : {}),
    podDisruptionBudget: { enabled: true, minAvailable: settings.environment === "prod" ? 2 : 1 },
    console: settings.console
      ? {
          enabled: true,
          issuerUrl: settings.console.issuerUrl,
          clientId: settings.console.clientId,
          publicUrl: `https://${settings.ingress.host}`,
          allowedGroups: [...settings.console.allowedGroups],
          groupsClaim: settings.console.groupsClaim,
          scopes: settings.console.scopes,
        }
      : { enabled: false },
    ingress: settings.ingress.enabled
      ? {
          enabled: true,
          className: ingressClass,
          hosts: [{ host: settings.ingress.host, paths: [{ path: "/", pathType: "Prefix" }] }],
          tls: [{ secretName: settings.ingress.tlsSecretName, hosts: [settings.ingress.host] }],
        }
      : { enabled: false },
  };
}
