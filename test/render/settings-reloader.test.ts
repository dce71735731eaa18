import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { reloaderCommand } from "../../components/kubernetes/settings-reloader";
import { renderCommands } from "../../components/render/commands";
import { renderFiles } from "../../components/render/files";
import {
  asPostgres,
  freePort,
  localModel,
  memberDirectories,
  PG_BIN,
  postgresFile,
  postgresTempDir,
  type RunningPostgres,
  selfSignedCertificate,
  socketSql,
  startPostgres,
} from "./local-postgres";

/**
 * The members' settings reloader on real PostgreSQL 15 with the rendered postgresql.conf: the
 * mounted file changes (as the kubelet rewrites a ConfigMap mount), the loop notices and has
 * PostgreSQL reload it; the new reload-level value is in effect and the server never restarted.
 */
let root: string;
let server: RunningPostgres | undefined;
let reloader: ChildProcess | undefined;
afterAll(async () => {
  if (reloader?.pid) process.kill(-reloader.pid, "SIGTERM");
  await server?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("the settings reloader", () => {
  it("reloads a changed postgresql.conf without restarting PostgreSQL", { timeout: 60_000 }, async () => {
    root = postgresTempDir("reloader");
    const model = localModel(join(root, "member"), await freePort());
    const { layout } = model;
    memberDirectories(join(root, "member"), model);
    const files = renderFiles(model);
    const conf = join(layout.configDir, "postgresql.conf");
    postgresFile(conf, files["postgresql.conf"], 0o644);
    postgresFile(join(layout.configDir, "pg_hba.conf"), files["pg_hba.conf"], 0o644);
    const certificate = selfSignedCertificate(layout.tlsDir);
    postgresFile(join(layout.tlsDir, "ca.crt"), readFileSync(certificate.cert, "utf8"), 0o644);
    const initdb = asPostgres([join(PG_BIN, "initdb"), "-D", layout.dataDir, "--auth=peer", "--no-sync"]);
    expect(initdb.status, initdb.stderr).toBe(0);
    server = await startPostgres(
      renderCommands(model).postgres,
      layout.dataDir,
      layout.socketDir,
      layout.port,
    );
    const started = socketSql(model, "select pg_postmaster_start_time()");
    expect(socketSql(model, "show log_min_duration_statement")).not.toBe("2500ms");

    let output = "";
    reloader = spawn("/usr/sbin/runuser", ["-u", "postgres", "--", ...reloaderCommand(model, 1)], {
      env: { PATH: `${PG_BIN}:/usr/bin:/bin` },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    reloader.stdout?.on("data", (chunk) => {
      output += chunk;
    });
    reloader.stderr?.on("data", (chunk) => {
      output += chunk;
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));

    // What the kubelet does to the mounted ConfigMap: the file's content changes.
    appendFileSync(conf, "log_min_duration_statement = 2500\n");
    for (let attempt = 0; attempt < 50; attempt++) {
      if (socketSql(model, "show log_min_duration_statement") === "2500ms") break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(socketSql(model, "show log_min_duration_statement")).toBe("2500ms");
    expect(socketSql(model, "select pg_postmaster_start_time()")).toBe(started);
    expect(output).toMatch(/settings changed: PostgreSQL reloaded them/);
  });
});
