import type { Rule } from "../lib";
import deprecatedApi from "./deprecated-api";
import egressRestricted from "./egress-restricted";
import genesysEndpoint from "./genesys-endpoint";
import hpaSane from "./hpa-sane";
import ingressTls from "./ingress-tls";
import networkPolicyRequired from "./network-policy-required";
import noSecretInValues from "./no-secret-in-values";
import pinnedVersions from "./pinned-versions";
import podSecurity from "./pod-security";
import probesRequired from "./probes-required";
import resourcesRequired from "./resources-required";
import secretEnvFromSecretRef from "./secret-env-from-secret-ref";
import servicemonitorRequired from "./servicemonitor-required";
import sharedVolumeRwx from "./shared-volume-rwx";
import tokenRefreshBuffer from "./token-refresh-buffer";

/** Every rule of the pack, in the order reports list them. */
export const RULES: ReadonlyArray<Rule<any>> = [
  noSecretInValues,
  secretEnvFromSecretRef,
  egressRestricted,
  networkPolicyRequired,
  hpaSane,
  resourcesRequired,
  deprecatedApi,
  pinnedVersions,
  probesRequired,
  podSecurity,
  sharedVolumeRwx,
  ingressTls,
  servicemonitorRequired,
  genesysEndpoint,
  tokenRefreshBuffer,
];
