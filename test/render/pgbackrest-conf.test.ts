import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  PGBACKREST_SECRET_INCLUDE_FILE,
  pgbackrestHasStsHost,
  pgbackrestSecretKeys,
  processMax,
  RUNNER_CLIENT_CN,
  renderPgbackrestConf,
  renderPgbackrestRunnerConf,
  renderPgbackrestSecretInclude,
} from "../../components/render/pgbackrest-conf";
import { fixtureModel } from "./fixtures";

/** section → key → value, as pgBackRest reads the file (comments on their own lines only). */
function parse(text: string): Record<string, Record<string, string>> {
  const sections: Record<string, Record<string, string>> = {};
  let current = "";
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = header[1];
      sections[current] = {};
      continue;
    }
    const equals = line.indexOf("=");
    expect(equals, `not an option line: ${line}`).toBeGreaterThan(0);
    sections[current][line.slice(0, equals)] = line.slice(equals + 1);
  }
  return sections;
}

const model = fixtureModel();
const member = renderPgbackrestConf(model);
const runner = renderPgbackrestRunnerConf(model);
const memberOptions = parse(member);
const runnerOptions = parse(runner);

describe("pgbackrest.conf (database members)", () => {
  it("describes the S3 repository with the layout's endpoint, port and CA", () => {
    expect(memberOptions.global).toMatchObject({
      "repo1-type": "s3",
      "repo1-s3-bucket": "pgstack-dev",
      "repo1-s3-endpoint": "pgstack-dev-s3",
      "repo1-storage-port": "9000",
      "repo1-s3-region": "us-east-1",
      "repo1-s3-uri-style": "path",
      "repo1-path": "/pgstack/dev",
      "repo1-storage-ca-file": "/etc/pgstack/tls/ca.crt",
      "repo1-s3-key-type": "shared",
      "repo1-cipher-type": "aes-256-cbc",
      "repo1-retention-full": "2",
      "repo1-retention-full-type": "count",
      "repo1-retention-diff": "3",
      "compress-type": "lz4",
      "process-max": "1",
    });
  });

  it("keeps backups by a recovery window in days (time), or by a count of fulls when one is configured", () => {
    const byTime = parse(
      renderPgbackrestConf(
        fixtureModel({ archive: { ...fixtureModel().archive, retentionFull: { type: "time", days: 14 } } }),
      ),
    );
    expect(byTime.global).toMatchObject({
      "repo1-retention-full": "14",
      "repo1-retention-full-type": "time",
    });
    const byCount = parse(
      renderPgbackrestConf(
        fixtureModel({ archive: { ...fixtureModel().archive, retentionFull: { type: "count", fulls: 4 } } }),
      ),
    );
    expect(byCount.global).toMatchObject({
      "repo1-retention-full": "4",
      "repo1-retention-full-type": "count",
    });
    // The runner runs expire (after each backup): it must read the same retention.
    const runnerByTime = parse(
      renderPgbackrestRunnerConf(
        fixtureModel({ archive: { ...fixtureModel().archive, retentionFull: { type: "time", days: 14 } } }),
      ),
    );
    expect(runnerByTime.global).toMatchObject({
      "repo1-retention-full": "14",
      "repo1-retention-full-type": "time",
    });
  });

  it("archives asynchronously through a spool on the data volume, with a short push timeout", () => {
    expect(memberOptions.global["archive-async"]).toBe("y");
    expect(memberOptions.global["spool-path"]).toBe("/var/lib/postgresql/data/pgbackrest-spool");
    expect(Number(memberOptions["global:archive-push"]["io-timeout"])).toBeLessThanOrEqual(10);
  });

  it("logs and locks where the layout says", () => {
    expect(memberOptions.global["log-path"]).toBe("/var/lib/postgresql/data/pgbackrest-log");
    expect(memberOptions.global["lock-path"]).toBe("/tmp/pgbackrest");
  });

  it("backs up with a fast checkpoint, comparing timestamps (checksumming everything only when pgBackRest distrusts them)", () => {
    expect(memberOptions["global:backup"]).toEqual({ "start-fast": "y" });
  });

  it("serves the runner over TLS, admitting only the runner's CN for this stanza", () => {
    expect(memberOptions["global:server"]).toEqual({
      "tls-server-address": "0.0.0.0",
      "tls-server-port": "8432",
      "tls-server-cert-file": "/etc/pgstack/tls/server.crt",
      "tls-server-key-file": "/etc/pgstack/tls/server.key",
      "tls-server-ca-file": "/etc/pgstack/tls/ca.crt",
      "tls-server-auth": `${RUNNER_CLIENT_CN}=pgstack-dev`,
    });
  });

  it("listens on every IPv6 address in an IPv6 pod network (0.0.0.0 would be IPv4 only)", () => {
    const v6 = fixtureModel({ network: { ...model.network, clusterCidr: "fd00:10::/56" } });
    expect(parse(renderPgbackrestConf(v6))["global:server"]["tls-server-address"]).toBe("::");
    const v4 = fixtureModel({ network: { ...model.network, clusterCidr: "10.0.0.0/16" } });
    expect(parse(renderPgbackrestConf(v4))["global:server"]["tls-server-address"]).toBe("0.0.0.0");
  });

  it("names the regional STS endpoint for web identity where pgBackRest has the option (2.59+)", () => {
    expect(pgbackrestHasStsHost("2.57.0")).toBe(false);
    expect(pgbackrestHasStsHost("2.59.0")).toBe(true);
    expect(pgbackrestHasStsHost("3.0.0")).toBe(true);
    const irsa = fixtureModel({ archive: { ...model.archive, keyType: "web-id", region: "eu-central-2" } });
    const sts = parse(renderPgbackrestConf(irsa)).global["repo1-s3-sts-host"];
    expect(sts).toBe(pgbackrestHasStsHost() ? "sts.eu-central-2.amazonaws.com" : undefined);
    expect(parse(renderPgbackrestConf(model)).global["repo1-s3-sts-host"]).toBeUndefined();
  });

  it("reaches the local PostgreSQL over its socket as the superuser", () => {
    expect(memberOptions["pgstack-dev"]).toEqual({
      "pg1-path": "/var/lib/postgresql/data/pgdata",
      "pg1-port": "5432",
      "pg1-socket-path": "/var/run/postgresql",
      "pg1-user": "postgres",
    });
  });

  it("leaves the cipher out when the repository is not encrypted, and keys out with web identity", () => {
    const irsa = fixtureModel({ archive: { ...model.archive, encrypted: false, keyType: "web-id" } });
    const options = parse(renderPgbackrestConf(irsa)).global;
    expect(options["repo1-cipher-type"]).toBeUndefined();
    expect(options["repo1-s3-key-type"]).toBe("web-id");
    expect(pgbackrestSecretKeys(irsa)).toEqual([]);
  });
});

