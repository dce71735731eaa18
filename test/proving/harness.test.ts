import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCertificateAuthority, issueCertificate } from "./harness/certificates";
import { pollUntil } from "./harness/poll";
import { freePort } from "./harness/ports";
import { ProcessSupervisor, run } from "./harness/processes";
import { S3Server } from "./harness/s3-server";

// The proving ground's own machinery: if these fail, a failed proof says nothing about pgstack.
describe("proving harness", () => {
  let dir: string;
  let supervisor: ProcessSupervisor;
  let s3: S3Server;
  let caFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pgstack-harness-"));
    supervisor = new ProcessSupervisor(dir);
    const ca = await createCertificateAuthority(dir, "pgstack-proving-ca");
    caFile = ca.certFile;
    const server = await issueCertificate(ca, dir, "s3", {
      commonName: "localhost",
      dnsNames: ["localhost"],
    });
    s3 = new S3Server({
      supervisor,
      directory: join(dir, "s3"),
      bucket: "proving",
      certFile: server.certFile,
      keyFile: server.keyFile,
      caFile,
      host: "localhost",
      port: await freePort(),
    });
    await s3.start();
  });

  afterAll(async () => {
    await supervisor?.stopAll();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("issues certificates that verify against the CA for the DNS name localhost", async () => {
    const leaf = await issueCertificate({ certFile: caFile, keyFile: join(dir, "ca.key") }, dir, "leaf", {
      commonName: "leaf",
      dnsNames: ["localhost"],
    });
    const ok = await run([
      "openssl",
      "verify",
      "-CAfile",
      caFile,
      "-verify_hostname",
      "localhost",
      leaf.certFile,
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const wrongName = await run([
      "openssl",
      "verify",
      "-CAfile",
      caFile,
      "-verify_hostname",
      "example.com",
      leaf.certFile,
    ]);
    expect(wrongName.code).not.toBe(0);
  });

  it("serves S3 over TLS verified for localhost, and comes back on the same port after a stop", async () => {
    expect(await s3.probe()).toBeGreaterThanOrEqual(200);
    const port = s3.port;
    await s3.stop();
    expect(await s3.probe()).toBeUndefined();
    await s3.start();
    expect(s3.port).toBe(port);
    expect(await s3.probe()).toBeGreaterThanOrEqual(200);
  });

  it("stops a process that ignores its stop signal with SIGKILL, by PID", async () => {
    const stubborn = supervisor.start("stubborn", [
      "sh",
      "-c",
      "trap '' TERM; echo trapped; while :; do sleep 0.1; done",
    ]);
    await pollUntil("the trap to be installed", async () =>
      stubborn.log().includes("trapped") ? true : undefined,
    );
    const started = Date.now();
    await supervisor.stop(stubborn, 500);
    expect(stubborn.running()).toBe(false);
    expect((await stubborn.exited).signal).toBe("SIGKILL");
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(() => process.kill(stubborn.pid, 0)).toThrow();
  });

  it("reports what it waited for when polling times out", async () => {
    await expect(
      pollUntil("a condition that never holds", async () => undefined, {
        timeoutMs: 200,
        describe: async () => "still false",
      }),
    ).rejects.toThrow(/a condition that never holds.*still false/);
  });
});
