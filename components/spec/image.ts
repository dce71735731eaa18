import type { PostgresVersion } from "../config/stack-config";

/**
 * Pinned versions of the image built from image/Dockerfile: the official PostgreSQL image of a
 * minor release plus pgBackRest from the PostgreSQL apt repository. Bumping a minor release is a
 * reviewed change here, never a moving tag.
 */
export const POSTGRES_MINOR: Record<PostgresVersion, string> = {
  15: "15.15",
  16: "16.11",
  17: "17.7",
};
export const PGBACKREST_VERSION = "2.57.0";

/** Tag of the pgstack image for a major version, e.g. `pgstack/postgres:16.11-pgbackrest2.57.0`. */
export function defaultImage(version: PostgresVersion): string {
  return `pgstack/postgres:${POSTGRES_MINOR[version]}-pgbackrest${PGBACKREST_VERSION}`;
}

/** True when an image reference is pinned: a digest, or a tag other than `latest`. */
export function isPinnedImage(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const lastSegment = image.slice(image.lastIndexOf("/") + 1);
  const colon = lastSegment.indexOf(":");
  if (colon < 0) return false;
  return lastSegment.slice(colon + 1) !== "latest";
}
