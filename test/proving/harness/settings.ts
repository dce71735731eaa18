/** One row of pg_settings, as the proof reads it. */
export interface PgSetting {
  readonly name: string;
  readonly setting: string;
  /** Base unit of an integer setting (`8kB`, `kB`, `MB`, `ms`, `s`, `min`), or empty. */
  readonly unit: string;
  readonly vartype: "bool" | "integer" | "real" | "string" | "enum";
}

const MEMORY: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };
const TIME: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };
const WITH_UNIT = /^(-?\d+(?:\.\d+)?)\s*([A-Za-z]+)?$/;

/** `8kB` → [8, "kB"]; a unit alone (`kB`) has multiplier 1. */
function unitFactor(unit: string): number | undefined {
  const match = /^(\d*)([A-Za-z]+)$/.exec(unit);
  if (!match) return undefined;
  const scale = match[1] === "" ? 1 : Number(match[1]);
  const base = MEMORY[match[2]] ?? TIME[match[2]];
  return base === undefined ? undefined : scale * base;
}

const BOOL_TRUE = new Set(["on", "true", "yes", "1"]);
const BOOL_FALSE = new Set(["off", "false", "no", "0"]);

/**
 * The value PostgreSQL should report in pg_settings.setting for a value written in
 * postgresql.conf: units converted to the setting's base unit (`512MB` with unit `8kB` → 65536),
 * booleans as on/off, enums lower-cased. Undefined when the written value cannot be read.
 */
export function expectedSetting(written: string, row: PgSetting): string | undefined {
  switch (row.vartype) {
    case "bool": {
      const word = written.toLowerCase();
      return BOOL_TRUE.has(word) ? "on" : BOOL_FALSE.has(word) ? "off" : undefined;
    }
    case "enum":
      return written.toLowerCase();
    case "string":
      return written;
    case "real": {
      const match = WITH_UNIT.exec(written);
      return match ? String(Number(match[1])) : undefined;
    }
    case "integer": {
      const match = WITH_UNIT.exec(written);
      if (!match) return undefined;
      const number = Number(match[1]);
      if (match[2] === undefined || row.unit === "" || number === -1) return String(number);
      const from = unitFactor(match[2]);
      const to = unitFactor(row.unit);
      if (from === undefined || to === undefined) return undefined;
      return String(Math.round((number * from) / to));
    }
  }
}

/** True when pg_settings reports the written value (reals compared as numbers). */
export function settingMatches(written: string, row: PgSetting): boolean {
  const expected = expectedSetting(written, row);
  if (expected === undefined) return false;
  if (row.vartype === "real") return Number(expected) === Number(row.setting);
  if (row.vartype === "enum") return expected === row.setting.toLowerCase();
  return expected === row.setting;
}
