import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { livenessCommand } from "../../components/kubernetes/statefulset";
import { renderCommands } from "../../components/render/commands";
import { renderFiles } from "../../components/render/files";
import type { ClusterModel } from "../../components/spec/build-cluster-spec";
import {
  asPostgres,
  freePort,
  localModel,
  memberDirectories,
  PG_BIN,
  postgresFile,
  postgresTempDir,
} from "./local-postgres";

/**
 * The member's probes on real PostgreSQL 15 while it answers but cannot serve: a standby in
 * recovery with hot_standby off rejects every connection, as a primary does during crash
 * recovery. Readiness (the healthcheck) fails; liveness holds, so the kubelet never restarts a
 * recovery from its beginning. A stopped server fails both.
 */
let root: string;
let model: ClusterModel;
const pgCtl = (...args: string[]) =>
  asPostgres([join(PG_BIN, "pg_ctl"), "-D", model.layout.dataDir, ...args]);

beforeAll(async () => {
  root = postgresTempDir("liveness");
  model = localModel(join(root, "member"), await freePort());
  const { layout } = model;
  memberDirectories(join(root, "member"), model);
  const files = renderFiles(model);
  postgresFile(
    join(layout.configDir, "postgresql.conf"),
    `${files["postgresql.conf"]}\nssl = off\nhot_standby = off\n`,
    0o644,
  );
  postgresFile(join(layout.configDir, "pg_hba.conf"), files["pg_hba.conf"], 0o644);
  const initdb = asPostgres([join(PG_BIN, "initdb"), "-D", layout.dataDir, "--auth=peer", "--no-sync"]);
  expect(initdb.status, initdb.stderr).toBe(0);
  // In recovery with nowhere to get WAL from: it waits there, answering and rejecting.
  postgresFile(join(layout.dataDir, "standby.signal"), "");
  const started = pgCtl(
    "start",
    "-w",
    "-l",
    join(root, "server.log"),
    "-o",
    `-c config_file=${layout.configDir}/postgresql.conf`,
  );
  expect(started.status, started.stderr + started.stdout).toBe(0);
});

afterAll(() => {
  pgCtl("stop", "-m", "fast", "-w");
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("liveness during recovery", () => {
  it("readiness fails while the server rejects connections in recovery, liveness holds", () => {
    const { healthcheck } = renderCommands(model);
    const ready = asPostgres(healthcheck);
    expect(ready.status, ready.stdout).toBe(1);
    expect(ready.stdout).toMatch(/rejecting connections/);
    expect(asPostgres(livenessCommand(healthcheck)).status).toBe(0);
  });

  it("both fail once nothing answers", () => {
    const stopped = pgCtl("stop", "-m", "fast", "-w");
    expect(stopped.status, stopped.stderr).toBe(0);
    const { healthcheck } = renderCommands(model);
    expect(asPostgres(healthcheck).status).toBe(2);
    expect(asPostgres(livenessCommand(healthcheck)).status).not.toBe(0);
  });
});
