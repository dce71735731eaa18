import type { ClusterModel } from "../spec/build-cluster-spec";
import { CONF_SECTIONS, type ConfParameter } from "../spec/cluster-spec";
import { commentLines, generatedHeader } from "./generated-header";

/** A number with an optional unit (`512MB`, `0.9`, `-1`, `30s`): PostgreSQL reads it unquoted. */
const BARE_NUMBER = /^-?\d+(\.\d+)?[A-Za-z]*$/;
/** A boolean or enum word (`on`, `replica`, `posix`): unquoted, as in PostgreSQL's sample file. */
const BARE_WORD = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A value as postgresql.conf reads it. Numbers, numbers with units, booleans and enum words are
 * written bare; anything else (paths, lists, commands, prefixes, `scram-sha-256`) in single
 * quotes, with `'` doubled and `\` doubled, because the file's lexer treats a backslash in a
 * quoted string as an escape.
 */
export function postgresqlConfValue(value: string): string {
  if (BARE_NUMBER.test(value) || BARE_WORD.test(value)) return value;
  return `'${value.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
}

/**
 * postgresql.conf from the tuning result: one section per CONF_SECTIONS heading (in that order,
 * empty ones left out), each value preceded by the one-line reason it has that value.
 */
export function renderPostgresqlConf(model: ClusterModel): string {
  const parameters = model.tuning.parameters;
  const seen = new Set<string>();
  for (const parameter of parameters) {
    // PostgreSQL lets the last of two lines win silently: a duplicate is a bug upstream.
    if (seen.has(parameter.name)) {
      throw new Error(
        `postgresql.conf: parameter ${parameter.name} is set twice; each parameter must appear once`,
      );
    }
    seen.add(parameter.name);
  }

  const lines = commentLines([
    ...generatedHeader(model, "postgresql.conf"),
    "",
    "Every value below carries the reason it has that value. Values from `pgstack:parameters`",
    "are marked as overrides; the others are computed from the resources and workload, or fixed",
    "by pgstack because backups, replication or security depend on them.",
  ]);
  for (const section of CONF_SECTIONS) {
    const inSection = parameters.filter((parameter) => parameter.section === section);
    if (inSection.length === 0) continue;
    lines.push("", `#${"-".repeat(79)}`, `# ${section}`, `#${"-".repeat(79)}`);
    for (const parameter of inSection) {
      lines.push(
        "",
        `# ${reasonLine(parameter)}`,
        `${parameter.name} = ${postgresqlConfValue(parameter.value)}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

function reasonLine(parameter: ConfParameter): string {
  const reason = parameter.reason.replace(/\s+/g, " ").trim();
  return parameter.source === "override" ? `[override] ${reason}` : reason;
}
