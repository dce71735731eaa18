import type { BenchSettings } from "./report";

/** The run's phases in order, with the seconds each is expected to take for given settings. */
export const PHASES = [
  "set-up and pgbench -i",
  "TPC-B rounds",
  "attribution",
  "full load",
  "restore and RPO",
  "restore levers",
] as const;
export type Phase = (typeof PHASES)[number];

/** pgbench's tables and indexes, about 16 MB per scale unit (1,129 MB at scale 70). */
const MB_PER_SCALE = 16;
/**
 * Per measured run besides pgbench itself: start, durability SHOWs, vacuum, checkpoint, stop
 * (about 2 s in the full run of 2026-12-01 on a quiet machine; more when the CPUs are shared).
 */
const RUN_OVERHEAD_SECONDS = 5;
/**
 * Rates of this kind of machine (2 CPUs, SSD), rounded down from the full run of 2026-12-01 on a
 * quiet machine (pgstack 5420c60, which took 39 min 45 s): pgbench -i -s 280 with archiving under
 * the 2 GiB limit 163 MB/s; a full backup through the S3 stand-in 261 MB/s, its restore 680 MB/s.
 */
const INIT_MB_PER_SECOND = 150;
const TRANSFER_MB_PER_SECOND = 250;
/** pg_amcheck --all of the drill's copy (heap and B-tree checks), rounded down from the same run. */
const AMCHECK_MB_PER_SECOND = 400;

/** Expected seconds per phase: printed before the run so a full run's length is known up front. */
export function estimatePhases(settings: BenchSettings): Record<Phase, number> {
  const databaseMb = settings.scale * MB_PER_SCALE;
  const leverMb = settings.leverScale * MB_PER_SCALE;
  return {
    "set-up and pgbench -i": 60 + 3 * (databaseMb / INIT_MB_PER_SECOND + 10),
    "TPC-B rounds": settings.rounds * 3 * (settings.seconds + RUN_OVERHEAD_SECONDS),
    attribution: settings.attribution.rounds * 5 * (settings.attribution.seconds + RUN_OVERHEAD_SECONDS),
    "full load": 90,
    // Two sizes (1× and 2×): a backup, a restore and a drill (restore + pg_amcheck) each, a copy
    // of the database, two writers.
    "restore and RPO":
      (3 * (3 * databaseMb)) / TRANSFER_MB_PER_SECOND +
      (3 * databaseMb) / AMCHECK_MB_PER_SECOND +
      databaseMb / INIT_MB_PER_SECOND +
      2 * (settings.rpo.seconds + 30),
    // Five backups and eight restores of the lever data set, and its pgbench -i.
    "restore levers": leverMb / INIT_MB_PER_SECOND + (13 * leverMb) / TRANSFER_MB_PER_SECOND + 60,
  };
}

const minutes = (seconds: number) => {
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
};

/** Logs each phase as it starts: elapsed time, and what the remaining phases are expected to take. */
export class Progress {
  private readonly started = Date.now();
  private current: { name: Phase; started: number } | undefined;
  private readonly finished: { name: Phase; seconds: number }[] = [];

  constructor(
    private readonly estimates: Record<Phase, number>,
    private readonly log: (line: string) => void,
  ) {
    const total = PHASES.reduce((sum, phase) => sum + estimates[phase], 0);
    log(
      `expected: about ${minutes(total)} (${PHASES.map((phase) => `${phase} ${minutes(estimates[phase])}`).join(", ")})`,
    );
    this.phase(PHASES[0]);
  }

  phase(name: Phase): void {
    this.close();
    this.current = { name, started: Date.now() };
    const left = PHASES.slice(PHASES.indexOf(name)).reduce((sum, phase) => sum + this.estimates[phase], 0);
    this.log(
      `== ${name} (phase ${PHASES.indexOf(name) + 1} of ${PHASES.length}; ${minutes((Date.now() - this.started) / 1000)} elapsed, about ${minutes(left)} to go)`,
    );
  }

  done(): void {
    this.close();
    this.log(`== done in ${minutes((Date.now() - this.started) / 1000)}`);
  }

  /** Seconds each finished phase took, and what it was expected to take. */
  phases(): { name: Phase; seconds: number; expectedSeconds: number }[] {
    return this.finished.map((phase) => ({ ...phase, expectedSeconds: this.estimates[phase.name] }));
  }

  private close(): void {
    if (this.current) {
      this.finished.push({ name: this.current.name, seconds: (Date.now() - this.current.started) / 1000 });
      this.current = undefined;
    }
  }
}
