/**
 * Stack file values → the config a Pulumi program receives from the CLI: every value a string,
 * objects and arrays JSON-encoded, secret keys fully qualified.
 */
export function toProgramConfig(
  values: Readonly<Record<string, unknown>>,
  secretKeys: ReadonlySet<string>,
  project: string,
): { config: Record<string, string>; secretKeys: string[] } {
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined || value === null) continue;
    config[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { config, secretKeys: [...secretKeys].map((key) => `${project}:${key}`) };
}
