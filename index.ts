import * as pulumi from "@pulumi/pulumi";
import { GenesysMiddlewareStack } from "./components/stack";
import { resolvePlatform } from "./stacks/platform";
import { PROJECT, readStackSettings } from "./stacks/settings";

/**
 * The Pulumi program: reads and validates the stack's config (every problem at once, before any
 * resource exists), resolves the platform stack, builds the stack component and exports what
 * other teams read through stack references. Secret outputs stay secret.
 */
export = async () => {
  const secretKeys = new Set<string>(JSON.parse(process.env.PULUMI_CONFIG_SECRET_KEYS ?? "[]") as string[]);
  const settings = readStackSettings(pulumi.runtime.allConfig(), secretKeys, pulumi.getStack());
  const platform = await resolvePlatform(settings);
  const config = new pulumi.Config(PROJECT);
  const stack = new GenesysMiddlewareStack("genesys", {
    settings,
    platform,
    ...(settings.secrets.vaultLogin === "jwt" && settings.secrets.mode === "vault"
      ? { vaultJwt: config.requireSecret("vaultJwt") }
      : {}),
    ...(config.get("vaultToken") !== undefined ? { vaultToken: config.requireSecret("vaultToken") } : {}),
  });
  return {
    namespace: stack.namespace,
    serviceName: stack.serviceName,
    servicePort: stack.servicePort,
    metricsEndpoint: stack.metricsEndpoint,
    secretName: stack.secretName,
    claimName: stack.claimName,
    egressDestinations: stack.egressDestinations,
    webhookUrl: stack.webhookUrl,
    consoleUrl: stack.consoleUrl,
    webhookPassword: stack.webhookPassword,
  };
};
