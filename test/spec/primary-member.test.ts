import { describe, expect, it } from "vitest";
import { ConfigError } from "../../components/config/config-error";
import { memberDnsNames } from "../../components/kubernetes/tls";
import { primaryHost } from "../../components/spec/layout";
import { primaryLine, topologyMermaid } from "../../scripts/plan/topology";
import { committedStackSpec, devSpecWith } from "../observability/stack-specs";

/** The refusal of a dev config with `changes`, as the user reads it. */
function refusal(changes: Record<string, unknown>): string {
  try {
    devSpecWith(changes);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(changes)} to be refused`);
}

describe("pgstack:primary names the member that is primary", () => {
  it("defaults to the member named primary, the replicas streaming from their own slots", () => {
    const spec = committedStackSpec("dev");
    expect(spec.switchover).toEqual({ primary: "primary", failover: false });
    expect(spec.members).toEqual([
      { name: "primary", role: "primary" },
      { name: "replica-1", role: "replica", slot: "replica_1" },
    ]);
  });

  it("after a switchover to replica-1, every reference to the primary follows it", () => {
    const spec = devSpecWith({ primary: "replica-1", replicas: 2 });
    expect(spec.members).toEqual([
      { name: "primary", role: "replica", slot: "primary" },
      { name: "replica-1", role: "primary" },
      { name: "replica-2", role: "replica", slot: "replica_2" },
    ]);
    const newPrimary = spec.layout.hosts["replica-1"];
    expect(primaryHost(spec)).toBe(newPrimary);
    // The runner's repository host, the replicas' clone source and their slots.
    expect(spec.files["pgbackrest-runner.conf"]).toContain(`pg1-host=${newPrimary}\n`);
    expect(spec.files["bootstrap-replica.sh"]).toContain(`primary_host=${newPrimary}\n`);
    expect(spec.files["bootstrap-replica.sh"]).toMatch(/^ {2}primary \| replica_2\) ;;$/m);
    expect(spec.files["start-member.sh"]).toContain(`primary_host=${newPrimary}\n`);
  });

  it("gives every prod member a certificate valid in both roles (the -rw and -ro Services)", () => {
    const spec = committedStackSpec("prod");
    for (const member of spec.members) {
      const names = memberDnsNames(spec, member);
      expect(names, member.name).toContain(`${spec.name}-rw.${spec.network.namespace}.svc.cluster.local`);
      expect(names, member.name).toContain(`${spec.name}-ro.${spec.network.namespace}.svc.cluster.local`);
    }
  });

  it("refuses a member that does not exist, naming the members and the fix", () => {
    const message = refusal({ primary: "replica-2" });
    expect(message).toContain('pgstack:primary = "replica-2"');
    expect(message).toContain("the members are primary, replica-1");
    expect(message).toContain("fix: pulumi config set pgstack:primary replica-1");
  });

  it("refuses a name that is not a member name at all", () => {
    const message = refusal({ primary: "replica1" });
    expect(message).toContain('pgstack:primary = "replica1"');
    expect(message).toContain('expected a member name: "primary" or "replica-N"');
  });

  it("refuses a failover with no replica to promote", () => {
    const message = refusal({ failover: true, replicas: 0 });
    expect(message).toContain("pgstack:failover = true");
    expect(message).toContain("needs a replica to promote");
  });
});

describe("the plan shows the primary and the topology", () => {
  it("names the primary and the switchover a change of pgstack:primary performs", () => {
    expect(primaryLine(committedStackSpec("dev"))).toBe(
      "primary (pgstack-dev-primary); pgstack:primary=replica-1 switches over (README, Switchover and failover)",
    );
    expect(primaryLine(devSpecWith({ primary: "replica-1", failover: true }))).toContain(
      "FAILOVER: the old primary is not stopped cleanly",
    );
  });

  it("draws members, roles, slots, runner and repository, and what a switchover changes", () => {
    const diagram = topologyMermaid(devSpecWith({ primary: "replica-1" }));
    expect(diagram.split("\n")[0]).toBe("flowchart LR");
    expect(diagram).toContain('member_replica_1["replica-1<br/>PRIMARY"]');
    expect(diagram).toContain('member_primary["primary<br/>replica, slot primary"]');
    expect(diagram).toContain('member_replica_1 -->|"streams WAL, slot primary"| member_primary');
    expect(diagram).toContain('runner["backup runner<br/>pg1-host pgstack-dev-replica-1"]');
    expect(diagram).toContain("repository[(");
    expect(diagram).toContain(
      'member_primary -.->|"pgstack:primary=primary: promoted; rw, pg1-host and slots follow it; replica-1 rejoins by pg_rewind"| member_replica_1',
    );
  });
});
