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
 * computes them (re-read at the version with the "database size vs RAM" question and the 4MB
 * work_mem floor). `pgtuneWorkMem` is PGTune's work_mem; `workMem` is pgstack's, equal unless the
 * memory budget and its 10% headroom decide otherwise.
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
      jit: "off",
      autovacuum_max_workers: "3",
      min_wal_size: "2GB",
      max_wal_size: "8GB",
      max_worker_processes: "4",
      max_parallel_workers_per_gather: "2",
      max_parallel_workers: "4",
      max_parallel_maintenance_workers: "2",
    },
    // (8388608 − 2097152) / ((200 + 4) × 3) = 10280.1
    pgtuneWorkMem: "10280kB",
    // 204 × 10280kB × 2 does not fit beside the rest and 819MiB of headroom: at full load
    // (8GiB × 0.9 − 2GiB − 16MiB − 3 × 128MiB − 512MiB − 64MiB − 211 × (2.5MiB + 4MiB + 32kB)) / (204 × 2).
    workMem: "7455kB",
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
      // 1/8 of 64GiB, at PGTune's 8GB cap.
      maintenance_work_mem: "8GB",
      wal_buffers: "16MB",
      default_statistics_target: "500",
      random_page_cost: "4",
      effective_io_concurrency: "2",
      autovacuum_max_workers: "4",
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
    title: "1GiB, 4 CPUs, mixed, 50 connections, san: the limit forces work_mem below PGTune's 4MB floor",
    input: { memoryLimitBytes: 1 * GiB, workload: "mixed", maxConnections: 50, storageMedium: "san" },
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
    // (1048576 − 262144) / ((50 + 4) × 3) / 2 = 2427.3, raised to PGTune's 4MB floor.
    pgtuneWorkMem: "4MB",
    workMem: "2825kB",
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
    title: "4GiB, 4 CPUs, desktop, 300 connections: PGTune raises 718kB to 4MB, which does not fit",
    input: { memoryLimitBytes: 4 * GiB, workload: "desktop", maxConnections: 300 },
    expected: { shared_buffers: "256MB" },
    // (4194304 − 262144) / ((300 + 4) × 3) / 6 = 718.6, raised to PGTune's 4MB floor.
    pgtuneWorkMem: "4MB",
    workMem: "3323kB",
  },
  {
    title: "16GiB, 8 CPUs, web, 200 connections, nvme, an 8GiB volume (the database fits in memory)",
    input: {
      memoryLimitBytes: 16 * GiB,
      cpus: 8,
      workload: "web",
      storageMedium: "nvme",
      storageBytes: 8 * GiB,
    },
    expected: {
      shared_buffers: "4GB",
      maintenance_work_mem: "1GB",
      random_page_cost: "1.1",
      effective_io_concurrency: "1000",
      jit: "off",
    },
    // (16777216 − 4194304) / ((200 + 8) × 3) × 1.3 (less_ram) = 26214.4
    pgtuneWorkMem: "26214kB",
    workMem: "16032kB",
  },
  {
    title: "8GiB, 4 CPUs, dw, ssd, a 200GiB volume: random_page_cost stays 4 so large scans stay sequential",
    input: { workload: "dw", maxConnections: 40 },
    expected: { random_page_cost: "4", effective_io_concurrency: "200", default_statistics_target: "500" },
    // (8388608 − 2097152) / ((40 + 4) × 3) / 2 = 23831.8
    pgtuneWorkMem: "23831kB",
    workMem: "23831kB",
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
      expect(values.jit).toBe(input.workload === "dw" || input.workload === "desktop" ? undefined : "off");
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
    // PGTune leaves -1 below 2GB of maintenance_work_mem: 3 workers × 512MB here.
    const values = conf(tuningInput());
    expect(values.autovacuum_work_mem).toBe("128MB");
    expect(parameter(tuningInput(), "autovacuum_work_mem").reason).toContain("PGTune's -1");
  });

  it("keeps huge_pages off where PGTune says try, and says how to turn them on", () => {
    const large = tuningInput({ memoryLimitBytes: 64 * GiB, cpus: 16, maxConnections: 200 });
    expect(conf(large).huge_pages).toBe("off");
    expect(parameter(large, "huge_pages").reason).toMatch(/SIGBUS.*huge_pages=on in pgstack:parameters/);
  });

  it("plans with 10% of the limit left free, and says so", () => {
    const { memoryBudget } = tune(tuningInput());
    expect(memoryBudget.headroomBytes).toBe(Math.ceil((8 * GiB * 0.1) / 1024) * 1024);
    expect(memoryBudget.totalBytes + memoryBudget.headroomBytes).toBeLessThanOrEqual(8 * GiB);
    expect(memoryBudget.keepsHeadroom).toBe(true);
    expect(parameter(tuningInput(), "work_mem").reason).toContain("10% of the 8GiB limit left as headroom");
  });
});

