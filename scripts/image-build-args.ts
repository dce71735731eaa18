// `npx tsx scripts/image-build-args.ts <stack>`: the build arguments of image/Dockerfile for a
// stack (its PostgreSQL major's pinned minor release and the pinned pgBackRest), and the tag
// naming them, as KEY=value lines for $GITHUB_OUTPUT. The deploy workflow builds with exactly
// what components/spec/image.ts pins, as the dev stack's local build does.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { POSTGRES_VERSIONS } from "../components/config/stack-config";
import { PGBACKREST_VERSION, POSTGRES_MINOR } from "../components/spec/image";

const stack = process.argv[2];
if (!stack) {
  console.error("usage: tsx scripts/image-build-args.ts <stack>");
  process.exit(2);
}
const file = join(__dirname, "..", `Pulumi.${stack}.yaml`);
const config = (parse(readFileSync(file, "utf8")) as { config?: Record<string, unknown> }).config ?? {};
const version = Number(config["pgstack:postgresVersion"]);
if (!(POSTGRES_VERSIONS as readonly number[]).includes(version)) {
  console.error(
    `${file}: pgstack:postgresVersion is ${String(config["pgstack:postgresVersion"])}, not one of ${POSTGRES_VERSIONS.join(", ")}`,
  );
  process.exit(2);
}
const minor = POSTGRES_MINOR[version as (typeof POSTGRES_VERSIONS)[number]];
console.log(`POSTGRES_MINOR=${minor}`);
console.log(`PGBACKREST_VERSION=${PGBACKREST_VERSION}`);
console.log(`TAG=${minor}-pgbackrest${PGBACKREST_VERSION}`);
