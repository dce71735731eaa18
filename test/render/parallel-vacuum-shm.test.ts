import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tune } from "../../components/spec/tuning";
import { GiB, MiB } from "../../components/spec/units";
import { tuningInput } from "../spec/tuning-input";
import {
  asPostgres,
  freePort,
  PG_BIN,
  postgresFile,
  postgresTempDir,
  type RunningPostgres,
  startPostgres,
} from "./local-postgres";

/**
 * A manual VACUUM of a table with several indexes runs in parallel and keeps its dead-tuple store
 * in /dev/shm. Real PostgreSQL 15 with the spec's settings for a 4GiB, 2-CPU member, in a private
 * /dev/shm (tmpfs) of exactly spec.resources.shmBytes; then in one sized as if only parallel
 * queries used it, which is what a pod got before: the same VACUUM fails there.
 */
const tuning = tune(
  tuningInput({ version: 15, memoryLimitBytes: 4 * GiB, cpus: 2, maxConnections: 200, workload: "web" }),
);
const setting = (name: string) => {
  const parameter = tuning.parameters.find((p) => p.name === name);
  if (!parameter) throw new Error(`the spec sets no ${name}`);
  return parameter.value;
};
const PARAMETERS = [
  "work_mem",
  "hash_mem_multiplier",
  "maintenance_work_mem",
  "max_worker_processes",
  "max_parallel_workers",
  "max_parallel_maintenance_workers",
  "dynamic_shared_memory_type",
];
/** 81,112 heap pages (18 rows a page): its dead-tuple store is 141MB, more than queries alone need. */
const ROWS = 1_460_000;

let server: RunningPostgres | undefined;
let root: string | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
  if (root) rmSync(root, { recursive: true, force: true });
});

async function vacuumUnder(shmBytes: number) {
  root = postgresTempDir("vacuum");
  const dataDir = join(root, "data");
  const initdb = asPostgres([join(PG_BIN, "initdb"), "-D", dataDir, "-A", "peer", "--no-sync"]);
  expect(initdb.status, initdb.stderr).toBe(0);
  const port = await freePort();
  postgresFile(
    join(root, "postgresql.conf"),
    [
      `data_directory = '${dataDir}'`,
      `hba_file = '${dataDir}/pg_hba.conf'`,
      `ident_file = '${dataDir}/pg_ident.conf'`,
      "listen_addresses = ''",
      `unix_socket_directories = '${root}'`,
      `port = ${port}`,
      ...PARAMETERS.map((name) => `${name} = '${setting(name)}'`),
      "",
    ].join("\n"),
  );
  server = await startPostgres(
    ["postgres", "-c", `config_file=${root}/postgresql.conf`],
    dataDir,
    root,
    port,
    {
      shmBytes,
    },
  );
  return asPostgres(
    [join(PG_BIN, "psql"), "-h", root, "-p", String(port), "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-X"],
    {
      input: [
        "create unlogged table t (id int, a int, b int) with (fillfactor = 10, autovacuum_enabled = off);",
        `insert into t select g, g, g from generate_series(1, ${ROWS}) g;`,
        "create index on t (id); create index on t (a); create index on t (b);",
        "delete from t where id % 10 = 0;",
        // VACUUM picks workers per index (one here: max_parallel_maintenance_workers).
        "vacuum (parallel 2, verbose) t;",
        "select count(*) from t;",
      ].join("\n"),
    },
  );
}

describe("/dev/shm sized by the spec", () => {
  it("holds a parallel VACUUM of a table with three indexes", { timeout: 120_000 }, async () => {
    expect(Number(setting("max_parallel_maintenance_workers"))).toBeGreaterThan(0);
    const result = await vacuumUnder(tuning.shmBytes);
    expect(result.stderr).toMatch(/launched 1 parallel vacuum worker for index vacuuming/);
    expect(result.stderr).not.toMatch(/ERROR/);
    expect(result.stdout).toMatch(new RegExp(`\\b${ROWS - ROWS / 10}\\b`));
    console.log(`parallel VACUUM of 81,112 pages in a ${tuning.shmBytes / MiB}MiB /dev/shm: ok`);
  });

  it("without the VACUUM share the same VACUUM fails (what the pods had)", { timeout: 120_000 }, async () => {
    const maintenance = Number.parseInt(setting("maintenance_work_mem"), 10) * MiB;
    expect(setting("maintenance_work_mem")).toMatch(/^\d+MB$/);
    const queriesOnly = tuning.shmBytes - maintenance;
    const result = await vacuumUnder(queriesOnly);
    expect(result.stderr).toMatch(/could not resize shared memory segment .* No space left on device/);
  });
});