describe("work_mem below PostgreSQL's 4MB default", () => {
  it("is planned, with a warning naming the fix", () => {
    const input = tuningInput({ memoryLimitBytes: 1 * GiB, workload: "mixed", maxConnections: 50 });
    const result = tune(input);
    expect(result.warnings).toEqual([
      "work_mem is 2825kB, below PostgreSQL's 4MB default: the 1GiB memory limit cannot give 50 connections more at full load; lower pgstack:maxConnections (a pooler such as PgBouncer serves more clients over fewer connections) or raise pgstack:memoryLimit",
    ]);
    expect(parameter(input, "work_mem").reason).toContain("below PostgreSQL's 4MB default");
  });

  it("warns of nothing when work_mem is at least 4MB", () => {
    expect(tune(tuningInput()).warnings).toEqual([]);
  });
});

describe("max_connections when pgstack:maxConnections is unset", () => {
  it("is PGTune's default when the limit holds it at 4MB of work_mem", () => {
    const input = tuningInput({
      memoryLimitBytes: 16 * GiB,
      cpus: 8,
      workload: "web",
      maxConnections: undefined,
    });
    expect(tune(input).maxConnections).toBe(200);
    expect(parameter(input, "max_connections").reason).toBe(
      "pgstack:maxConnections unset: PGTune's default for web (200), which the 16GiB limit holds",
    );
  });

  it("is lowered to the most that keep work_mem at 4MB, never refused", () => {
    // The dev stack's shape: PGTune's 200 would need work_mem below 1MB in 2GiB.
    const input = tuningInput({
      memoryLimitBytes: 2 * GiB,
      cpus: 2,
      workload: "web",
      storageBytes: 10 * GiB,
      maxConnections: undefined,
    });
    expect(() => tune({ ...input, maxConnections: 200 })).toThrow(/pgstack:maxConnections/);
    const result = tune(input);
    expect(result.maxConnections).toBe(83);
    expect(result.warnings).toEqual([]);
    const values = conf(input);
    expect(values.max_connections).toBe("83");
    expect(values.work_mem).toBe("4102kB");
    expect(() => tune({ ...input, maxConnections: 84 })).not.toThrow();
    expect(tune({ ...input, maxConnections: 84 }).warnings).toHaveLength(1);
    expect(parameter(input, "max_connections").reason).toMatch(
      /^pgstack:maxConnections unset: PGTune's default for web \(200\) lowered to 83, the most that keep work_mem at PostgreSQL's 4MB default within the 2GiB limit; .*pooler/,
    );
  });

  it("fits every limit pgstack accepts, down to 512MiB", () => {
    for (const workload of ["web", "oltp", "dw", "mixed", "desktop"] as const) {
      for (const limit of [512 * MiB, 1 * GiB, 3 * GiB]) {
        const result = tune(
          tuningInput({ workload, memoryLimitBytes: limit, cpus: 1, maxConnections: undefined }),
        );
        expect(result.memoryBudget.keepsHeadroom, `${workload} ${limit}`).toBe(true);
        expect(result.maxConnections).toBeGreaterThanOrEqual(10);
      }
    }
  });
});

describe("PGTune's io concurrency per medium", () => {
  it("gives nvme 1000 and accepts it as pgstack:storageMedium", () => {
    const values = conf(tuningInput({ storageMedium: "nvme" }));
    expect([values.effective_io_concurrency, values.maintenance_io_concurrency]).toEqual(["1000", "1000"]);
    expect(values.random_page_cost).toBe("1.1");
    expect(parameter(tuningInput({ storageMedium: "nvme" }), "effective_io_concurrency").reason).toBe(
      "nvme: concurrent reads the device serves (PGTune)",
    );
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
    // 4 workers + 2 leaders, each 7455kB × 2, + 4 × 1MiB queues, + maintenance_work_mem (512MiB,
    // a parallel VACUUM's dead-tuple store) + 64MiB, rounded up to MiB.
    const expected = Math.ceil((6 * 7455 * 1024 * 2 + 4 * MiB + 512 * MiB + 64 * MiB) / MiB) * MiB;
    expect(tune(tuningInput()).shmBytes).toBe(expected);
  });

  it("holds at most 1GB of dead tuples before PostgreSQL 17, all of maintenance_work_mem from 17", () => {
    // dw on 16GiB: maintenance_work_mem is 2GB.
    const input = { workload: "dw" as const, memoryLimitBytes: 16 * GiB, cpus: 8, maxConnections: 40 };
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
    expect(tune(tuningInput({ cpus: 1, memoryLimitBytes: 2 * GiB, maxConnections: 50 })).shmBytes).toBe(
      64 * MiB,
    );
    expect(tune(tuningInput({ cpus: 1, memoryLimitBytes: 32 * GiB })).shmBytes).toBe(64 * MiB);
  });
});
