import { describe, expect, it } from "vitest";
import { CONF_SECTIONS, type ConfParameter } from "../../components/spec/cluster-spec";
import { defaultMaxConnections, type TuningInput, tune } from "../../components/spec/tuning";
import { GiB, MiB, TiB } from "../../components/spec/units";
import { layout, tuningInput } from "./tuning-input";

function conf(input: TuningInput): Record<string, string> {
  return Object.fromEntries(tune(input).parameters.map((parameter) => [parameter.name, parameter.value]));
}

function parameter(input: TuningInput, name: string): ConfParameter {
  const found = tune(input).parameters.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`${name} is not written`);
  return found;
}

/**
 * Expected values worked out by hand from PGTune's formulas (le0pard/pgtune,
 * src/features/configuration/configurationSlice.js) for the same inputs, in kB as PGTune
 * computes them. `pgtuneWorkMem` is PGTune's work_mem; `workMem` is pgstack's, equal unless the
 * memory budget or pgstack's 1MB floor decides otherwise.
 */
const PGTUNE_CASES: readonly {
  readonly title: string;
  readonly input: Partial<TuningInput>;
  readonly expected: Record<string, string>;
  readonly pgtuneWorkMem: string;
  readonly workMem: string;
}[] = [
  {
    title: "8GiB, 4 CPUs, oltp, 200 connections, ssd (the prod stack)",
    input: {},
    expected: {
      shared_buffers: "2GB",
      effective_cache_size: "6GB",
      maintenance_work_mem: "512MB",
      checkpoint_completion_target: "0.9",
      wal_buffers: "16MB",
      default_statistics_target: "100",
      random_page_cost: "1.1",
      effective_io_concurrency: "200",
      huge_pages: "off",
      min_wal_size: "2GB",
      max_wal_size: "8GB",
      max_worker_processes: "4",
      max_parallel_workers_per_gather: "2",
      max_parallel_workers: "4",
      max_parallel_maintenance_workers: "2",
    },
    // (8388608 − 2097152) / ((200 + 4) × 3) = 10280.1
    pgtuneWorkMem: "10280kB",
    // Under full load 204 × 10280kB × 2 does not fit beside the rest: the budget gives 9776kB.
    workMem: "9776kB",
  },
  {
    title: "64GiB, 16 CPUs, dw, 40 connections, hdd",
    input: {
      memoryLimitBytes: 64 * GiB,
      cpus: 16,
      workload: "dw",
      maxConnections: 40,
      storageMedium: "hdd",
      storageBytes: TiB,
    },
    expected: {
      shared_buffers: "16GB",
      effective_cache_size: "48GB",
      maintenance_work_mem: "2GB",
      wal_buffers: "16MB",
      default_statistics_target: "500",
      random_page_cost: "4",
      effective_io_concurrency: "2",
      huge_pages: "try",
      min_wal_size: "4GB",
      max_wal_size: "16GB",
      max_worker_processes: "16",
      max_parallel_workers_per_gather: "8",
      max_parallel_workers: "16",
      max_parallel_maintenance_workers: "4",
    },
    // (67108864 − 16777216) / ((40 + 16) × 3) / 2 = 149796.6
    pgtuneWorkMem: "149796kB",
    workMem: "149796kB",
  },
  {
    title: "1GiB, 4 CPUs, mixed, 100 connections, san",
    input: { memoryLimitBytes: 1 * GiB, workload: "mixed", maxConnections: 100, storageMedium: "san" },
    expected: {
      shared_buffers: "256MB",
      effective_cache_size: "768MB",
      maintenance_work_mem: "64MB",
      wal_buffers: "7864kB",
      default_statistics_target: "100",
      random_page_cost: "1.1",
      effective_io_concurrency: "300",
      huge_pages: "off",
      min_wal_size: "1GB",
      max_wal_size: "4GB",
      max_worker_processes: "4",
      max_parallel_workers_per_gather: "2",
      max_parallel_workers: "4",
      max_parallel_maintenance_workers: "2",
    },
    // (1048576 − 262144) / ((100 + 4) × 3) / 2 = 1260.3
    pgtuneWorkMem: "1260kB",
    workMem: "1260kB",
  },
  {
    title: "4GiB, 4 CPUs, desktop, 20 connections",
    input: { memoryLimitBytes: 4 * GiB, workload: "desktop", maxConnections: 20 },
    expected: {
      shared_buffers: "256MB",
      effective_cache_size: "1GB",
      maintenance_work_mem: "256MB",
      wal_buffers: "7864kB",
      min_wal_size: "100MB",
      max_wal_size: "2GB",
    },
    // (4194304 − 262144) / ((20 + 4) × 3) / 6 = 9102.2
    pgtuneWorkMem: "9102kB",
    workMem: "9102kB",
  },
  {
    title: "4GiB, 4 CPUs, desktop, 300 connections: PGTune's work_mem is below pgstack's 1MB floor",
    input: { memoryLimitBytes: 4 * GiB, workload: "desktop", maxConnections: 300 },
    expected: { shared_buffers: "256MB" },
    // (4194304 − 262144) / ((300 + 4) × 3) / 6 = 718.6
    pgtuneWorkMem: "718kB",
    workMem: "1MB",
  },
];

