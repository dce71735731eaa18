import { parseArgs } from "node:util";
import { PROOFS } from "../test/proving/harness/proofs";
import { ProvingCluster, type ProvingStackName } from "../test/proving/harness/proving-cluster";

/**
 * npm run prove -- --stack dev|prod
 * Runs a stack as its platform runs it (each container's own command as PID 1 of its own
 * namespaces, its files at their paths, its own network and memory limit) against real
 * PostgreSQL 15, pgBackRest and an S3 stand-in, one line per proof with what it measured.
 * Exit 1 when a proof fails. Needs root (namespaces, cgroups).
 * --only 5,7 runs just those proofs (by number), after deploying the primary.
 * --keep leaves the run's files (configs, data dirs, logs) in place for diagnosis; the processes
 * are stopped all the same.
 */
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      stack: { type: "string", default: "dev" },
      keep: { type: "boolean", default: false },
      only: { type: "string" },
    },
  });
  const stack = values.stack;
  if (stack !== "dev" && stack !== "prod") {
    console.error(`--stack must be dev or prod, got ${JSON.stringify(stack)}`);
    return 2;
  }
  let cluster: ProvingCluster | undefined;
  const stop = async () => {
    await cluster?.dispose({ keepFiles: values.keep });
    if (cluster && values.keep) console.log("files kept (see the run's directory under the system temp dir)");
  };
  process.once("SIGINT", () => {
    void stop().finally(() => process.exit(130));
  });
  let passed = 0;
  let failed = 0;
  try {
    const started = Date.now();
    cluster = await ProvingCluster.prepare(stack as ProvingStackName);
    await cluster.startPrimary();
    console.log(`pgstack prove: stack ${stack}, primary up in ${seconds(Date.now() - started)}`);
    // --only 5,7: just those proofs, in their order (each still starts from the deployed primary).
    const only = values.only?.split(",").map((id) => Number(id.trim()));
    for (const proof of PROOFS.filter((candidate) => !only || only.includes(candidate.id))) {
      const proofStarted = Date.now();
      try {
        const { figure } = await proof.run(cluster as ProvingCluster);
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
