// The offline plan (`npm run plan`), as a function: scripts/plan.ts is its command line.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { ConfigError } from "../../components/config/config-error";
import { describeFailure } from "../../components/config/failure-report";
import { parseStackConfig } from "../../components/config/parse-stack-config";
import { readStackFiles, stackContext } from "../../components/config/stack-files";
import { buildClusterSpec } from "../../components/spec/build-cluster-spec";
import type { ClusterSpec } from "../../components/spec/cluster-spec";
import { PACK_ENFORCEMENT, pgstackPolicies } from "../../policies/rules/catalog";
import { captureProgram, toAnalyzed } from "./capture-program";
import { evaluatePolicies, type PackConfig } from "./evaluate-policies";
import { parsePlanOptions } from "./plan-options";
import { toProgramConfig } from "./program-config";
import { writeRenderedFiles } from "./rendered-files";
import { markdownSummary, textSummary } from "./summary";
import { dockerSpecs, kubernetesManifests, plannedResources, resourceTree } from "./workloads";

const PROJECT = "pgstack";
/** The program the plan runs: this repository's index.ts, whatever project dir the config is read from. */
const PROGRAM_DIR = join(__dirname, "..", "..");

export const EXIT = { violations: 1, config: 2, program: 3 } as const;

/** Where the plan reads the project and writes its messages; the CLI passes the repository and the process's streams. */
export interface PlanEnvironment {
  readonly projectDir: string;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/**
 * The plan, as `npm run plan` runs it: returns the exit code. A refused config returns before
 * anything is written and before the program runs, so no resource is ever registered for it.
 */
export async function runPlan(argv: readonly string[], env: PlanEnvironment): Promise<number> {
  const { projectDir } = env;
  const options = parsePlanOptions(argv, projectDir);
  const { stack, outDir } = options;

  // Part one: config → spec → rendered files.
  let stackFiles: ReturnType<typeof readStackFiles>;
  try {
    stackFiles = readStackFiles(projectDir, stack, options.configFile);
  } catch (error) {
    env.err(`${unreadableConfig(projectDir, stack, options.configFile, error)}\n`);
    return EXIT.config;
  }
  const { values, secretKeys } = stackFiles;
  let spec: ClusterSpec;
  try {
    spec = buildClusterSpec(parseStackConfig(values, secretKeys), {
      stack,
      context: stackContext(projectDir, stack, values),
    });
  } catch (error) {
    env.err(
      `${error instanceof ConfigError ? `${options.configFile ?? `Pulumi.${stack}.yaml`}: ` : ""}${describeFailure(error)}\n`,
    );
    return error instanceof ConfigError ? EXIT.config : EXIT.program;
  }
  const files = writeRenderedFiles(outDir, spec);

  // Part two: the real program under mocks, and the policies over what it registers.
  const program = toProgramConfig(values, secretKeys, PROJECT);
  let captured: Awaited<ReturnType<typeof captureProgram>>;
  try {
    captured = await captureProgram({
      project: PROJECT,
      stack,
      ...program,
      program: join(PROGRAM_DIR, "index.ts"),
    });
  } catch (error) {
    // The program reports through RunError (no trace); its cause says whether the config was refused.
    const cause = (error as { cause?: unknown } | undefined)?.cause ?? error;
    if (cause instanceof ConfigError) {
      env.err(`the program refused the configuration: ${cause.message}\n`);
      return EXIT.config;
    }
    env.err(`the program failed under the mock runtime: ${describeFailure(cause)}\n`);
    return EXIT.program;
  }
  const write = (name: string, content: string) => {
    writeFileSync(join(outDir, name), content);
    files.push(name);
  };
  write("resources.json", `${JSON.stringify(plannedResources(captured), null, 2)}\n`);
  const manifests = kubernetesManifests(captured);
  if (manifests) write("manifests.yaml", manifests);
  const containers = dockerSpecs(captured);
  if (containers) write("containers.yaml", containers);

  const packConfig: PackConfig = existsSync(options.policyConfig)
    ? JSON.parse(readFileSync(options.policyConfig, "utf8"))
    : {};
  const report = await evaluatePolicies(pgstackPolicies, toAnalyzed(captured), packConfig, PACK_ENFORCEMENT);
  write(
    "policy-report.json",
    `${JSON.stringify({ stack, policyConfig: relative(projectDir, options.policyConfig), ...report }, null, 2)}\n`,
  );

  const input = { stack, spec, tree: resourceTree(captured), report, files: [...files, "summary.md"] };
  write("summary.md", markdownSummary(input));
  env.out(textSummary(input));
  env.out(`Plan written to ${relative(process.cwd(), outDir) || "."}\n`);
  if (report.mandatoryFailures.length > 0) {
    env.err(`mandatory policy violation(s): ${report.mandatoryFailures.join(", ")}\n`);
    return EXIT.violations;
  }
  return 0;
}

/** Why the stack's config cannot be read, with the stacks that can. */
function unreadableConfig(
  projectDir: string,
  stack: string,
  configFile: string | undefined,
  error: unknown,
): string {
  const reason = error instanceof Error ? error.message : String(error);
  if ((error as { code?: string }).code === "ENOENT") {
    const stacks = readdirSync(projectDir)
      .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
      .filter((name): name is string => name !== undefined);
    return `cannot read the config of stack ${stack}: ${configFile ?? `Pulumi.${stack}.yaml`} does not exist; the stacks are ${stacks.join(", ")} (or create it: pulumi stack init ${stack})`;
  }
  return `cannot read the config of stack ${stack}: ${reason.split("\n")[0]}\nfix: correct the YAML of ${configFile ?? `Pulumi.${stack}.yaml`} (pulumi config set rewrites it correctly)`;
}