describe("PGTune parity", () => {
  for (const { title, input, expected, pgtuneWorkMem, workMem } of PGTUNE_CASES) {
    it(title, () => {
      const values = conf(tuningInput(input));
      for (const [name, value] of Object.entries(expected))
        expect({ name, value: values[name] }).toEqual({ name, value });
      expect(values.work_mem).toBe(workMem);
      const reason = parameter(tuningInput(input), "work_mem").reason;
      if (workMem === pgtuneWorkMem) expect(reason).toMatch(/^PGTune: /);
      else expect(reason).toContain(`gives ${pgtuneWorkMem}`);
    });
  }

  it("uses PGTune's default max_connections per workload", () => {
    expect(["web", "oltp", "dw", "desktop", "mixed"].map((w) => defaultMaxConnections(w as never))).toEqual([
      200, 300, 40, 20, 100,
    ]);
  });

  it("sizes memory from the container limit given, whatever the host has", () => {
    expect(conf(tuningInput({ memoryLimitBytes: 3 * GiB })).shared_buffers).toBe("768MB");
    expect(parameter(tuningInput({ memoryLimitBytes: 3 * GiB }), "shared_buffers").reason).toBe(
      "25% of the 3GiB container limit (PGTune)",
    );
  });
});

describe("where pgstack deliberately differs from PGTune", () => {
  it("bounds max_wal_size by 10% of a small volume (PGTune would keep 4GB of WAL on a 10GiB disk)", () => {
    const values = conf(tuningInput({ workload: "web", storageBytes: 10 * GiB }));
    expect(values.max_wal_size).toBe("1GB");
    expect(values.min_wal_size).toBe("256MB");
  });

  it("gives 2–3 CPUs one worker per query and 1 CPU none, where PGTune keeps PostgreSQL's 8/2", () => {
    const two = conf(tuningInput({ cpus: 2 }));
    expect([two.max_worker_processes, two.max_parallel_workers, two.max_parallel_workers_per_gather]).toEqual(
      ["8", "2", "1"],
    );
    const one = conf(tuningInput({ cpus: 1 }));
    expect([
      one.max_parallel_workers,
      one.max_parallel_workers_per_gather,
      one.max_parallel_maintenance_workers,
    ]).toEqual(["0", "0", "0"]);
  });

  it("caps autovacuum_work_mem so that its workers fit the budget", () => {
    const values = conf(tuningInput());
    expect(values.autovacuum_work_mem).toBe("128MB");
    expect(values.autovacuum_max_workers).toBe("3");
  });
});

describe("WAL, archiving and replication", () => {
  it("writes what archiving and replicas need", () => {
    const values = conf(tuningInput({ replicas: 2, storageBytes: 100 * GiB }));
    expect(values).toMatchObject({
      wal_level: "replica",
      archive_mode: "on",
      archive_timeout: "1min",
      max_wal_senders: "5",
      max_replication_slots: "4",
      max_slot_wal_keep_size: "20GB",
      hot_standby: "on",
      hot_standby_feedback: "on",
      wal_compression: "lz4",
      wal_log_hints: "on",
      checkpoint_timeout: "15min",
    });
  });

  it("keeps senders and slots for a pg_basebackup even without replicas", () => {
    const values = conf(tuningInput({ replicas: 0 }));
    expect([values.max_wal_senders, values.max_replication_slots]).toEqual(["3", "2"]);
  });

  it("takes archive_timeout from the archive spec", () => {
    const input = tuningInput();
    expect(conf({ ...input, archive: { ...input.archive, archiveTimeoutSeconds: 30 } }).archive_timeout).toBe(
      "30s",
    );
  });
});

