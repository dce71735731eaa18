import { beforeAll, describe, expect, it } from "vitest";
import { RUNNER_READY_MARKER } from "../../components/docker/startup-commands";
import { INIT_COMMAND, memberStartArguments } from "../../components/render/commands";
import { RUNNER_CLIENT_CN } from "../../components/render/pgbackrest-conf";
import { shellCommand } from "../../components/render/shell-quote";
import { VERIFY_FAILED_MARKER } from "../../components/render/verify-repository";
import type { RenderedFiles } from "../../components/spec/cluster-spec";
import { MiB } from "../../components/spec/units";
import {
  CONTAINER,
  containerNamed,
  type Deployment,
  deployDockerCluster,
  ofType,
  type RegisteredResource,
  services,
  uploadsOf,
} from "./mock-deployment";

let dev: Deployment;
beforeAll(async () => {
  dev = await deployDockerCluster("dev");
});

const members = () =>
  dev.spec.members.map((member) => ({
    member,
    container: containerNamed(dev, `pgstack-dev-${member.name}`),
  }));
const script = (container: RegisteredResource) => {
  const command = container.inputs.command as string[];
  expect(command.slice(0, 2)).toEqual(["sh", "-c"]);
  return command[2].split("\n");
};

describe("every long-running container", () => {
  it("has a healthcheck with interval, timeout, retries and start period", () => {
    // Members, runner, MinIO; an exporter per member; Prometheus, Alertmanager and the Pushgateway.
    expect(services(dev)).toHaveLength(9);
    for (const container of services(dev)) {
      const healthcheck = container.inputs.healthcheck as Record<string, unknown>;
      expect(healthcheck, container.name).toBeDefined();
      expect((healthcheck.tests as string[])[0]).toBe("CMD");
      // Go duration strings, as the provider reads them back (provider-forms.test.ts).
      expect(healthcheck.interval).toMatch(/^(\d+h)?(\d+m)?\d+s$/);
      expect(healthcheck.timeout).toMatch(/^(\d+h)?(\d+m)?\d+s$/);
      expect(healthcheck.retries).toBeGreaterThan(0);
      expect(healthcheck.startPeriod).toMatch(/^(\d+h)?(\d+m)?\d+s$/);
    }
  });

  it("has a memory limit without swap, a CPU limit, restart unless-stopped and rotated json-file logs", () => {
    for (const container of services(dev)) {
      const { inputs } = container;
      expect(inputs.memory, container.name).toBeGreaterThan(0);
      expect(inputs.memorySwap).toBe(inputs.memory);
      expect(Number(inputs.cpus)).toBeGreaterThan(0);
      expect(inputs.restart).toBe("unless-stopped");
      expect(inputs.logDriver).toBe("json-file");
      expect(inputs.logOpts).toEqual({ "max-size": "10m", "max-file": "5" });
    }
  });

  it("cannot gain privileges: no capabilities, no-new-privileges", () => {
    for (const container of ofType(dev, CONTAINER)) {
      expect(container.inputs.capabilities, container.name).toEqual({ drops: ["ALL"] });
      expect(container.inputs.securityOpts).toEqual(["no-new-privileges:true"]);
    }
  });
});

