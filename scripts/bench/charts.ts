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

/** Peak memory of each server's cgroup during the runs against the limit. */
export function memoryChart(runs: readonly RunRecord[]): Promise<string> {
  const limitMiB = (runs[0]?.limitBytes ?? 0) / 2 ** 20;
  const values = runs.map((run) => ({ config: run.config, round: run.round, mib: run.peakBytes / 2 ** 20 }));
  return render({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: 320,
    height: 160,
    layer: [
      {
        data: { values },
        mark: { type: "tick", thickness: 2 },
        encoding: {
          y: { field: "config", type: "nominal", sort: CONFIG_ORDER, title: null },
          x: {
            field: "mib",
            type: "quantitative",
            title: "peak cgroup memory (MiB)",
            scale: { domain: [0, limitMiB * 1.05] },
          },
          color,
        },
      },
      {
        data: { values: [{ limit: limitMiB }] },
        mark: { type: "rule", color: "red" },
        encoding: { x: { field: "limit", type: "quantitative" } },
      },
    ],
  });
}

/** Restore + recovery seconds against database size. */
export function rtoChart(
  points: readonly { readonly databaseBytes: number; readonly seconds: number }[],
): Promise<string> {
  const values = points.map((point) => ({ mb: point.databaseBytes / 1e6, seconds: point.seconds }));
  return render({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    data: { values },
    width: 320,
    height: 160,
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "mb", type: "quantitative", title: "database size (MB)" },
      y: { field: "seconds", type: "quantitative", title: "restore + recovery (s)" },
    },
  });
}
