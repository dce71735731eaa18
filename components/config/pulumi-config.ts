import * as pulumi from "@pulumi/pulumi";
import { NAMESPACE, parseStackConfig } from "./parse-stack-config";
import type { StackConfig } from "./stack-config";

/**
 * The stack's `pgstack:*` config as the Pulumi engine hands it to the program, validated.
 * Runs before any resource is declared, so a bad value fails `pulumi preview` with the key,
 * the value and the fix, and nothing is deployed.
 */
export function stackConfigFromPulumi(): StackConfig {
  const all = pulumi.runtime.allConfig();
  const raw: Record<string, string> = {};
  const secretKeys = new Set<string>();
  for (const [fullKey, value] of Object.entries(all)) {
    if (!fullKey.startsWith(`${NAMESPACE}:`)) continue;
    raw[fullKey] = value;
    if (isConfigSecret(fullKey)) secretKeys.add(fullKey.slice(NAMESPACE.length + 1));
  }
  return parseStackConfig(raw, secretKeys);
}

/**
 * Whether the engine delivered a key encrypted. The SDK has this function but marks it
 * @internal (absent from its typings), so it is reached through a narrow cast.
 */
function isConfigSecret(fullKey: string): boolean {
  const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
  if (typeof runtime.isConfigSecret !== "function") {
    throw new Error(
      "@pulumi/pulumi no longer exposes runtime.isConfigSecret; pgstack cannot tell secret config apart",
    );
  }
  return runtime.isConfigSecret(fullKey);
}