describe("pgbackrest-runner.conf (backup runner)", () => {
  it("reaches the primary through its TLS server by DNS name", () => {
    expect(runnerOptions["pgstack-dev"]).toEqual({
      "pg1-host": "pgstack-dev-primary",
      "pg1-host-type": "tls",
      "pg1-host-port": "8432",
      "pg1-host-cert-file": `/etc/pgstack/runner-tls/${RUNNER_CLIENT_CN}.crt`,
      "pg1-host-key-file": `/etc/pgstack/runner-tls/${RUNNER_CLIENT_CN}.key`,
      "pg1-host-ca-file": "/etc/pgstack/runner-tls/ca.crt",
      "pg1-host-config": "/etc/pgbackrest/pgbackrest.conf",
      "pg1-host-config-include-path": "/etc/pgbackrest/conf.d",
      "pg1-host-config-path": "/etc/pgbackrest",
      "pg1-path": "/var/lib/postgresql/data/pgdata",
      "pg1-port": "5432",
      "pg1-socket-path": "/var/run/postgresql",
      "pg1-user": "postgres",
    });
  });

  it("uses the same repository as the members, and its own log and lock paths", () => {
    for (const [key, value] of Object.entries(memberOptions.global)) {
      if (key.startsWith("repo1-")) expect(runnerOptions.global[key], key).toBe(value);
    }
    expect(runnerOptions.global["log-path"]).toBe("/var/log/pgbackrest");
    expect(runnerOptions.global["lock-path"]).toBe("/tmp/pgbackrest-runner");
    expect(runnerOptions.global["archive-async"]).toBeUndefined();
  });
});

