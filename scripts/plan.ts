// The offline plan: `npm run plan -- --stack dev|prod [--out dir] [--config-file file] [--policy-config file]`.
// Reads Pulumi.<stack>.yaml without the CLI, builds the spec and writes what it renders (part
// one), then runs the real program under Pulumi's mock runtime and the policy pack's rules over
// what it registers (part two). No Pulumi CLI, Docker or cloud is needed.
// Exit codes: 0 planned, 1 mandatory policy violation, 2 bad configuration or usage, 3 the program failed.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { ConfigError } from "../components/config/config-error";
import { parseStackConfig } from "../components/config/parse-stack-config";
import { readStackFiles } from "../components/config/stack-files";
import { buildClusterSpec } from "../components/spec/build-cluster-spec";
import type { ClusterSpec } from "../components/spec/cluster-spec";
import { PACK_ENFORCEMENT, pgstackPolicies } from "../policies/rules/catalog";
import { captureProgram, toAnalyzed } from "./plan/capture-program";
import { evaluatePolicies, type PackConfig } from "./plan/evaluate-policies";
import { parsePlanOptions, UsageError } from "./plan/plan-options";
import { toProgramConfig } from "./plan/program-config";
import { writeRenderedFiles } from "./plan/rendered-files";
import { markdownSummary, textSummary } from "./plan/summary";
import { dockerSpecs, kubernetesManifests, plannedResources, resourceTree } from "./plan/workloads";

const PROJECT_DIR = join(__dirname, "..");
const PROJECT = "pgstack";

const EXIT = { violations: 1, config: 2, program: 3 } as const;

async function main(): Promise<number> {
  const options = parsePlanOptions(process.argv.slice(2), PROJECT_DIR);
  const { stack, outDir } = options;

  // Part one: config → spec → rendered files.
  let stackFiles: ReturnType<typeof readStackFiles>;
  try {
    stackFiles = readStackFiles(PROJECT_DIR, stack, options.configFile);
  } catch (error) {
    console.error(
      `cannot read the config of stack ${stack}: ${error instanceof Error ? error.message : String(error)}`,
    );
    return EXIT.config;
  }
  const { values, secretKeys } = stackFiles;
  let spec: ClusterSpec;
  try {
    spec = buildClusterSpec(parseStackConfig(values, secretKeys), { stack });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`${options.configFile ?? `Pulumi.${stack}.yaml`}: ${error.message}`);
      return EXIT.config;
    }
    throw error;
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
      program: join(PROJECT_DIR, "index.ts"),
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`the program refused the configuration: ${error.message}`);
      return EXIT.config;
    }
    console.error(
      `the program failed under the mock runtime: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
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
    `${JSON.stringify({ stack, policyConfig: relative(PROJECT_DIR, options.policyConfig), ...report }, null, 2)}\n`,
  );

  const input = { stack, spec, tree: resourceTree(captured), report, files: [...files, "summary.md"] };
  write("summary.md", markdownSummary(input));
  process.stdout.write(textSummary(input));
  console.log(`Plan written to ${relative(process.cwd(), outDir) || "."}`);
  if (report.mandatoryFailures.length > 0) {
    console.error(`mandatory policy violation(s): ${report.mandatoryFailures.join(", ")}`);
    return EXIT.violations;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof UsageError) {
      console.error(error.message);
      process.exit(EXIT.config);
    }
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(EXIT.program);
  },
);
