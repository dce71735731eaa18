/**
 * Sizes as people write them in stack config (Kubernetes quantities with binary suffixes) and as
 * PostgreSQL reads them (kB/MB/GB, powers of 1024). A bare number is refused on purpose: "8" could
 * mean bytes, MB or GB, and a wrong guess under-sizes a production database.
 */
export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;

const QUANTITY = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti)$/;
const FACTORS: Record<string, number> = { Ki: KiB, Mi: MiB, Gi: GiB, Ti: TiB };

/** Parses `512Mi`, `8Gi`, `1.5Ti`; returns undefined for anything else (unit-less, negative, MB). */
export function parseQuantity(text: string): number | undefined {
  const match = QUANTITY.exec(text.trim());
  if (!match) return undefined;
  const bytes = Math.floor(Number(match[1]) * FACTORS[match[2]]);
  return bytes > 0 ? bytes : undefined;
}

/** Kubernetes/Docker quantity for a byte count, in the largest binary unit that divides it. */
export function formatQuantity(bytes: number): string {
  for (const [unit, factor] of [
    ["Ti", TiB],
    ["Gi", GiB],
    ["Mi", MiB],
    ["Ki", KiB],
  ] as const) {
    if (bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return `${bytes}`;
}

/**
 * PostgreSQL memory value (`128MB`, `4GB`, `64kB`) for a byte count, rounded down to whole kB,
 * in the largest unit that keeps it exact. postgresql.conf units are powers of 1024.
 */
export function formatPgMemory(bytes: number): string {
  const kb = Math.floor(bytes / KiB);
  if (kb >= 1024 * 1024 && kb % (1024 * 1024) === 0) return `${kb / (1024 * 1024)}GB`;
  if (kb >= 1024 && kb % 1024 === 0) return `${kb / 1024}MB`;
  return `${kb}kB`;
}

/** Bytes for a PostgreSQL memory value such as `64kB`, `16MB`, `2GB`, `1TB` (unit required). */
export function parsePgMemory(text: string): number | undefined {
  const match = /^(\d+)\s*(kB|MB|GB|TB)$/.exec(text.trim());
  if (!match) return undefined;
  const factor = { kB: KiB, MB: MiB, GB: GiB, TB: TiB }[match[2] as "kB" | "MB" | "GB" | "TB"];
  return Number(match[1]) * factor;
}
