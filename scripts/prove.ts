import { parseArgs } from "node:util";
import {
  type LocalStack,
  type ProvingStackName,
  prepareLocalStack,
} from "../test/proving/harness/local-stack";
import { PROOFS } from "../test/proving/harness/proofs";
import { ProvingCluster } from "../test/proving/harness/proving-cluster";

/**
 * npm run prove -- --stack dev|prod
 * Runs a stack's rendered configuration against real PostgreSQL 15, pgBackRest and S3 (s3rver)
 * on 127.0.0.1, one line per proof with what it measured. Exit 1 when a proof fails.
 * --keep leaves the run's files (configs, data dirs, logs) in place for diagnosis; the processes
 * are stopped all the same.
 */
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { stack: { type: "string", default: "dev" }, keep: { type: "boolean", default: false } },
  });
  const stack = values.stack;
  if (stack !== "dev" && stack !== "prod") {
    console.error(`--stack must be dev or prod, got ${JSON.stringify(stack)}`);
    return 2;
  }
  let local: LocalStack | undefined;
  const stop = async () => {
    await local?.dispose({ keepFiles: values.keep });
    if (local && values.keep) console.log(`files kept in ${local.site.root}`);
  };
  process.once("SIGINT", () => {
    void stop().finally(() => process.exit(130));
  });
  let passed = 0;
  let failed = 0;
  try {
    const started = Date.now();
    local = await prepareLocalStack(stack as ProvingStackName);
    const cluster = new ProvingCluster(local);
    await cluster.startPrimary();
    console.log(`pgstack prove: stack ${stack}, primary up in ${seconds(Date.now() - started)}`);
    for (const proof of PROOFS) {
      const proofStarted = Date.now();
      try {
        const { figure } = await proof.run(cluster);
        passed++;
        console.log(`ok   ${proof.id} ${proof.title}: ${figure} [${seconds(Date.now() - proofStarted)}]`);
      } catch (error) {
        failed++;
        const message = error instanceof Error ? error.message : String(error);
        console.log(`FAIL ${proof.id} ${proof.title} [${seconds(Date.now() - proofStarted)}]: ${message}`);
      }
    }
  } catch (error) {
    failed++;
    console.log(`FAIL setup: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await stop();
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then((code) => process.exit(code));
