/**
 * Readers for the files PostgreSQL and pgBackRest read, as the policies find them in the
 * resources that deliver them. Deliberately independent of the renderers: the policies check the
 * rendered text, not the code that rendered it.
 */

/** postgresql.conf → parameter name (lower case) → value (quotes removed). Later lines win, as in PostgreSQL. */
export function parsePostgresqlConf(content: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const raw of content.split("\n")) {
    const line = stripComment(raw).trim();
    if (line === "" || line.startsWith("include")) continue;
    const match = /^([A-Za-z_][A-Za-z0-9_.]*)\s*(?:=\s*|\s+)(.*)$/.exec(line);
    if (!match) continue;
    settings.set(match[1].toLowerCase(), unquote(match[2].trim()));
  }
  return settings;
}

/** Removes a trailing `# comment`, leaving `#` inside single-quoted values alone. */
function stripComment(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "'") quoted = !quoted;
    else if (c === "#" && !quoted) return line.slice(0, i);
  }
  return line;
}

function unquote(value: string): string {
  if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) {
    return value.slice(1, -1).replace(/''/g, "'").replace(/\\'/g, "'");
  }
  return value;
}

/** PostgreSQL's spelling of booleans. */
export function pgBoolean(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (["on", "true", "yes", "1", "t", "y"].includes(v)) return true;
  if (["off", "false", "no", "0", "f", "n"].includes(v)) return false;
  return undefined;
}

const MEMORY_UNITS: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/**
 * Bytes of a memory setting. A bare number is in the parameter's own unit (`unitBytes`: 8 kB
 * blocks for shared_buffers and wal_buffers, kB for work_mem, MB for max_slot_wal_keep_size).
 */
export function pgMemoryBytes(value: string | undefined, unitBytes: number): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(-?\d+)\s*(B|kB|MB|GB|TB)?$/.exec(value.trim());
  if (!match) return undefined;
  return Number(match[1]) * (match[2] ? MEMORY_UNITS[match[2]] : unitBytes);
}

export interface HbaRule {
  readonly line: number;
  readonly type: string;
  readonly database: string;
  readonly user: string;
  readonly address?: string;
  readonly method: string;
  readonly text: string;
}

/** pg_hba.conf → its rules, in order. */
export function parsePgHba(content: string): HbaRule[] {
  const rules: HbaRule[] = [];
  content.split("\n").forEach((raw, index) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "" || line.startsWith("include")) return;
    const fields = line.split(/\s+/);
    const [type, database, user] = fields;
    const local = type === "local";
    const address = local ? undefined : fields[3];
    // An address given as IP + netmask takes two fields.
    const methodIndex = local
      ? 3
      : /^\d+\.\d+\.\d+\.\d+$/.test(fields[3] ?? "") && /^\d+\.\d+\.\d+\.\d+$/.test(fields[4] ?? "")
        ? 5
        : 4;
    rules.push({
      line: index + 1,
      type,
      database,
      user,
      address,
      method: fields[methodIndex] ?? "",
      text: line,
    });
  });
  return rules;
}

/** pgBackRest's INI format → section → key → value. */
export function parseIni(content: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current = new Map<string, string>();
  sections.set("", current);
  for (const raw of content.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = sections.get(section[1]) ?? new Map();
      sections.set(section[1], current);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq > 0) current.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return sections;
}
