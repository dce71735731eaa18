import { beforeAll, describe, expect, it } from "vitest";
import type { ClusterSpec } from "../../components/spec/cluster-spec";
import type { PolicedSpec } from "../../policies/rules/cluster-view";
import type { AnalyzedResource } from "../../scripts/plan/evaluate-policies";
import { captureStack, evaluateStack, messagesOf, mutate, toAnalyzed } from "./program-run";

// The pack reads a subset of the spec contract: this fails to compile if the two drift apart.
const specContract = (spec: ClusterSpec): PolicedSpec => spec;

let resources: AnalyzedResource[];

beforeAll(async () => {
  // captureStack installs Pulumi's mocks before it imports the program.
  resources = toAnalyzed(await captureStack("dev"));
});

const isContainer = (name: string) => (r: AnalyzedResource) =>
  r.type === "docker:index/container:Container" && r.name === name;

describe("the real dev program (Docker) under the dev policy config", () => {
  it("registers the cluster component with its spec", () => {
    const cluster = resources.find((r) => r.type === "pgstack:docker:PostgresCluster");
    expect(specContract(cluster?.props.spec as ClusterSpec).stack).toBe("dev");
  });
  it("passes every policy, and the Docker, PostgreSQL and isolation policies really apply", async () => {
    const report = await evaluateStack(resources, "dev");
    expect(report.verdicts.filter((v) => v.status === "fail")).toEqual([]);
    const applied = report.verdicts.filter((v) => v.status === "pass").map((v) => v.policy);
    expect(applied).toEqual(
      expect.arrayContaining([
        "docker-container-healthcheck",
        "docker-container-memory-limit",
        "docker-container-restart-policy",
        "docker-container-localhost-ports",
        "docker-image-pinned",
        "docker-config-read-only",
        "docker-volume-stack-name",
        "docker-no-plaintext-secrets",
        "postgres-durability",
        "postgres-wal-consistency",
        "postgres-memory-budget",
        "postgres-hba-no-trust",
        "postgres-production-readiness",
        "stack-isolation",
      ]),
    );
    expect(applied.filter((p) => p.startsWith("k8s-") || p.startsWith("aws-"))).toEqual([]);
  });
  it("is advisory in dev: violations are reported but block nothing", async () => {
    const published = mutate(resources, isContainer("pgstack-dev-primary"), (props) => {
      props.ports = [{ internal: 5432, external: 5432 }];
    });
    const report = await evaluateStack(published, "dev");
    expect(messagesOf(report, "docker-container-localhost-ports")).toEqual([
      expect.stringMatching(
        /pgstack-dev-primary publishes port 5432 on 0.0.0.0 \(ip unset\): set ports\[\].ip to "127.0.0.1"/,
      ),
    ]);
    expect(report.mandatoryFailures).toEqual([]);
  });
  it("catches a member whose delivered postgresql.conf turns fsync off or overflows the memory limit", async () => {
    const broken = mutate(resources, isContainer("pgstack-dev-primary"), (props) => {
      for (const upload of props.uploads) {
        if (String(upload.file).endsWith("/postgresql.conf"))
          upload.content += "\nfsync = off\nwork_mem = 1GB\n";
      }
    });
    const report = await evaluateStack(broken, "dev");
    expect(messagesOf(report, "postgres-durability")).toEqual([
      expect.stringMatching(/postgresql.conf in pgstack-dev-primary sets fsync=off/),
    ]);
    expect(messagesOf(report, "postgres-memory-budget")).toEqual([
      expect.stringMatching(/container limit is 2048MB: lower work_mem/),
    ]);
  });
  it("catches a volume shared across stacks and an unpinned image", async () => {
    const shared = mutate(
      resources,
      (r) => r.type === "docker:index/volume:Volume" && r.name === "pgstack-dev-primary-data",
      (props) => {
        props.name = "postgres-data";
      },
    );
    expect(messagesOf(await evaluateStack(shared, "dev"), "docker-volume-stack-name")).toContainEqual(
      expect.stringMatching(/volume postgres-data does not carry the stack name "dev"/),
    );
    const floating = mutate(
      resources,
      (r) => r.type === "docker:index/remoteImage:RemoteImage",
      (props) => {
        props.name = "minio/minio:latest";
      },
    );
    expect(messagesOf(await evaluateStack(floating, "dev"), "docker-image-pinned")).toEqual([
      expect.stringMatching(/"minio\/minio:latest" uses the moving tag latest/),
    ]);
  });
});
