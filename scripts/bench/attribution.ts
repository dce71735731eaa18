import { loadavg } from "node:os";
import { pgbenchInit, pgbenchRun, prepareRun } from "./pgbench";
import { assertDurable, type PlainServer } from "./servers";
import { median } from "./stats";
import { roundOrder } from "./tpcb";

/**
 * `npm run bench -- --attribute`: which single setting moves TPC-B throughput on this machine.
 * One stock data directory; each variant is stock plus one group of pgstack's settings given as
 * `-c` on the command line; rounds rotate the variants like the main benchmark and ratios are
 * taken within a round against stock. Diagnostic only: it writes no BENCHMARKS.md.
 */
export interface Variant {
  readonly name: string;
  readonly overrides: Readonly<Record<string, string>>;
}

export const VARIANTS: readonly Variant[] = [
  { name: "stock", overrides: {} },
  { name: "+ wal_compression=lz4", overrides: { wal_compression: "lz4" } },
  { name: "+ shared_buffers=512MB", overrides: { shared_buffers: "512MB" } },
  {
    name: "+ pg_stat_statements (track=all) + track_io_timing",
    overrides: {
      shared_preload_libraries: "pg_stat_statements",
      "pg_stat_statements.track": "all",
      track_io_timing: "on",
    },
  },
];

export interface VariantRun {
  readonly round: number;
  readonly variant: string;
  readonly tps: number;
  readonly walPer1000: number;
  readonly load: number;
}

export async function runAttribution(
  server: PlainServer,
  options: {
    readonly scale: number;
    readonly rounds: number;
    readonly seconds: number;
    readonly clients: number;
    readonly threads: number;
  },
  log: (line: string) => void,
): Promise<{ runs: VariantRun[]; table: string }> {
  await server.init();
  await server.start();
  try {
    log(`attribution: pgbench -i -s ${options.scale}`);
    await pgbenchInit(server, options.scale);
  } finally {
    await server.stop();
  }
  const names = VARIANTS.map((variant) => variant.name);
  const runs: VariantRun[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    for (const name of roundOrder(names, round - 1)) {
      const variant = VARIANTS.find((candidate) => candidate.name === name) as Variant;
      await server.start(variant.overrides);
      try {
        await assertDurable(server);
        await prepareRun(server);
        const before = await server.sql("SELECT pg_current_wal_lsn()");
        const load = loadavg()[0];
        const result = await pgbenchRun(server, options);
        const wal = Number(await server.sql(`SELECT pg_current_wal_lsn() - '${before}'::pg_lsn`));
        const run = {
          round,
          variant: name,
          tps: result.tps,
          walPer1000: (wal / result.transactions) * 1000,
          load,
        };
        runs.push(run);
        log(
          `attribution round ${round} ${name}: ${run.tps.toFixed(1)} tps, ${(run.walPer1000 / 1e6).toFixed(2)} MB WAL/1000 tx`,
        );
      } finally {
        await server.stop();
      }
    }
  }
  const stockTps = (round: number) =>
    runs.find((run) => run.round === round && run.variant === "stock")?.tps ?? Number.NaN;
  const lines = [
    "| Variant | Median tps | Median ratio to stock (within rounds) | WAL per 1,000 tx (MB) |",
    "| --- | --- | --- | --- |",
    ...names.map((name) => {
      const mine = runs.filter((run) => run.variant === name);
      return `| ${name} | ${median(mine.map((run) => run.tps)).toFixed(1)} | ${median(mine.map((run) => run.tps / stockTps(run.round))).toFixed(3)} | ${(median(mine.map((run) => run.walPer1000)) / 1e6).toFixed(2)} |`;
    }),
  ];
  return { runs, table: lines.join("\n") };
}