describe("database members", () => {
  it("run the spec's healthcheck and resources (memory in MB, /dev/shm from shmBytes)", () => {
    const { resources, commands } = dev.spec;
    for (const { container } of members()) {
      expect((container.inputs.healthcheck as { tests: string[] }).tests).toEqual([
        "CMD",
        ...commands.healthcheck,
      ]);
      expect(container.inputs.memory).toBe(resources.memoryLimitBytes / MiB);
      expect(container.inputs.memoryReservation).toBe(resources.memoryRequestBytes / MiB);
      expect(Number(container.inputs.cpus)).toBe(resources.cpus);
      expect(container.inputs.shmSize).toBe(Math.ceil(resources.shmBytes / MiB));
      expect(container.inputs.user).toBe("999:999");
    }
  });

  it("receive every rendered file read-only (root-owned, 0444/0555) with the spec's exact content", () => {
    const { layout, files } = dev.spec;
    const expected: [string, keyof RenderedFiles, string][] = [
      [`${layout.configDir}/postgresql.conf`, "postgresql.conf", "0444"],
      [`${layout.configDir}/pg_hba.conf`, "pg_hba.conf", "0444"],
      [`${layout.configDir}/pg_ident.conf`, "pg_ident.conf", "0444"],
      [`${layout.configDir}/check-data-dir.sh`, "check-data-dir.sh", "0555"],
      [`${layout.configDir}/init-roles.sh`, "init-roles.sh", "0555"],
      [`${layout.configDir}/bootstrap-replica.sh`, "bootstrap-replica.sh", "0555"],
      [`${layout.pgbackrestConfigDir}/pgbackrest.conf`, "pgbackrest.conf", "0444"],
    ];
    for (const { container } of members()) {
      const uploads = uploadsOf(container);
      for (const [file, name, mode] of expected) {
        const upload = uploads.find((u) => u.file === file);
        expect(upload, `${container.name} ${file}`).toMatchObject({
          owner: "0",
          group: "0",
          permissions: mode,
        });
        expect(upload?.content).toBe(files[name]);
      }
    }
  });

  it("run tini as PID 1 and the rendered start-member.sh, never the official image's entrypoint", () => {
    for (const { container } of members()) {
      expect(container.inputs.entrypoints, container.name as string).toEqual(INIT_COMMAND);
      // Docker's own init would put a second tini in front of the spec's.
      expect(container.inputs.init, container.name as string).toBeUndefined();
      const uploads = uploadsOf(container);
      expect(uploads.some((u) => u.file.startsWith("/docker-entrypoint-initdb.d/"))).toBe(false);
      const start = uploads.find((u) => u.file === `${dev.spec.layout.configDir}/start-member.sh`);
      expect(start?.content).toBe(dev.spec.files["start-member.sh"]);
    }
  });

  it("no secret and no initdb setting in a member's environment: paths only", () => {
    for (const { container } of members()) {
      expect(container.inputs.envs).toEqual([
        `PGDATA=${dev.spec.layout.dataDir}`,
        "PGHOST=/var/run/postgresql",
        "PGPORT=5432",
      ]);
    }
  });

  it("primary: the pgBackRest TLS server twice-forked under tini, then start-member.sh primary", () => {
    const { commands } = dev.spec;
    const lines = script(containerNamed(dev, "pgstack-dev-primary"));
    expect(lines[0]).toBe("set -eu");
    expect(lines[1]).toContain(shellCommand(commands.pgbackrestServer));
    expect(lines[1]).toMatch(/^\( while :; do .* done & \)$/);
    expect(lines[2]).toBe(`exec ${shellCommand(memberStartArguments(dev.spec, "primary"))}`);
    expect(lines).toHaveLength(3);
  });

  it("replica: start-member.sh replica with its slot (bootstrap, integrity check, postgres; never initdb)", () => {
    const replica = containerNamed(dev, "pgstack-dev-replica-1");
    expect(replica.inputs.command).toEqual(memberStartArguments(dev.spec, "replica-1"));
    expect((replica.inputs.command as string[]).slice(-2)).toEqual(["replica", "replica_1"]);
  });

  it("members change only after the switchover gate, together (their start scripts order them), and `up` waits for each to be healthy", () => {
    const primary = containerNamed(dev, "pgstack-dev-primary");
    const replica = containerNamed(dev, "pgstack-dev-replica-1");
    const gate = ofType(dev, CONTAINER).find((c) =>
      String(c.inputs.name).startsWith("pgstack-dev-switchover-gate-"),
    ) as RegisteredResource;
    expect(gate.inputs.attach).toBe(true);
    // Named by what it runs, so a new gate is created before the old one is deleted: a fixed name
    // would be deleted first, and Pulumi would delete the members (their inputs come from it) before.
    expect(gate.inputs.name).toMatch(/^pgstack-dev-switchover-gate-[0-9a-f]{12}$/);
    expect(gate.inputs.command).toEqual(["sh", "/etc/pgstack/switchover-gate.sh", "primary"]);
    for (const member of [primary, replica]) expect(member.dependencies).toContain(gate.urn);
    // A switchover replaces both at once: the new primary waiting on the old would never see it stop.
    expect(replica.dependencies).not.toContain(primary.urn);
    expect(primary.inputs.wait).toBe(true);
    expect(primary.inputs.waitTimeout).toBeGreaterThanOrEqual(60);
    expect(replica.inputs.wait).toBe(true);
    // As long as its start period, which covers the first clone of the primary.
    expect(replica.inputs.waitTimeout).toBe(30 * 60);
  });

  it("are reachable by the host names of the layout on the stack's network, the primary also as -rw", () => {
    for (const { member, container } of members()) {
      const readWrite = member.role === "primary" ? ["pgstack-dev-rw"] : [];
      expect(container.inputs.networksAdvanced).toEqual([
        { name: "pgstack-dev", aliases: [dev.spec.layout.hosts[member.name], ...readWrite] },
      ]);
    }
    expect(dev.outputs.replicaHosts).toEqual(["pgstack-dev-replica-1"]);
  });

  it("get certificates valid in either role: every member's holds the -rw alias", () => {
    const requests = dev.resources.filter((r) => r.type === "tls:index/certRequest:CertRequest");
    for (const member of dev.spec.members) {
      const host = dev.spec.layout.hosts[member.name];
      const request = requests.find((r) => (r.inputs.dnsNames as string[])[0] === host);
      expect(request?.inputs.dnsNames, member.name).toContain("pgstack-dev-rw");
    }
  });

  it("get a server certificate of the stack CA for their layout host name", () => {
    const requests = dev.resources.filter((r) => r.type === "tls:index/certRequest:CertRequest");
    for (const member of dev.spec.members) {
      const host = dev.spec.layout.hosts[member.name];
      expect(
        requests.some((r) => (r.inputs.dnsNames as string[]).includes(host)),
        host,
      ).toBe(true);
    }
  });
});

