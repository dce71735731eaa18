import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { prometheusSetup } from "../../components/render/prometheus-config";
import type { ClusterModel } from "../../components/spec/build-cluster-spec";
import { freePort } from "../render/local-postgres";

/** Polls `probe` (errors count as "not yet") every 250 ms until it returns a value. */
export async function pollFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  seconds = 30,
): Promise<T> {
  for (let i = 0; i < seconds * 4; i++) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface LocalMonitoring {
  /** The Pushgateway's and Prometheus's base URLs. */
  readonly gateway: string;
  readonly prometheus: string;
  stop(): Promise<void>;
}

/**
 * Debian's Pushgateway and Prometheus on loopback, Prometheus configured by the stack's own
 * prometheusSetup with 1 s intervals and the rules file the caller wrote into `dir`. No
 * exporter runs: its targets are down, and the rules these tests read do not depend on them.
 */
export async function startLocalMonitoring(model: ClusterModel, dir: string): Promise<LocalMonitoring> {
  const processes: ChildProcess[] = [];
  const start = (argv: string[]) =>
    processes.push(spawn(argv[0] as string, argv.slice(1), { stdio: "ignore" }));
  const gatewayPort = await freePort();
  const gateway = `http://127.0.0.1:${gatewayPort}`;
  start([
    "/usr/bin/prometheus-pushgateway",
    `--web.listen-address=127.0.0.1:${gatewayPort}`,
    `--persistence.file=${join(dir, "pushgateway.data")}`,
  ]);
  const setup = prometheusSetup(model, {
    exporterAddress: () => "127.0.0.1:1",
    pushgateway: `127.0.0.1:${gatewayPort}`,
    rulesDir: dir,
    scrapeInterval: "1s",
    evaluationInterval: "1s",
  });
  writeFileSync(join(dir, "prometheus.yml"), stringify(setup.config));
  const prometheusPort = await freePort();
  const prometheus = `http://127.0.0.1:${prometheusPort}`;
  start([
    "/usr/bin/prometheus",
    `--config.file=${join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(dir, "tsdb")}`,
    `--web.listen-address=127.0.0.1:${prometheusPort}`,
  ]);
  const stop = async () => {
    for (const child of processes) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
    }
  };
  try {
    await pollFor("the Pushgateway", async () => ((await fetch(`${gateway}/-/ready`)).ok ? true : undefined));
    await pollFor("Prometheus", async () => ((await fetch(`${prometheus}/-/ready`)).ok ? true : undefined));
  } catch (error) {
    await stop();
    throw error;
  }
  return { gateway, prometheus, stop };
}
