import { readFileSync } from "node:fs";
import { type OsUser, osUser } from "./os-users";

/**
 * Everything the proving ground substitutes for what the platforms deploy, and nothing else:
 *
 * 1. The image. pgstack's image is the official PostgreSQL image (Debian bookworm) plus
 *    pgBackRest, tini and supercronic. Here its filesystem is this machine's /usr (Debian's
 *    postgresql-15, pgbackrest and tini, at the paths the official image has them:
 *    /usr/lib/postgresql/15/bin, /usr/bin/pgbackrest, /usr/bin/tini), its `postgres` account
 *    (uid 999 in the image) is this machine's `postgres`, its environment is the official image's
 *    ENV, and the directories its Dockerfile prepares are made with the same owners and modes.
 *    supercronic (a release binary, not in Debian) is the one program of the image not here: a
 *    stand-in keeps the runner's start script running where it would hand over to supercronic,
 *    and the proofs run each crontab line when they choose, the way supercronic runs it
 *    (`/bin/sh -c LINE` in the runner's container).
 *    pgstack's image holds pgBackRest 2.59.2 (built from source); this machine has Debian's 2.45,
 *    which reads the same rendered files (options it does not know only warn). The other images
 *    a stack runs are their programs from Debian where a proof needs them (OTHER_IMAGES).
 * 2. The S3 server. s3rver (npm, patched at install) answers at the name, port and TLS identity
 *    the stack uses: the dev store's container name with the certificate the stack issued for
 *    it; for prod the AWS endpoint names (`<bucket>.s3.<region>.amazonaws.com`) with a test CA
 *    added to the trust store the members see, and STS at sts.amazonaws.com for IRSA (it checks
 *    the role and the projected token the pod presents and hands out keys s3rver knows). The
 *    token file IRSA's webhook would project holds a test token.
 *
 * Everything else runs as the platforms run it: each container's own command as PID 1 of its own
 * PID namespace, its files at the paths the platform puts them (with their owners and modes), its
 * own network namespace with the host names the platform gives it, its memory limit as a cgroup.
 */

/** uid/gid of `postgres` in the official image (Debian variant). */
export const IMAGE_POSTGRES_UID = 999;

/** The account a container's uid runs as here: the image's postgres is this machine's postgres. */
export function imageAccount(uid: number | string | undefined): OsUser {
  const postgres = osUser("postgres");
  // `nobody`, as the exporter image and the monitoring images run.
  if (Number(uid) === 65534 || uid === "nobody") return osUser("nobody");
  if (uid === undefined || String(uid) === "postgres" || Number(uid) === IMAGE_POSTGRES_UID) return postgres;
  if (String(uid) === `${IMAGE_POSTGRES_UID}:${IMAGE_POSTGRES_UID}`) return postgres;
  if (Number(uid) === 0 || uid === "root") return { name: "root", uid: 0, gid: 0 };
  throw new Error(
    `the proving ground maps only the image's postgres (uid ${IMAGE_POSTGRES_UID}) and root, not uid ${uid}`,
  );
}

/**
 * The official image's ENV (postgres:15-bookworm). LANG: the official image generates
 * en_US.UTF-8; this machine has only C.UTF-8, which initdb is told to use anyway.
 */
export const IMAGE_ENVIRONMENT: Readonly<Record<string, string>> = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/postgresql/15/bin",
  PG_MAJOR: "15",
  PGDATA: "/var/lib/postgresql/data",
  LANG: "C.UTF-8",
};

/** Directories the official image's Dockerfile prepares, with its owners and modes. */
export const IMAGE_DIRECTORIES: readonly { path: string; mode: number; owner: "postgres" | "root" }[] = [
  { path: "/var/lib/postgresql", mode: 0o755, owner: "postgres" },
  { path: "/var/lib/postgresql/data", mode: 0o1777, owner: "postgres" },
  { path: "/run/postgresql", mode: 0o3777, owner: "postgres" },
  { path: "/tmp", mode: 0o1777, owner: "root" },
];

/** The image's /usr/local/bin: supercronic's stand-in (see above). */
export const IMAGE_LOCAL_BIN: Readonly<Record<string, string>> = {
  supercronic: `#!/bin/sh
# Proving-ground stand-in for supercronic (not in Debian): the image's scheduler would run each
# line of the crontab with /bin/sh -c; the proofs run those lines themselves, when they choose.
echo "supercronic stand-in: schedule $1 loaded; jobs are run by the proving ground" >&2
trap 'exit 0' INT TERM
while :; do sleep 3600 & wait $!; done
`,
};

/**
 * Images other than pgstack's, by repository: the entrypoint each one has, as this machine has
 * the program (Debian's package). Their arguments are the platform's, unchanged.
 */
export const OTHER_IMAGES: Readonly<
  Record<string, { readonly entrypoint: readonly string[]; readonly user?: string }>
> = {
  // Debian's prometheus-postgres-exporter (the official image's entrypoint is /bin/postgres_exporter).
  "quay.io/prometheuscommunity/postgres-exporter": { entrypoint: ["/usr/bin/prometheus-postgres-exporter"] },
  // Debian's prometheus-pushgateway (the image's entrypoint is /bin/pushgateway; it runs as nobody).
  "prom/pushgateway": { entrypoint: ["/usr/bin/prometheus-pushgateway"], user: "nobody" },
};

function otherImage(image: string | undefined) {
  if (!image) return undefined;
  return OTHER_IMAGES[image.split("@")[0].replace(/:[^/:]+$/, "")];
}

/** The entrypoint of `image` where it is not pgstack's, or undefined. */
export function otherImageEntrypoint(image: string | undefined): readonly string[] | undefined {
  return otherImage(image)?.entrypoint;
}

/** The USER of `image` where it is not pgstack's and declares one (Docker runs it when the container names none). */
export function otherImageUser(image: string | undefined): string | undefined {
  return otherImage(image)?.user;
}

/** The test token IRSA's webhook would project into the pod (checked by the STS stand-in). */
export const IRSA_TEST_TOKEN = "pgstack-proving-web-identity-token";

/** Files of this machine's /etc that the image has too (accounts, resolver, linker, alternatives). */
export const IMAGE_ETC = [
  "passwd",
  "group",
  "nsswitch.conf",
  "ld.so.cache",
  "ld.so.conf",
  "ld.so.conf.d",
  "alternatives",
  "ssl",
] as const;

/** This machine's CA bundle, the base of the trust store the containers see. */
export function systemCaBundle(): string {
  return readFileSync("/etc/ssl/certs/ca-certificates.crt", "utf8");
}