describe("backup runner", () => {
  const runner = () => containerNamed(dev, "pgstack-dev-backup-runner");

  it("runs the spec's backups on the spec's schedules, each reported (with the certificates' expiry) and followed by verify-repository.sh", () => {
    const { archive, commands, layout, monitoring } = dev.spec;
    const crontab = uploadsOf(runner()).find((u) => u.file === `${layout.configDir}/backup.crontab`);
    expect(crontab?.permissions).toBe("0444");
    const jobs = (crontab?.content ?? "").split("\n").filter((line) => line !== "" && !line.startsWith("#"));
    const verify = shellCommand(commands.verifyRepository);
    const report = (step: string) =>
      `{ sh /etc/pgstack/report-job.sh ${step} ok || true; } && { sh /etc/pgstack/report-certificates.sh || true; }`;
    expect(jobs).toEqual([
      `${archive.schedules.full} ${shellCommand(commands.runnerBackupFull)} && ${report("backup-full")} && ${verify}`,
      `${archive.schedules.diff} ${shellCommand(commands.runnerBackupDiff)} && ${report("backup-diff")} && ${verify}`,
      `${archive.drillSchedule} ${shellCommand(commands.restoreDrill)}`,
    ]);
    expect(runner().inputs.envs).toEqual(["TZ=UTC", `PGSTACK_PUSHGATEWAY=${monitoring.pushgatewayUrl}`]);
    for (const script of [
      "verify-repository.sh",
      "report-job.sh",
      "report-certificates.sh",
      "restore-drill.sh",
    ]) {
      const upload = uploadsOf(runner()).find((u) => u.file === `${layout.configDir}/${script}`);
      expect(upload?.permissions, script).toBe("0555");
      expect(upload?.owner, script).toBe("0");
    }
  });

  it("creates the stanza, checks the chain, takes a first backup if none, marks itself ready, then hands over to supercronic", () => {
    const lines = script(runner());
    expect(lines[1]).toBe(`rm -f ${RUNNER_READY_MARKER}`);
    expect(lines[2]).toBe(shellCommand(dev.spec.commands.runnerStanzaCreate));
    expect(lines[3]).toBe(shellCommand(dev.spec.commands.runnerCheck));
    expect(lines).toContain(`    ${shellCommand(dev.spec.commands.runnerBackupFull)}`);
    expect(lines.at(-2)).toBe(`touch ${RUNNER_READY_MARKER}`);
    expect(lines.at(-1)).toBe(`exec supercronic ${dev.spec.layout.configDir}/backup.crontab`);
  });

  it("is healthy only once ready and while no verify failed, and `up` waits for it: broken archiving fails `up`", () => {
    const { healthcheck, wait, waitTimeout } = runner().inputs as {
      healthcheck: { tests: string[]; startPeriod: string };
      wait: boolean;
      waitTimeout: number;
    };
    expect(healthcheck.tests.slice(0, 3)).toEqual(["CMD", "sh", "-c"]);
    expect(healthcheck.tests[3]).toMatch(
      new RegExp(
        `^test -f ${RUNNER_READY_MARKER} && test ! -e ${VERIFY_FAILED_MARKER} && exec pgbackrest server-ping `,
      ),
    );
    expect(wait).toBe(true);
    expect(waitTimeout).toBeGreaterThanOrEqual(300);
  });

  it("holds the runner config and a client certificate whose CN the primary's TLS server admits", () => {
    const uploads = uploadsOf(runner());
    expect(
      uploads.find((u) => u.file === `${dev.spec.layout.runner.configDir}/pgbackrest.conf`)?.content,
    ).toBe(dev.spec.files["pgbackrest-runner.conf"]);
    const clientRequest = dev.resources.find(
      (r) =>
        r.type === "tls:index/certRequest:CertRequest" &&
        (r.inputs.subject as { commonName: string }).commonName === RUNNER_CLIENT_CN,
    );
    expect(clientRequest).toBeDefined();
    expect(dev.spec.files["pgbackrest.conf"]).toContain(`tls-server-auth=${RUNNER_CLIENT_CN}=`);
  });

  it("starts after the primary is healthy", () => {
    expect(runner().dependencies).toContain(containerNamed(dev, "pgstack-dev-primary").urn);
  });
});
