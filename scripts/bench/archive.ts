import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { ProvingCluster } from "./local-harness/proving-cluster";

/** s3rver keeps each object's bytes in a file named `<key>._S3rver_object`. */
const OBJECT_SUFFIX = "._S3rver_object";

async function objectBytes(dir: string): Promise<number> {
  let total = 0;
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await objectBytes(path);
    else if (entry.name.endsWith(OBJECT_SUFFIX)) total += (await stat(path)).size;
  }
  return total;
}

/**
 * Bytes of the stanza's WAL archive as stored in S3 (compressed and encrypted by pgBackRest),
 * read from the S3 server's directory rather than through S3, so measuring costs no requests.
 */
export function archivedBytes(cluster: ProvingCluster): Promise<number> {
  const spec = cluster.primary.spec;
  const repoPath = spec.archive.path.replace(/^\/+/, "");
  return objectBytes(join(cluster.local.s3.objectDirectory(), repoPath, "archive", spec.archive.stanza));
}

/** Segment name without its timeline: the part that orders segments within one timeline. */
const segmentOrder = (walFile: string) => walFile.slice(8);

export interface CatchUp {
  /** The segment holding the last WAL byte of the burst. */
  readonly lastSegment: string;
  /** Segments waiting for the archiver (.ready) when the burst ended. */
  readonly readyAtEnd: number;
  /** Seconds from the end of the burst until that segment was in the archive; null when it never was. */
  readonly seconds: number | null;
}

/**
 * Seconds from the end of a write burst until the archive holds every WAL byte written by then:
 * pg_stat_archiver reports the segment holding the burst's last LSN (or a later one) archived.
 * The last segment is partly filled, so it waits for archive_timeout's switch; the backlog of
 * full segments waits for pgBackRest.
 */
export async function archiveCatchUp(
  cluster: ProvingCluster,
  endedAt: number,
  timeoutMs: number,
): Promise<CatchUp> {
  const primary = cluster.primary;
  const lastSegment = await primary.sql("SELECT pg_walfile_name(pg_current_wal_lsn())");
  const readyAtEnd = (await cluster.pendingWal()).length;
  const deadline = endedAt + timeoutMs;
  for (;;) {
    const archived = (await cluster.archiver()).lastArchivedWal;
    if (archived !== null && segmentOrder(archived) >= segmentOrder(lastSegment)) {
      return { lastSegment, readyAtEnd, seconds: (Date.now() - endedAt) / 1000 };
    }
    if (Date.now() > deadline) return { lastSegment, readyAtEnd, seconds: null };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
