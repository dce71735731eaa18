/**
 * Values as postgresql.conf reads them. Memory and time parameters are refused without a unit:
 * PostgreSQL reads `work_mem=64` as 64kB and `shared_buffers=64` as 64 pages of 8kB, and
 * `statement_timeout=60` as 60 milliseconds; a unit-less number is a wrong guess waiting to
 * happen, exactly like a unit-less stack size.
 */

const MEMORY_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  kB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
};
const TIME_UNITS_MS: Readonly<Record<string, number>> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** `0` and `-1` mean "off", "none" or "use the default" for the parameters that accept them. */
export function isSentinel(text: string): boolean {
  return text === "0" || text === "-1";
}

/** Bytes of a memory value with a unit (`64MB`, `1.5GB`, `512kB`); undefined otherwise. */
export function parseMemoryValue(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(B|kB|MB|GB|TB)$/.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * MEMORY_UNITS[match[2]]);
}

/** Milliseconds of a time value with a unit (`60s`, `5min`, `250ms`); undefined otherwise. */
export function parseTimeValue(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * TIME_UNITS_MS[match[2]];
}

/**
 * A boolean as PostgreSQL's parse_bool reads it: on/off, true/false, yes/no, 1/0, and unique
 * prefixes ("t", "of"; "o" alone is ambiguous). Undefined when PostgreSQL would refuse it.
 */
export function parseBoolValue(text: string): boolean | undefined {
  const value = text.trim().toLowerCase();
  if (value === "") return undefined;
  if (value === "1") return true;
  if (value === "0") return false;
  if ("true".startsWith(value) || "yes".startsWith(value)) return true;
  if ("false".startsWith(value) || "no".startsWith(value)) return false;
  if (value.length >= 2 && "on".startsWith(value)) return true;
  if (value.length >= 2 && "off".startsWith(value)) return false;
  return undefined;
}

/** A duration in the largest unit that keeps it exact: `5min`, `60s`, `250ms`. */
export function formatTimeValue(milliseconds: number): string {
  if (milliseconds === 0) return "0";
  for (const [unit, factor] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["min", 60_000],
    ["s", 1000],
  ] as const) {
    if (milliseconds % factor === 0) return `${milliseconds / factor}${unit}`;
  }
  return `${milliseconds}ms`;
}
