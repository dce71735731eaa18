import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { renderCommands } from "../../components/render/commands";
import { renderFiles } from "../../components/render/files";
import type { ClusterModel } from "../../components/spec/build-cluster-spec";
import {
  asPostgres,
  freePort,
  localModel,
  memberDirectories,
  PG_BIN,
  postgresDir,
  postgresFile,
  postgresTempDir,
  type RunningPostgres,
  socketSql,
  startPostgres,
} from "./local-postgres";

/**
 * What a renewed certificate does to a running PostgreSQL, on real PostgreSQL 15 with the
 * rendered postgresql.conf: the kubelet rewrites the mounted Secret's files in place, and the
 * server keeps presenting the certificate it loaded (the defect: a year later it expires in
 * use). The platform therefore rolls the pod when the certificate changes (the pod template
 * carries its hash): the preStop fast shutdown, then a start on the renewed files. After that
 * the server presents the renewed certificate, and a row committed before is still there.
 */
let root: string;
let server: RunningPostgres | undefined;
afterAll(async () => {
  await server?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

function openssl(args: string[]): string {
  const result = spawnSync("openssl", args, { encoding: "utf8", input: "" });
  if (result.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/** A CA and a leaf for `localhost` it signs (EC P-256, as the stack's certificates). */
function issue(dir: string, name: string, ca: { cert: string; key: string }): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key]);
  openssl(["req", "-new", "-key", key, "-subj", "/CN=localhost", "-out", csr]);
  const ext = join(dir, `${name}.ext`);
  postgresFile(ext, "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n", 0o644);
  openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    ext,
    "-out",
    cert,
  ]);
  return { cert, key };
}

/** Serial of the certificate the server presents in its TLS handshake (PostgreSQL's SSLRequest). */
function presentedSerial(model: ClusterModel): string {
  const chain = openssl([
    "s_client",
    "-starttls",
    "postgres",
    "-connect",
    `127.0.0.1:${model.layout.port}`,
    "-showcerts",
  ]);
  const leaf = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(chain)?.[0];
  if (!leaf) throw new Error(`no certificate presented:\n${chain}`);
  const serial = spawnSync("openssl", ["x509", "-noout", "-serial"], { encoding: "utf8", input: leaf });
  return serial.stdout.trim();
}

const serialOf = (file: string) => openssl(["x509", "-noout", "-serial", "-in", file]).trim();

async function start(model: ClusterModel): Promise<RunningPostgres> {
  return startPostgres(
    renderCommands(model).postgres,
    model.layout.dataDir,
    model.layout.socketDir,
    model.layout.port,
  );
}

describe("a renewed server certificate", () => {
  it("reaches PostgreSQL through the pod's roll (fast shutdown, start), not through the files alone; no committed row lost", {
    timeout: 120_000,
  }, async () => {
    root = postgresTempDir("renewal");
    const model = localModel(join(root, "member"), await freePort());
    const { layout } = model;
    memberDirectories(join(root, "member"), model);
    postgresDir(join(root, "ca"));
    const files = renderFiles(model);
    postgresFile(join(layout.configDir, "postgresql.conf"), files["postgresql.conf"], 0o644);
    postgresFile(join(layout.configDir, "pg_hba.conf"), files["pg_hba.conf"], 0o644);
    const caDir = join(root, "ca");
    const ca = { cert: join(caDir, "ca.crt"), key: join(caDir, "ca.key") };
    openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ca.key]);
    openssl([
      "req",
      "-x509",
      "-new",
      "-key",
      ca.key,
      "-subj",
      "/CN=pgstack-test CA",
      "-days",
      "2",
      "-out",
      ca.cert,
    ]);
    const first = issue(caDir, "first", ca);
    const renewed = issue(caDir, "renewed", ca);
    expect(serialOf(first.cert)).not.toBe(serialOf(renewed.cert));
    /** What the kubelet does to a mounted Secret: the files change in place. */
    const mount = (leaf: { cert: string; key: string }) => {
      postgresFile(join(layout.tlsDir, "server.crt"), readFileSync(leaf.cert, "utf8"), 0o644);
      postgresFile(join(layout.tlsDir, "server.key"), readFileSync(leaf.key, "utf8"), 0o600);
      postgresFile(join(layout.tlsDir, "ca.crt"), readFileSync(ca.cert, "utf8"), 0o644);
    };
    mount(first);

    const initdb = asPostgres([join(PG_BIN, "initdb"), "-D", layout.dataDir, "--auth=peer", "--no-sync"]);
    expect(initdb.status, initdb.stderr).toBe(0);
    server = await start(model);
    expect(presentedSerial(model)).toBe(serialOf(first.cert));
    socketSql(
      model,
      "create table kept (note text); insert into kept values ('committed before the renewal')",
    );

    mount(renewed);
    // The files alone change nothing: the server still presents the certificate it loaded.
    expect(presentedSerial(model)).toBe(serialOf(first.cert));

    // The roll: the preStop hook's fast shutdown, then a start on the renewed files.
    const stop = asPostgres(renderCommands(model).fastShutdown);
    expect(stop.status, stop.stderr).toBe(0);
    server = await start(model);
    expect(presentedSerial(model)).toBe(serialOf(renewed.cert));
    expect(socketSql(model, "select note from kept")).toBe("committed before the renewal");
  });
});
