import type { Member } from "./member";

/** Rows the proofs write and count, each tagged with the phase of the proof that wrote it. */
export const TABLE = "proving_rows";

async function ensureTable(member: Member): Promise<void> {
  await member.sql(
    `CREATE TABLE IF NOT EXISTS ${TABLE} (id bigserial PRIMARY KEY, phase text NOT NULL, written_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
  );
}

export async function insertRows(member: Member, phase: string, count: number): Promise<void> {
  await ensureTable(member);
  await member.sql(`INSERT INTO ${TABLE} (phase) SELECT '${phase}' FROM generate_series(1, ${count})`);
}

export async function countRows(member: Member, phase?: string): Promise<number> {
  const where = phase === undefined ? "" : ` WHERE phase = '${phase}'`;
  return Number(await member.sql(`SELECT count(*) FROM ${TABLE}${where}`));
}

export async function phaseCounts(member: Member): Promise<Record<string, number>> {
  const rows = await member.sql(`SELECT phase, count(*) FROM ${TABLE} GROUP BY phase ORDER BY phase`);
  return Object.fromEntries(
    rows
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [phase, count] = line.split("|");
        return [phase, Number(count)];
      }),
  );
}

/** A member's clock, as pgBackRest reads a recovery target. */
export function serverTime(member: Member): Promise<string> {
  return member.sql(
    "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'",
  );
}
