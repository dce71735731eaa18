import { describe, expect, it } from "vitest";
import { DOCKER_CONTAINER } from "../../policies/rules/docker";
import { K8S } from "../../policies/rules/pod-templates";
import {
  postgresDurability,
  postgresHbaNoTrust,
  postgresMemoryBudget,
  postgresProductionReadiness,
  postgresWalConsistency,
} from "../../policies/rules/postgres";
import { devCluster, devSpec, GOOD_CONF, GOOD_HBA } from "./cluster-fixtures";
import { resource, verdictOf, violations } from "./harness";

/** GOOD_CONF with one line replaced or appended (PostgreSQL reads the last occurrence). */
const withSetting = (line: string) => `${GOOD_CONF}${line}\n`;

describe("postgres-durability", () => {
  it("passes fsync, full_page_writes and synchronous_commit on", async () => {
    expect(await violations(postgresDurability, devCluster())).toEqual([]);
  });
  it("fails fsync=off and full_page_writes=off", async () => {
    expect(
      (await violations(postgresDurability, devCluster({ conf: withSetting("fsync = off") })))[0],
    ).toMatch(
      /postgresql.conf in pgstack-dev-primary sets fsync=off, which corrupts the database on a crash .* remove the fsync override from pgstack:parameters/,
    );
    expect(
      await violations(postgresDurability, devCluster({ conf: withSetting("full_page_writes = false") })),
    ).toHaveLength(1);
  });
  it("fails synchronous_commit=off unless the stack's config allows it", async () => {
    const cluster = devCluster({ conf: withSetting("synchronous_commit = off") });
    expect((await violations(postgresDurability, cluster))[0]).toMatch(
      /sets synchronous_commit=off, which loses acknowledged commits/,
    );
    const dev = {
      "postgres-durability": { enforcementLevel: "advisory" as const, allowAsynchronousCommit: true },
    };
    expect(await violations(postgresDurability, cluster, dev)).toEqual([]);
  });
  it("does not apply to a stack without a cluster", async () => {
    expect(
      (await verdictOf(postgresDurability, [resource(DOCKER_CONTAINER, "other", { image: "redis:7.2.5" })]))
        .status,
    ).toBe("not-applicable");
  });
});

describe("postgres-wal-consistency", () => {
  it("passes the computed WAL settings for one replica", async () => {
    expect(await violations(postgresWalConsistency, devCluster())).toEqual([]);
  });
  it("fails wal_level=minimal with replicas", async () => {
    expect(
      (await violations(postgresWalConsistency, devCluster({ conf: withSetting("wal_level = minimal") })))[0],
    ).toMatch(/sets wal_level=minimal, which cannot feed 1 replica\(s\): use wal_level=replica/);
  });
  it("fails archive_mode on without archive_command", async () => {
    expect(
      (
        await violations(postgresWalConsistency, devCluster({ conf: withSetting("archive_command = ''") }))
      )[0],
    ).toMatch(/turns archive_mode on with no archive_command/);
  });
  it("fails too few WAL senders or slots for the replicas", async () => {
    const spec = devSpec({
      members: [
        { name: "primary", role: "primary" },
        { name: "replica-1", role: "replica", slot: "replica_1" },
        { name: "replica-2", role: "replica", slot: "replica_2" },
      ],
    });
    const messages = await violations(
      postgresWalConsistency,
      devCluster({ spec, conf: withSetting("max_wal_senders = 2\nmax_replication_slots = 1") }),
    );
    expect(messages).toEqual([
      expect.stringMatching(/max_wal_senders=2 for 2 replica\(s\): it needs at least 3/),
      expect.stringMatching(/max_replication_slots=1 for 2 replica\(s\).*at least 2/),
    ]);
  });
  it("fails an unbounded or volume-sized max_slot_wal_keep_size", async () => {
    expect(
      (
        await violations(
          postgresWalConsistency,
          devCluster({ conf: withSetting("max_slot_wal_keep_size = -1") }),
        )
      )[0],
    ).toMatch(/leaves max_slot_wal_keep_size unbounded \(-1\)/);
    expect(
      (
        await violations(
          postgresWalConsistency,
          devCluster({ conf: withSetting("max_slot_wal_keep_size = 20GB") }),
        )
      )[0],
    ).toMatch(/max_slot_wal_keep_size to 20480MB, not below the 10240MB volume/);
  });
});