describe("secrets", () => {
  it("never appear in the rendered configs; the header names the keys the include file holds", () => {
    for (const text of [member, runner]) {
      expect(text).not.toMatch(/^repo1-(cipher-pass|s3-key|s3-key-secret)=/m);
      for (const key of ["repo1-cipher-pass", "repo1-s3-key", "repo1-s3-key-secret"])
        expect(text).toContain(`#     ${key}=<`);
      expect(text).toContain(PGBACKREST_SECRET_INCLUDE_FILE);
    }
  });

  it("are rendered into the include file only when the stack needs them", () => {
    expect(
      renderPgbackrestSecretInclude(model, {
        "repo1-cipher-pass": "pass",
        "repo1-s3-key": "key",
        "repo1-s3-key-secret": "secret",
      }),
    ).toBe("[global]\nrepo1-cipher-pass=pass\nrepo1-s3-key=key\nrepo1-s3-key-secret=secret\n");
    expect(() => renderPgbackrestSecretInclude(model, { "repo1-cipher-pass": "pass" })).toThrow(
      /repo1-s3-key is required/,
    );
    expect(() =>
      renderPgbackrestSecretInclude(model, {
        "repo1-cipher-pass": "a\nb",
        "repo1-s3-key": "k",
        "repo1-s3-key-secret": "s",
      }),
    ).toThrow(/line break/);
  });
});

describe("processMax", () => {
  it("uses half the CPUs, at least one, at most eight", () => {
    expect([0.5, 1, 2, 3, 4, 16, 64].map(processMax)).toEqual([1, 1, 1, 1, 2, 8, 8]);
  });
});

describe("pgBackRest 2.45 reads the rendered files", () => {
  const dir = mkdtempSync(join(tmpdir(), "pgstack-pgbackrest-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const include = join(dir, "conf.d");
  mkdirSync(include);
  writeFileSync(
    join(include, PGBACKREST_SECRET_INCLUDE_FILE),
    renderPgbackrestSecretInclude(model, {
      "repo1-cipher-pass": "test-cipher-pass",
      "repo1-s3-key": "test-key",
      "repo1-s3-key-secret": "test-secret",
    }),
  );

  /** `pgbackrest help <command> <option>` on a rendered file: the current value, and stderr. */
  function current(file: string, command: string, option: string) {
    const stanza = command === "server" ? [] : ["--stanza=pgstack-dev"];
    const result = spawnSync(
      "pgbackrest",
      [`--config=${file}`, `--config-include-path=${include}`, ...stanza, "help", command, option],
      { encoding: "utf8" },
    );
    expect(result.status, result.stderr).toBe(0);
    return { value: /^current: (.*)$/m.exec(result.stdout)?.[1], stderr: result.stderr };
  }

  const files = { member, runner } as const;
  it.each([
    ["member", "archive-push", "io-timeout", "10"],
    ["member", "archive-push", "archive-async", "true"],
    ["member", "archive-get", "spool-path", "/var/lib/postgresql/data/pgbackrest-spool"],
    ["member", "backup", "repo1-s3-endpoint", "pgstack-dev-s3"],
    ["member", "backup", "start-fast", "true"],
    ["member", "backup", "pg1-socket-path", "/var/run/postgresql"],
    ["member", "server", "tls-server-auth", `${RUNNER_CLIENT_CN}=pgstack-dev`],
    ["member", "server", "tls-server-port", "8432"],
    ["member", "restore", "pg1-path", "/var/lib/postgresql/data/pgdata"],
    ["runner", "backup", "pg1-host-config", "/etc/pgbackrest/pgbackrest.conf"],
    ["runner", "backup", "pg1-host-type", "tls"],
    ["runner", "backup", "repo1-s3-key-type", "shared"],
    ["runner", "backup", "lock-path", "/tmp/pgbackrest-runner"],
    ["runner", "check", "pg1-host-port", "8432"],
  ] as const)("%s: %s sees %s = %s, with no warning", (who, command, option, expected) => {
    const file = join(dir, `${who}.conf`);
    writeFileSync(file, files[who]);
    const { value, stderr } = current(file, command, option);
    expect(stderr).toBe("");
    expect(value).toBe(expected);
  });

  it("takes the secrets from the include directory", () => {
    const file = join(dir, "member.conf");
    writeFileSync(file, member);
    // help hides secure options' values; the key type proves the include was read alongside.
    const result = spawnSync(
      "pgbackrest",
      [
        `--config=${file}`,
        `--config-include-path=${include}`,
        "--stanza=pgstack-dev",
        "help",
        "backup",
        "repo1-s3-key",
      ],
      { encoding: "utf8" },
    );
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/current: <redacted>/);
  });
});
