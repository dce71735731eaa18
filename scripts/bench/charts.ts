import type { FullLoadFigures, FullLoadRun } from "../../test/proving/harness/proofs";
import type { RestorePoint } from "./report";
import type { ConfigName } from "./servers";
import type { RunRecord } from "./tpcb";

/**
 * SVG charts of a run, drawn by Vega-Lite (vega-lite 6.4.3 and vega 6.4.0 from npm, both
 * `npm view`-checked; ESM-only, hence the dynamic imports) with Vega's headless SVG renderer.
 */
async function render(spec: Record<string, unknown>): Promise<string> {
  const vega = await import("vega");
  const vegaLite = await import("vega-lite");
  const compiled = vegaLite.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

const CONFIG_ORDER: readonly ConfigName[] = ["pgstack", "stock", "pgtune"];
const color = { field: "config", type: "nominal", sort: CONFIG_ORDER, title: "configuration" };

/** tps and p99 latency per configuration and round; void rounds drawn hollow. */
export function throughputChart(runs: readonly RunRecord[]): Promise<string> {
  const values = runs.flatMap((run) => [
    { config: run.config, round: run.round, measure: "tps", value: run.pgbench.tps, void: run.void },
    {
      config: run.config,
      round: run.round,
      measure: "p99 latency (ms)",
      value: run.pgbench.latencyMs.p99,
      void: run.void,
    },
  ]);
  return render({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    data: { values },
    facet: { column: { field: "measure", type: "nominal", title: null } },
    resolve: { scale: { y: "independent" } },
    spec: {
      width: 260,
      height: 180,
      mark: { type: "line", point: true },
      encoding: {
        x: { field: "round", type: "ordinal", title: "round" },
        y: { field: "value", type: "quantitative", title: null },
        color,
        strokeDash: { field: "void", type: "nominal", title: "void round" },
      },
    },
  });
}

/** WAL per 1,000 transactions, each run a point, per configuration. */
export function walChart(runs: readonly RunRecord[]): Promise<string> {
  const values = runs.map((run) => ({
    config: run.config,
    round: run.round,
    mb: ((run.walBytes / run.pgbench.transactions) * 1000) / 1e6,
  }));
  return render({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    data: { values },
    width: 320,
    height: 160,
    mark: { type: "tick", thickness: 2 },
    encoding: {
      y: { field: "config", type: "nominal", sort: CONFIG_ORDER, title: null },
      x: { field: "mb", type: "quantitative", title: "MB of WAL per 1,000 transactions" },
      color,
    },
  });
}

/**
 * Proof 13's full load, pgstack against PGTune's values: the peak memory the kernel cannot reclaim
 * (anonymous + shared, what an OOM kill is about) over the cgroup's peak with page cache, against the limit.
 */
export function memoryChart(
  fullLoad: { readonly figures?: FullLoadFigures },
  limitBytes: number,
): Promise<string> {
  const limitMiB = limitBytes / 2 ** 20;
  const runs: { config: string; run: FullLoadRun }[] = [];
  if (fullLoad.figures) {
    runs.push({ config: "pgstack", run: fullLoad.figures.pgstack });
    if (!("error" in fullLoad.figures.pgtune))
      runs.push({ config: "PGTune's values", run: fullLoad.figures.pgtune });
  }
  const values = runs.flatMap(({ config, run }) => [
    { config, measure: "with page cache", mib: run.peakBytes / 2 ** 20 },
    { config, measure: "not reclaimable (anonymous + shared)", mib: run.unreclaimablePeakBytes / 2 ** 20 },
  ]);
  return render({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: 360,
    height: 120,
    layer: [
      {
        data: { values },
        mark: { type: "bar", height: 18 },
        encoding: {
          y: { field: "config", type: "nominal", sort: ["pgstack", "PGTune's values"], title: null },
          x: {
            field: "mib",
            type: "quantitative",
            title: "peak memory at full load (MiB); red: the limit",
            scale: { domain: [0, limitMiB * 1.05] },
            stack: null,
          },
          color: {
            field: "measure",
            type: "nominal",
            sort: ["with page cache", "not reclaimable (anonymous + shared)"],
            scale: { range: ["#c6dbef", "#2171b5"] },
            title: null,
            legend: { labelLimit: 400, orient: "bottom", direction: "vertical" },
          },
          order: { field: "measure", sort: "descending" },
        },
      },
      {
        data: { values: [{ limit: limitMiB }] },
        mark: { type: "rule", color: "red", strokeWidth: 2 },
        encoding: { x: { field: "limit", type: "quantitative" } },
      },
    ],
  });
}

/** How restore and recovery time grow with the database: the drill's restore alone and with recovery, and the new member's. */
export function rtoChart(restores: readonly RestorePoint[]): Promise<string> {
  const values = restores.flatMap((point) => {
    const mb = point.databaseBytes / 1e6;
    return [
      { mb, seconds: point.drill.restoreSeconds, series: "pgBackRest restore (drill)" },
      {
        mb,
        seconds: point.drill.restoreSeconds + point.drill.recoverySeconds,
        series: "drill: restore + recovery",
      },
      { mb, seconds: point.seconds, series: "new member from S3: restore + recovery + start" },
    ];
  });
  return render({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    data: { values },
    width: 320,
    height: 160,
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "mb", type: "quantitative", title: "database size (MB)", scale: { zero: true } },
      y: { field: "seconds", type: "quantitative", title: "seconds" },
      color: {
        field: "series",
        type: "nominal",
        title: null,
        sort: [
          "new member from S3: restore + recovery + start",
          "drill: restore + recovery",
          "pgBackRest restore (drill)",
        ],
        legend: { labelLimit: 400, orient: "bottom", direction: "vertical" },
      },
    },
  });
}
