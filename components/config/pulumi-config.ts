import { isAbsolute } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "./config-error";
import { DEBUG_VARIABLE, describeFailure } from "./failure-report";
import { NAMESPACE, parseStackConfig } from "./parse-stack-config";
import type { StackConfig } from "./stack-config";
import type { StackContext } from "./stack-context-rules";
import { stackContext } from "./stack-files";

/**
 * The stack's `pgstack:*` config as the Pulumi engine hands it to the program, validated.
 * Runs before any resource is declared, so a bad value fails `pulumi preview` with the key,
 * the value and the fix, and nothing is deployed.
 */
export function stackConfigFromPulumi(): StackConfig {
  const all = pulumi.runtime.allConfig();
  const secretKeys = new Set<string>();
  for (const fullKey of Object.keys(all)) {
    if (fullKey.startsWith(`${NAMESPACE}:`) && isConfigSecret(fullKey)) {
      secretKeys.add(fullKey.slice(NAMESPACE.length + 1));
    }
  }
  // Every namespace goes in: keys of others are ignored, but a near-miss of pgstack's is refused.
  const raw = all;
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

/**
 * The context of the running stack: aws:region as the engine hands it over, and the project's
 * other stacks from the stack files beside Pulumi.yaml (the engine runs the program in the
 * project directory; the SDK names it when it knows it).
 */
export function stackContextFromPulumi(): StackContext {
  // The engine sets the root directory; the mock runtime leaves a placeholder ("rootDirectory").
  const root = pulumi.runtime.getRootDirectory();
  const projectDir = isAbsolute(root) ? root : process.cwd();
  return stackContext(projectDir, pulumi.getStack(), pulumi.runtime.allConfig());
}

/**
 * Runs part of the program so that nothing it throws reaches the user as a stack trace: the
 * engine prints a RunError's message alone. Config errors keep their key, value and fix.
 */
export function withoutStackTrace<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (process.env[DEBUG_VARIABLE] === "1" && !(error instanceof ConfigError)) throw error;
    const refusal = new pulumi.RunError(describeFailure(error, false));
    (refusal as { cause?: unknown }).cause = error;
    throw refusal;
  }
}
