import type { PostgresVersion } from "../config/stack-config";

/**
 * Pinned versions of the image built from image/Dockerfile: the official PostgreSQL image of a
 * minor release plus pgBackRest built from its release tarball. Bumping one is a reviewed change
 * here, never a moving tag; README.md names the same versions (test/docker/image.test.ts keeps
 * them in step).
 *
 * PostgreSQL minors: the newest `<minor>-bookworm` tags of the official image found with the search
 * tool on 2026-12-01, in docker-library/official-images `library/postgres` at commit
 * 62e3678b4b5f889cc5d36fe0fc4599c277e1f875 (2026-08-13): "15.19-bookworm", "16.15-bookworm",
 * "17.11-bookworm".
 */
export const POSTGRES_MINOR: Record<PostgresVersion, string> = {
  15: "15.19",
  16: "16.15",
  17: "17.11",
};

/**
 * pgBackRest, one version for both platforms (the runner and the members must match). 2.59.x is
 * the first line with `repo1-s3-sts-host` (regional STS endpoint for web-identity / IRSA): absent
 * from src/build/help/help.xml at tag release/2.58.0, present at release/2.59.0 and
 * release/2.59.1 (pgbackrest/pgbackrest, read on 2026-12-01; 2.59.0 release note "Allow the S3 STS
 * endpoint to be configured"). 2.59.2 is that line's newest release with a verifiable checksum.
 */
export const PGBACKREST_VERSION = "2.59.2";

/**
 * SHA-256 of `pgbackrest-2.59.2.tar.gz`, the release asset at
 * github.com/pgbackrest/pgbackrest/releases/download/release/2.59.2/. Source: Homebrew's
 * `Formula/p/pgbackrest.rb` for 2.59.2 (the same value in two independent homebrew-core copies
 * found with the search tool on 2026-12-01).
 */
export const PGBACKREST_SHA256 = "dbdc5edb5161c57bd3ae61e416b1cd763205ad6ce41d9356114432a0cc0ce577";

/** Tag of the pgstack image for a major version, e.g. `pgstack/postgres:16.15-pgbackrest2.59.2`. */
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
