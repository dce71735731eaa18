import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";
import { parseDocument } from "yaml";
import { readStackFiles } from "../../components/config/stack-files";
import { providerMocks } from "../../scripts/plan/capture-program";
import { toProgramConfig } from "../../scripts/plan/program-config";
import { runPlan } from "../../scripts/plan/run-plan";

/**
 * A copy of the project's config (Pulumi.yaml and every stack file) with edits, and the two ways
 * a stack is deployed from it, run in this process: the offline plan (`npm run plan`) and the
 * program itself (index.ts) under Pulumi's mock runtime, counting what it registers.
 */

export const ROOT = join(__dirname, "..", "..");
const PROGRAM = join(ROOT, "index.ts");

/** Edits to one stack file: keys to set (YAML values; `{ secure: ... }` for a secret) and keys to remove. */
export interface StackEdit {
  /** Copy this stack's file first (to add a stack, e.g. a third one that collides). */
  readonly from?: string;
  readonly set?: Readonly<Record<string, unknown>>;
  readonly remove?: readonly string[];
}

/** A value as `pulumi config set --secret` leaves it in a stack file (the plan never decrypts it). */
export const secure = (ciphertext = "v1:AAAAAAAAAAAAAAAA:BBBBBBBBBBBBBBBBBBBBBBBB") => ({
  secure: ciphertext,
});

/** A temporary project directory: Pulumi.yaml, and the stack files with the edits applied. */
export function projectWith(edits: Readonly<Record<string, StackEdit>>): string {
  const dir = mkdtempSync(join(tmpdir(), "pgstack-threat-"));
  copyFileSync(join(ROOT, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
  for (const stack of ["dev", "prod"])
    copyFileSync(join(ROOT, `Pulumi.${stack}.yaml`), join(dir, `Pulumi.${stack}.yaml`));
  for (const [stack, edit] of Object.entries(edits)) {
    const source = join(edit.from ? ROOT : dir, `Pulumi.${edit.from ?? stack}.yaml`);
    const document = parseDocument(readFileSync(source, "utf8"));
    for (const key of edit.remove ?? []) document.deleteIn(["config", key]);
    for (const [key, value] of Object.entries(edit.set ?? {})) document.setIn(["config", key], value);
    writeFileSync(join(dir, `Pulumi.${stack}.yaml`), document.toString());
  }
  return dir;
}

export interface PlanRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Whether the plan wrote anything. */
  readonly wroteOutput: boolean;
}

/** `npm run plan -- --stack <stack>` over a project directory, in this process. */
export async function planStack(projectDir: string, stack: string): Promise<PlanRun> {
  const out = join(projectDir, "plan-out");
  let stdout = "";
  let stderr = "";
  const code = await runPlan(["--stack", stack, "--out", out], {
    projectDir,
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
  });
  return { code, stdout, stderr, wroteOutput: existsSync(out) };
}

export interface ProgramRun {
  /** What the program threw while it was loaded, if anything. */
  readonly error?: unknown;
  /** Resources (custom and component) the program registered. */
  readonly registered: number;
}

/**
 * index.ts as `pulumi preview` would run it in the project directory: the stack's config as the
 * engine hands it over (strings, secrets flagged), Pulumi's mock runtime, a fresh module
 * registry so the program runs again, and the count of what it registered.
 */
export async function runProgram(projectDir: string, stack: string): Promise<ProgramRun> {
  await pulumi.runtime.setMocks(providerMocks, "pgstack", stack, false);
  const { values, secretKeys } = readStackFiles(projectDir, stack);
  const config = toProgramConfig(values, secretKeys, "pgstack");
  pulumi.runtime.setAllConfig(config.config, config.secretKeys);
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    getRegisteredResources(): Map<string, unknown>;
  };
  const cwd = process.cwd();
  process.chdir(projectDir);
  vi.resetModules();
  let error: unknown;
  try {
    await import(PROGRAM);
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  } catch (thrown) {
    error = thrown;
  } finally {
    process.chdir(cwd);
  }
  return { error, registered: monitor.getRegisteredResources().size };
}

/** A line of a stack trace ("    at f (file:1:2)"). */
export const STACK_FRAME = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;
