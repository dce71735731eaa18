import { beforeAll, describe, expect, it } from "vitest";
import type { AnalyzedResource } from "../../scripts/plan/evaluate-policies";
import { captureStack, evaluateStack, messagesOf, mutate, toAnalyzed } from "./program-run";

let resources: AnalyzedResource[];

beforeAll(async () => {
  // captureStack installs Pulumi's mocks before it imports the program.
  resources = toAnalyzed(await captureStack("prod"));
});

const ofType = (type: string) => (r: AnalyzedResource) => r.type === type;

describe("the real prod program (Kubernetes + AWS) under the prod policy config", () => {
  it("passes every policy, and the Kubernetes, AWS, PostgreSQL and isolation policies really apply", async () => {
    const report = await evaluateStack(resources, "prod");
    expect(report.verdicts.filter((v) => v.status === "fail")).toEqual([]);
    const applied = report.verdicts.filter((v) => v.status === "pass").map((v) => v.policy);
    expect(applied).toEqual(
      expect.arrayContaining([
        "k8s-requests-and-limits",
        "k8s-probes",
        "k8s-restricted-pod-security",
        "k8s-volume-retention",
        "k8s-postgres-not-exposed",
        "k8s-network-policy",
        "k8s-cronjob-safety",
        "k8s-no-plaintext-secrets",
        "aws-bucket-encryption",
        "aws-bucket-versioning",
        "aws-bucket-public-access-block",
        "aws-bucket-tls-only",
        "aws-lifecycle-keeps-current",
        "aws-iam-scoped-to-archive",
        "postgres-durability",
        "postgres-wal-consistency",
        "postgres-memory-budget",
        "postgres-hba-no-trust",
        "postgres-production-readiness",
        "stack-isolation",
      ]),
    );
    expect(report.mandatoryFailures).toEqual([]);
  });
  it("blocks (mandatory) a StatefulSet that would delete its volumes and a Service exposed outside the cluster", async () => {
    const deleting = mutate(resources, ofType("kubernetes:apps/v1:StatefulSet"), (props) => {
      props.spec.persistentVolumeClaimRetentionPolicy = { whenDeleted: "Delete", whenScaled: "Retain" };
    });
    const exposed = mutate(
      deleting,
      (r) => r.type === "kubernetes:core/v1:Service" && r.name === "pgstack-prod-rw",
      (props) => {
        props.spec.type = "LoadBalancer";
      },
    );
    const report = await evaluateStack(exposed, "prod");
    expect(messagesOf(report, "k8s-volume-retention")).toContainEqual(
      expect.stringMatching(/whenDeleted is Delete: set it to Retain/),
    );
    expect(messagesOf(report, "k8s-postgres-not-exposed")).toEqual([
      expect.stringMatching(/is LoadBalancer, which exposes PostgreSQL/),
    ]);
    expect(report.mandatoryFailures).toEqual(["k8s-volume-retention", "k8s-postgres-not-exposed"]);
  });
  it("blocks pods no NetworkPolicy selects", async () => {
    const unpoliced = resources.filter((r) => r.type !== "kubernetes:networking.k8s.io/v1:NetworkPolicy");
    const report = await evaluateStack(unpoliced, "prod");
    expect(messagesOf(report, "k8s-network-policy")).toContainEqual(
      expect.stringMatching(
        /StatefulSet pgstack-prod-primary in namespace pgstack-prod is selected by no NetworkPolicy/,
      ),
    );
    expect(report.mandatoryFailures).toContain("k8s-network-policy");
  });
  it("blocks an unversioned bucket, a broad IAM grant and an unprotected bucket", async () => {
    const suspended = mutate(resources, ofType("aws:s3/bucketVersioning:BucketVersioning"), (props) => {
      props.versioningConfiguration.status = "Suspended";
    });
    const broad = mutate(suspended, ofType("aws:iam/rolePolicy:RolePolicy"), (props) => {
      props.policy = JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Sid: "All", Effect: "Allow", Action: "s3:*", Resource: "*" }],
      });
    });
    const unprotected = broad.map((r) => (r.type === "aws:s3/bucket:Bucket" ? { ...r, protect: false } : r));
    const report = await evaluateStack(unprotected, "prod");
    expect(messagesOf(report, "aws-bucket-versioning")).toEqual([
      expect.stringMatching(/bucket acme-pgstack-prod-wal is not versioned.*status is Suspended/),
    ]);
    expect(messagesOf(report, "aws-iam-scoped-to-archive")).toContainEqual(
      expect.stringMatching(/statement All allows s3:\*/),
    );
    expect(messagesOf(report, "postgres-production-readiness")).toContainEqual(
      expect.stringMatching(/Bucket acme-pgstack-prod-wal holds data but is not protected/),
    );
    expect(report.mandatoryFailures).toEqual(
      expect.arrayContaining([
        "aws-bucket-versioning",
        "aws-iam-scoped-to-archive",
        "postgres-production-readiness",
      ]),
    );
  });
  it("blocks a delivered config with synchronous_commit off and trust over TCP", async () => {
    const broken = mutate(resources, ofType("kubernetes:core/v1:ConfigMap"), (props) => {
      if (props.data?.["postgresql.conf"]) props.data["postgresql.conf"] += "\nsynchronous_commit = off\n";
      if (props.data?.["pg_hba.conf"]) props.data["pg_hba.conf"] += "host all all 0.0.0.0/0 trust\n";
    });
    const report = await evaluateStack(broken, "prod");
    expect(messagesOf(report, "postgres-durability")).toEqual([
      expect.stringMatching(/sets synchronous_commit=off/),
    ]);
    expect(messagesOf(report, "postgres-hba-no-trust")).toEqual([
      expect.stringMatching(/"host all all 0.0.0.0\/0 trust"\) lets anyone/),
    ]);
    expect(report.mandatoryFailures).toEqual(
      expect.arrayContaining(["postgres-durability", "postgres-hba-no-trust"]),
    );
  });
  it("blocks a cluster whose spec has no replica", async () => {
    const single = mutate(resources, ofType("pgstack:kubernetes:PostgresCluster"), (props) => {
      props.spec.members = props.spec.members.filter((m: { role: string }) => m.role === "primary");
    });
    const report = await evaluateStack(single, "prod");
    expect(messagesOf(report, "postgres-production-readiness")).toEqual([
      expect.stringMatching(/has 0 replica\(s\); this stack requires at least 1/),
    ]);
  });
});
