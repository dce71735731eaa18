import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Container, type ContainerSpec } from "./harness/container";
import { osUser } from "./harness/os-users";
import { ProvingRun } from "./harness/proving-run";
import { IMAGE_ENVIRONMENT } from "./harness/substitutions";
import { subnetWithin } from "./harness/test-network";
import { TlsProvider } from "./harness/tls-provider";

// The proving ground's own machinery: if these fail, a failed proof says nothing about pgstack.
describe("proving harness: a container as a runtime runs it", () => {
  let run: ProvingRun;
  let container: Container;
  let peer: Container;
  const MiB = 1024 * 1024;

  const hosts = new Map<string, Awaited<ReturnType<ProvingRun["host"]>>>();
  const spec = async (name: string, argv: string[], memoryLimitBytes = 64 * MiB): Promise<ContainerSpec> => {
    const host = hosts.get(name) ?? (await run.host(name, [`${name}.proving.test`]));
    const postgres = osUser("postgres");
    return {
      name: `harness-${name}`,
      root: await run.containerRoot(name, name),
      argv,
      env: { ...IMAGE_ENVIRONMENT },
      user: { uid: postgres.uid, gid: postgres.gid, groups: [] },
      network: host,
      memoryLimitBytes,
      shmBytes: 16 * MiB,
      mounts: [{ target: "/tmp", tmpfs: { sizeBytes: 8 * MiB } }],
      readOnlyRoot: true,
      stopSignal: "SIGTERM",
    };
  };

  beforeAll(async () => {
    run = await ProvingRun.create("harness");
    // Every host first: each container's /etc/hosts lists the hosts known when it is made.
    for (const name of ["one", "two"]) hosts.set(name, await run.host(name, [`${name}.proving.test`]));
    const sleeper = ["tini", "--", "sh", "-c", "while :; do sleep 1; done"];
    container = run.track(new Container(await spec("one", sleeper), run.supervisor));
    peer = run.track(new Container(await spec("two", sleeper), run.supervisor));
    await container.start();
    await peer.start();
  }, 60_000);

  afterAll(async () => {
    await run?.dispose();
  }, 60_000);

  it("runs the command as PID 1 of its own PID namespace, as the container's user", async () => {
    const result = await container.execOk(["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; id -un"]);
    expect(result.stdout).toBe("tini -- sh -c while :; do sleep 1; done \npostgres\n");
  });

  it("has a read-only root, its own /tmp and a /dev/shm of the given size", async () => {
    const write = await container.exec(["touch", "/etc/x"]);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
    const sizes = await container.execOk(["sh", "-c", "touch /tmp/ok && df -k /dev/shm | tail -1"]);
    expect(sizes.stdout.trim().split(/\s+/)[1]).toBe(String(16 * 1024));
  });

  it("resolves the run's host names and reaches another container's namespace; its loopback is its own", async () => {
    const ok = await container.exec(["getent", "hosts", "two.proving.test"]);
    expect(ok.stdout).toContain(peer.spec.network.address);
    // The peer's kernel answers at once (a TCP reset: connection refused, not a timeout): it is routed.
    const ping = await container.exec(["bash", "-c", `exec 3<>/dev/tcp/${peer.spec.network.address}/22`], {
      timeoutMs: 5000,
    });
    expect(ping.stderr).toMatch(/Connection refused/);
    // Its own loopback is its own: nothing of this machine listens there.
    const loopback = await container.exec(["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/22"], {
      timeoutMs: 5000,
    });
    expect(loopback.stderr).toMatch(/Connection refused/);
  });

  it("leaves a timed-out probe's children to the container's PID 1", async () => {
    const probe = await container.probe(["sh", "-c", "sleep 30 & sleep 31"], 500);
    expect(probe.timedOut).toBe(true);
    const parents = await container.execOk(["sh", "-c", "ps -o ppid=,args= | grep 'sleep 3[01]'"]);
    expect(
      parents.stdout
        .trim()
        .split("\n")
        .map((line) => line.trim().split(/\s+/)[0]),
    ).toEqual(["1", "1"]);
  });

  it("enforces the memory limit with the kernel's OOM killer in the container's own cgroup", async () => {
    const hungry = run.track(
      new Container(
        await spec(
          "hungry",
          ["sh", "-c", "head -c 300M /dev/zero | tail -c 200M >/dev/null; sleep 5"],
          48 * MiB,
        ),
        run.supervisor,
      ),
    );
    await hungry.start();
    await hungry.exited;
    expect(await hungry.cgroup.oomKills()).toBeGreaterThan(0);
  });

  it("stops with the stop signal, then the kernel ends the namespace", async () => {
    const result = await peer.stop(5000);
    expect(result.code).toBe(143);
    expect(peer.running()).toBe(false);
  });
});

describe("proving harness: addresses and certificates", () => {
  it("picks a /24 inside the platform's pod range", () => {
    for (let i = 0; i < 50; i++) {
      expect(subnetWithin("10.0.0.0/16")).toMatch(/^10\.0\.\d{1,3}$/);
      expect(subnetWithin("172.20.8.0/24")).toBe("172.20.8");
    }
    expect(() => subnetWithin("10.0.0.0/28")).toThrow(/\/8 to \/24/);
  });

  it("issues real certificates for @pulumi/tls resources, valid for exactly the names asked for", () => {
    const tls = new TlsProvider();
    const caKey = tls.outputs("tls:index/privateKey:PrivateKey", "ca-key", {
      algorithm: "ECDSA",
      ecdsaCurve: "P256",
    });
    const ca = tls.outputs("tls:index/selfSignedCert:SelfSignedCert", "ca", {
      privateKeyPem: caKey?.privateKeyPem,
      subject: { commonName: "test CA" },
      isCaCertificate: true,
      validityPeriodHours: 24,
      allowedUses: ["cert_signing"],
    });
    const key = tls.outputs("tls:index/privateKey:PrivateKey", "key", {
      algorithm: "ECDSA",
      ecdsaCurve: "P256",
    });
    const request = tls.outputs("tls:index/certRequest:CertRequest", "csr", {
      privateKeyPem: key?.privateKeyPem,
      subject: { commonName: "db" },
      dnsNames: ["db.example.test"],
    });
    const cert = tls.outputs("tls:index/locallySignedCert:LocallySignedCert", "cert", {
      certRequestPem: request?.certRequestPem,
      caPrivateKeyPem: caKey?.privateKeyPem,
      caCertPem: ca?.certPem,
      validityPeriodHours: 24,
      allowedUses: ["digital_signature", "server_auth"],
    });
    const dir = mkdtempSync(join(tmpdir(), "pgstack-tls-test-"));
    try {
      writeFileSync(join(dir, "ca.pem"), String(ca?.certPem));
      writeFileSync(join(dir, "cert.pem"), String(cert?.certPem));
      const verify = (name: string) => {
        try {
          execFileSync(
            "openssl",
            ["verify", "-CAfile", join(dir, "ca.pem"), "-verify_hostname", name, join(dir, "cert.pem")],
            {
              stdio: "pipe",
            },
          );
          return true;
        } catch {
          return false;
        }
      };
      expect(verify("db.example.test")).toBe(true);
      expect(verify("other.example.test")).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
