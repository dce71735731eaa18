import { readFileSync } from "node:fs";
import { chown } from "node:fs/promises";

/** An OS account the proving ground runs a process as (PostgreSQL refuses to run as root). */
export interface OsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** Looks an account up in /etc/passwd; throws naming the account when it is missing. */
export function osUser(name: string): OsUser {
  for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
    const [user, , uid, gid] = line.split(":");
    if (user === name) return { name, uid: Number(uid), gid: Number(gid) };
  }
  throw new Error(`OS user ${name} does not exist on this machine (the proving ground needs it)`);
}

/** The database members run as `postgres`, as in the image. */
export const POSTGRES_USER = "postgres";
/**
 * The backup runner runs as another account, as it does in its own container: it cannot read the
 * primary's data directory and reaches it only through the pgBackRest TLS server.
 */
export const RUNNER_USER = "nobody";

export async function chownTo(user: OsUser, ...paths: string[]): Promise<void> {
  for (const path of paths) await chown(path, user.uid, user.gid);
}
