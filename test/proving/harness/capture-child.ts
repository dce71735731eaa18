import { readFileSync, writeFileSync } from "node:fs";
import { captureStack } from "./captured-stack";
import { TlsProvider } from "./tls-provider";

/**
 * tsx capture-child.ts STACK CONFIG_JSON TLS_FILE OUT_FILE: captures the stack's program with
 * its config changed (captured-stack.ts captureChanged) and writes the resources to OUT_FILE.
 */
async function main(): Promise<void> {
  const [stack, config, tlsFile, out] = process.argv.slice(2);
  const tls = TlsProvider.restore(readFileSync(tlsFile, "utf8"));
  const captured = await captureStack(stack, { config: JSON.parse(config), tls });
  writeFileSync(out, JSON.stringify(captured.resources), { mode: 0o600 });
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