describe("postgres-memory-budget", () => {
  it("passes settings that fit the limit", async () => {
    expect(await violations(postgresMemoryBudget, devCluster())).toEqual([]);
  });
  it("fails a work_mem override that overflows the limit, showing the terms", async () => {
    const [message] = await violations(
      postgresMemoryBudget,
      devCluster({ conf: withSetting("work_mem = 64MB") }),
    );
    expect(message).toMatch(
      /can use \d+MB \(shared_buffers 512MB \+ wal_buffers 16MB \+ \(max_connections \+ max_parallel_workers\) × work_mem × hash_mem_multiplier 6656MB/,
    );
    expect(message).toMatch(/container limit is 2048MB: lower work_mem, shared_buffers or max_connections/);
  });
  it("uses the container's own limit when it is below the spec's", async () => {
    expect((await violations(postgresMemoryBudget, devCluster({ memoryMb: 1024 })))[0]).toMatch(
      /container limit is 1024MB/,
    );
  });
  it("fails when the cluster exposes no spec", async () => {
    const withoutSpec = devCluster().slice(1);
    expect((await violations(postgresMemoryBudget, withoutSpec))[0]).toMatch(
      /must register its ClusterSpec as the `spec` output/,
    );
  });
});

describe("postgres-hba-no-trust", () => {
  it("passes peer on the socket and scram-sha-256 on the network (and trust on the socket)", async () => {
    expect(
      await violations(postgresHbaNoTrust, devCluster({ hba: `${GOOD_HBA}local all all trust\n` })),
    ).toEqual([]);
  });
  it("fails trust over TCP, naming the line", async () => {
    const [message] = await violations(
      postgresHbaNoTrust,
      devCluster({ hba: `${GOOD_HBA}host all all 0.0.0.0/0 trust\n` }),
    );
    expect(message).toMatch(
      /pg_hba.conf in pgstack-dev-primary line 5 \("host all all 0.0.0.0\/0 trust"\) lets anyone from 0.0.0.0\/0 in without a password: use scram-sha-256/,
    );
  });
});

describe("postgres-production-readiness", () => {
  const devConfig = {
    "postgres-production-readiness": {
      enforcementLevel: "advisory" as const,
      minReplicas: 0,
      requireProtection: false,
    },
  };
  it("passes a protected cluster with a replica, archiving and deployed schedules", async () => {
    expect(await violations(postgresProductionReadiness, devCluster({ protect: true }))).toEqual([]);
  });
  it("fails with no replica, naming the key", async () => {
    const spec = devSpec({ members: [{ name: "primary", role: "primary" }] });
    expect((await violations(postgresProductionReadiness, devCluster({ spec, protect: true })))[0]).toMatch(
      /has 0 replica\(s\); this stack requires at least 1: set pgstack:replicas/,
    );
  });
  it("fails when archiving is switched off", async () => {
    expect(
      (
        await violations(
          postgresProductionReadiness,
          devCluster({ protect: true, conf: withSetting("archive_mode = off") }),
        )
      )[0],
    ).toMatch(/does not archive WAL with pgBackRest \(archive_mode=off/);
  });
  it("fails a schedule that no resource deploys", async () => {
    const [message] = await violations(
      postgresProductionReadiness,
      devCluster({ protect: true, crontab: "0 3 * * 0 pgbackrest --type=full backup\n" }),
    );
    expect(message).toMatch(/the diff backup schedule "0 3 \* \* 1-6" is deployed by no resource/);
  });
  it("fails unprotected data volumes, and the dev config relaxes it", async () => {
    expect((await violations(postgresProductionReadiness, devCluster()))[0]).toMatch(
      /Volume pgstack-dev-primary-data holds data but is not protected: set pgstack:protect true/,
    );
    expect(await violations(postgresProductionReadiness, devCluster(), devConfig)).toEqual([]);
  });
});

describe("postgres-memory-budget: the pgBackRest TLS server sidecar", () => {
  const primaryWithSidecar = (memory: string) =>
    resource(K8S.statefulSet, "pgstack-dev-primary-sts", {
      metadata: { name: "pgstack-dev-primary" },
      spec: {
        template: {
          spec: {
            containers: [
              { name: "postgres", command: ["postgres"], resources: { limits: { memory: "2Gi" } } },
              {
                name: "pgbackrest-server",
                command: ["pgbackrest", "server", "--config=/etc/pgbackrest/pgbackrest.conf"],
                resources: { limits: { memory } },
              },
            ],
          },
        },
      },
    });
  it("passes a sidecar limit that covers pgBackRest's main process and its process-max workers", async () => {
    expect(await violations(postgresMemoryBudget, [...devCluster(), primaryWithSidecar("320Mi")])).toEqual(
      [],
    );
  });
  it("fails a sidecar limit under 256MB + 64MB per process", async () => {
    expect(await violations(postgresMemoryBudget, [...devCluster(), primaryWithSidecar("256Mi")])).toEqual([
      expect.stringMatching(
        /StatefulSet pgstack-dev-primary: the pgBackRest TLS server's container has a 256MB limit, under pgBackRest's 320MB for process-max=1/,
      ),
    ]);
  });
});
