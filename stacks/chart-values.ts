import { createHash } from "node:crypto";
import { SECRET_KEYS } from "../app/src/shared/settings";
import { mergeValues } from "./merge-values";
import type { StackSettings } from "./settings";

/** Names shared by the chart values, the components and the stack outputs. */
export interface ReleaseNames {
  /** Release name; also the chart's fullnameOverride, so the Service and ServiceAccount carry it. */
  readonly release: string;
  readonly secretName: string;
  readonly claimName: string;
  /** ConfigMap holding the extra CA bundle (network.caBundle), under CA_BUNDLE_KEY. */
  readonly caConfigMapName: string;
}

/** The names every stack uses. */
export const RELEASE_NAMES: ReleaseNames = {
  release: "genesys-sync",
  secretName: "genesys-integration-secrets",
  claimName: "genesys-sync-data",
  caConfigMapName: "genesys-sync-ca",
};

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
 * The chart's values for a stack: the service's values from the stack (settings.values, the
 * environment's defaults merged in), then what Pulumi decides (names, image, Secret, claim,
 * proxy, CA, ingress, import routes). A pure function of the settings, tested on its own. It never holds a
 * secret: the client secret reaches the pods through the Secret named here.
 */
export function chartValues(
  settings: StackSettings,
  names: ReleaseNames,
  ingressClass: string,
): Record<string, unknown> {
  const { proxy, caBundle } = settings.network;
  const { ingress } = settings;
  return mergeValues(settings.values, {
    fullnameOverride: names.release,
    image: {
      repository: settings.image.repository,
      tag: settings.image.tag,
      ...(settings.image.digest ? { digest: settings.image.digest } : {}),
      pullPolicy: settings.image.pullPolicy,
    },
    existingSecret: {
      name: names.secretName,
      ...SECRET_KEYS,
    },
    persistence: { existingClaim: names.claimName, mountPath: "/data" },
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
    // None declared, no `routes` at all: the release renders as it did before routes existed.
    ...(settings.routes.length > 0 ? { routes: settings.routes } : {}),
    console:
      settings.console && ingress.enabled ? { publicUrl: `https://${ingress.host}` } : { enabled: false },
    ingress: ingress.enabled
      ? {
          enabled: true,
          className: ingressClass,
          hosts: [{ host: ingress.host, paths: [{ path: "/", pathType: "Prefix" }] }],
          tls: [{ secretName: ingress.tlsSecretName, hosts: [ingress.host] }],
        }
      : { enabled: false },
  });
}