describe("parameters pgstack owns", () => {
  it("derives them from the layout and the stanza", () => {
    const local = {
      ...layout,
      port: 6543,
      socketDir: "/tmp/pg",
      configDir: "/srv/conf",
      pgbackrestConfigDir: "/srv/br",
      pgbackrestIncludeDir: "/srv/br/secrets",
    };
    const values = conf(tuningInput({ layout: local }));
    expect(values).toMatchObject({
      listen_addresses: "*",
      port: "6543",
      unix_socket_directories: "/tmp/pg",
      hba_file: "/srv/conf/pg_hba.conf",
      // The include dir (cipher pass, S3 keys) is read only when named on the command line.
      archive_command:
        "pgbackrest --config=/srv/br/pgbackrest.conf --config-include-path=/srv/br/secrets --stanza=pgstack-test archive-push %p",
      restore_command:
        'pgbackrest --config=/srv/br/pgbackrest.conf --config-include-path=/srv/br/secrets --stanza=pgstack-test archive-get %f "%p"',
      logging_collector: "off",
      log_destination: "stderr",
      password_encryption: "scram-sha-256",
    });
    expect(
      tune(tuningInput())
        .parameters.filter((p) => p.source === "fixed")
        .map((p) => p.name),
    ).toContain("archive_command");
  });

  it("turns TLS on with the files under the layout's TLS directory, or off without them", () => {
    const on = conf(tuningInput({ tls: true, layout: { ...layout, tlsDir: "/tls" } }));
    expect(on).toMatchObject({
      ssl: "on",
      ssl_cert_file: "/tls/server.crt",
      ssl_key_file: "/tls/server.key",
      ssl_ca_file: "/tls/ca.crt",
    });
    const off = conf(tuningInput({ tls: false }));
    expect(off.ssl).toBe("off");
    expect(off.ssl_cert_file).toBeUndefined();
  });
});

describe("operational settings", () => {
  it("sets timeouts, logging, autovacuum and pg_stat_statements", () => {
    expect(conf(tuningInput())).toMatchObject({
      statement_timeout: "1min",
      lock_timeout: "10s",
      idle_in_transaction_session_timeout: "5min",
      deadlock_timeout: "1s",
      log_min_duration_statement: "1s",
      log_lock_waits: "on",
      log_checkpoints: "on",
      log_connections: "on",
      log_disconnections: "on",
      log_autovacuum_min_duration: "1s",
      log_line_prefix: "%m [%p] %quser=%u,db=%d,app=%a,client=%h ",
      autovacuum: "on",
      shared_preload_libraries: "pg_stat_statements",
      "pg_stat_statements.max": "10000",
      "pg_stat_statements.track": "all",
    });
  });

  it("lets analytical workloads run long queries", () => {
    expect(conf(tuningInput({ workload: "dw" })).statement_timeout).toBe("0");
  });
});

describe("every parameter", () => {
  it("has one name, a one-line reason, a known section and a source, in section order", () => {
    for (const input of [tuningInput(), tuningInput({ version: 15, tls: false, workload: "dw", cpus: 1 })]) {
      const { parameters } = tune(input);
      expect(new Set(parameters.map((p) => p.name)).size).toBe(parameters.length);
      for (const p of parameters) {
        expect(p.reason.length, p.name).toBeGreaterThan(10);
        expect(p.reason, p.name).not.toMatch(/\n/);
        expect(p.value, p.name).not.toMatch(/\n/);
        expect(CONF_SECTIONS).toContain(p.section);
        expect(["computed", "fixed", "override"]).toContain(p.source);
      }
      const order = parameters.map((p) => CONF_SECTIONS.indexOf(p.section));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
  });

  it("is deterministic", () => {
    expect(tune(tuningInput())).toEqual(tune(tuningInput()));
  });
});

describe("shmBytes", () => {
  it("covers the parallel workers' shared hash tables, one parallel VACUUM's dead tuples and 64MiB headroom", () => {
    // 4 workers + 2 leaders, each 9776kB × 2, + 4 × 1MiB queues, + maintenance_work_mem (512MiB,
    // a parallel VACUUM's dead-tuple store) + 64MiB, rounded up to MiB.
    const expected = Math.ceil((6 * 9776 * 1024 * 2 + 4 * MiB + 512 * MiB + 64 * MiB) / MiB) * MiB;
    expect(tune(tuningInput()).shmBytes).toBe(expected);
  });

  it("holds at most 1GB of dead tuples before PostgreSQL 17, all of maintenance_work_mem from 17", () => {
    // dw on 32GiB: maintenance_work_mem is 2GB.
    const input = { workload: "dw" as const, memoryLimitBytes: 32 * GiB, cpus: 8, maxConnections: 40 };
    const v16 = tune(tuningInput({ ...input, version: 16 })).shmBytes;
    const v17 = tune(tuningInput({ ...input, version: 17 })).shmBytes;
    expect(v17 - v16).toBe(1 * GiB);
  });

  it("drops the VACUUM term when parallel maintenance is off", () => {
    const on = tune(tuningInput()).shmBytes;
    const off = tune(tuningInput({ overrides: ["max_parallel_maintenance_workers=0"] })).shmBytes;
    expect(on - off).toBe(512 * MiB);
  });

  it("is 64MiB when there is no parallel query, whatever shared_buffers is", () => {
    expect(tune(tuningInput({ cpus: 1, memoryLimitBytes: 2 * GiB })).shmBytes).toBe(64 * MiB);
    expect(tune(tuningInput({ cpus: 1, memoryLimitBytes: 32 * GiB })).shmBytes).toBe(64 * MiB);
  });
});
