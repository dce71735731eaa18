import { shellCommand } from "../../components/render/shell-quote";
import type { ProvingCluster } from "../../test/proving/harness/proving-cluster";

/**
 * The backup runner's full backup (its own OS user, through the primary's pgBackRest TLS server,
 * to S3), the command its schedule runs, without the verify the schedule runs after it: verify
 * reads every backup and archived segment of the repository, which after the benchmark's runs
 * takes minutes of its own and is no part of the time to recover.
 */
export async function runnerFullBackup(cluster: ProvingCluster): Promise<number> {
  const runner = cluster.runtime
    .runningContainers()
    .find((container) => container.name.endsWith("backup-runner"));
  if (!runner) throw new Error("the backup runner is not running");
  const started = Date.now();
  const result = await runner.exec(["/bin/sh", "-c", shellCommand(cluster.spec.commands.runnerBackupFull)], {
    timeoutMs: 3_600_000,
  });
  if (result.code !== 0)
    throw new Error(
      `the runner's full backup failed (exit ${result.code}):\n${result.stdout}${result.stderr}`,
    );
  return (Date.now() - started) / 1000;
}
