import assert from "node:assert/strict";
import { parseStackConfig } from "../../../components/config/parse-stack-config";
import { readStackFiles } from "../../../components/config/stack-files";
import { buildClusterSpec } from "../../../components/spec/build-cluster-spec";
import { PROJECT_DIR } from "./captured-stack";
import type { Member } from "./member";
import { pollUntil } from "./poll";
import type { Proof } from "./proofs";
import type { ProvingCluster } from "./proving-cluster";

/**
 * A changed max_connections (a hot-standby setting) rolled out as the platforms roll it: every
 * member gets the new postgresql.conf at once and restarts (their StatefulSets or containers are
 * not ordered), here in the order a concurrent roll must survive: the member that has to go
 * second restarts first. hot-standby-order.sh, run by start-member.sh, holds it back.
 */

const TABLE = "rollout_rows";
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Seconds the member restarted out of order is watched before the other one restarts. */
const HELD_BACK_MS = 5_000;

/** The postgresql.conf the program renders from the stack's files with `overrides` (pgstack: keys). */
function renderedSettings(cluster: ProvingCluster, overrides: Readonly<Record<string, unknown>>): string {
  const { values, secretKeys } = readStackFiles(PROJECT_DIR, cluster.spec.stack);
  const config = parseStackConfig({ ...values, ...overrides }, secretKeys);
  return buildClusterSpec(config, { stack: cluster.spec.stack }).files["postgresql.conf"];
}

/** The replica, deployed and streaming (earlier proofs may have deployed it). */
async function streamingReplica(cluster: ProvingCluster): Promise<Member> {
  const replica = cluster.replicas[0];
  assert.ok(replica, "the stack has no replica");
  if (!replica.running()) await cluster.deployReplica(replica);
  await pollUntil(`${replica.name} to stream`, async () =>
    (await cluster.primary.sql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")) !== "0"
      ? true
      : undefined,
  );
  return replica;
}

/** A row committed on the primary shows on the replica; its replay is not paused. */
async function replicates(cluster: ProvingCluster, replica: Member, note: string): Promise<void> {
  await cluster.primary.sql(`CREATE TABLE IF NOT EXISTS ${TABLE} (note text)`);
  await cluster.primary.sql(`INSERT INTO ${TABLE} VALUES ('${note}')`);
  await pollUntil(
    `the row ${note} on ${replica.name}`,
    async () =>
      (await replica.sql(`SELECT count(*) FROM ${TABLE} WHERE note = '${note}'`)) === "1" ? true : undefined,
    { timeoutMs: 60_000 },
  );
  assert.equal(await replica.sql("SELECT pg_get_wal_replay_pause_state()"), "not paused");
}

/**
 * Starts a member without waiting for it (it is to be held back): resolves when it is ready, with
 * the time, and rejects only when awaited, so a start that fails meanwhile fails the proof.
 */
function startHeldBack(member: Member): () => Promise<number> {
  const outcome = member.start().then(
    () => ({ at: Date.now() }),
    (error: unknown) => ({ error }),
  );
  return async () => {
    const result = await outcome;
    if ("error" in result) throw result.error;
    return result.at;
  };
}

const maxConnections = async (member: Member) => Number(await member.sql("SHOW max_connections"));

/** Delivers max_connections = `value` to every member (as `pulumi up` would), restarting none. */
async function deliver(cluster: ProvingCluster, value: number | undefined): Promise<void> {
  await cluster.runtime.deliverSettings({
    "postgresql.conf": renderedSettings(
      cluster,
      value === undefined ? {} : { "pgstack:maxConnections": value },
    ),
  });
}

/** How much the stack's max_connections is raised by. */
const RAISE = 20;

export const raisedHotStandbySetting: Proof = {
  id: 40,
  title:
    "a raised max_connections, the primary restarted first: it waits for the replica to restart with the new value; replay never pauses",
  async run(cluster) {
    const { primary } = cluster;
    const replica = await streamingReplica(cluster);
    // The program renders what is deployed: the re-rendering below is the program's own.
    assert.equal(renderedSettings(cluster, {}), cluster.spec.files["postgresql.conf"]);
    const before = await maxConnections(primary);
    const raised = before + RAISE;
    await deliver(cluster, raised);

    await primary.stop();
    const primaryStarted = Date.now();
    const primaryReady = startHeldBack(primary);
    await sleep(HELD_BACK_MS);
    assert.equal(
      (await primary.ready()).ok,
      false,
      "the primary started while the replica ran the old value",
    );
    assert.match(
      primary.runtime.log(),
      new RegExp(`hot-standby-order: raised: max_connections ${before} -> ${raised};`),
    );
    // It read the replica's running values over the replication role's connection (TLS, pg_hba).
    const replicaHost = cluster.spec.layout.hosts[replica.name];
    assert.ok(
      primary.runtime.log().includes(`hot-standby-order: waiting for: ${replicaHost} (runs ${before}/`),
      `the primary did not read ${replicaHost}'s settings:\n${primary.runtime.log().slice(-3000)}`,
    );
    assert.equal(await maxConnections(replica), before);

    await replica.stop();
    await replica.start();
    // Stopped, the replica no longer holds the primary back (it starts with the new value anyway).
    const primaryReadyAt = await primaryReady();
    assert.equal(await maxConnections(primary), raised);
    assert.equal(await maxConnections(replica), raised);
    await replicates(cluster, replica, `after raising max_connections to ${raised}`);
    assert.doesNotMatch(replica.runtime.log(), /insufficient parameter settings/);
    return {
      figure: `max_connections ${before} -> ${raised}: the primary held back while the replica ran ${before}, ready ${seconds(primaryReadyAt - primaryStarted)} after its restart (the replica restarted meanwhile); streaming, replay not paused`,
    };
  },
};

export const loweredHotStandbySetting: Proof = {
  id: 41,
  title:
    "a lowered max_connections, the replica restarted first: it follows the primary with the old value until the primary runs the new one",
  async run(cluster) {
    const { primary } = cluster;
    const replica = await streamingReplica(cluster);
    const lowered = Number(/^max_connections = (\d+)/m.exec(renderedSettings(cluster, {}))?.[1]);
    let before = await maxConnections(primary);
    if (before <= lowered) {
      // Not raised by proof 40 (run alone): raise it first, in the order PostgreSQL needs.
      before = lowered + RAISE;
      await deliver(cluster, before);
      await replica.stop();
      await replica.start();
      await primary.stop();
      await primary.start();
      await replicates(cluster, replica, `after raising max_connections to ${before}`);
    }
    await deliver(cluster, undefined);

    await replica.stop();
    const replicaStarted = Date.now();
    const replicaReady = startHeldBack(replica);
    await sleep(HELD_BACK_MS);
    assert.equal((await replica.ready()).ok, false, "the replica started below the primary's value");
    assert.match(
      replica.runtime.log(),
      new RegExp(`hot-standby-order: lowered: max_connections ${before} -> ${lowered};`),
    );

    await primary.stop();
    await primary.start();
    const primaryReadyAt = Date.now();
    const replicaReadyAt = await replicaReady();
    assert.ok(primaryReadyAt <= replicaReadyAt, "the replica was ready before the primary");
    assert.equal(await maxConnections(primary), lowered);
    assert.equal(await maxConnections(replica), lowered);
    await replicates(cluster, replica, `after lowering max_connections to ${lowered}`);
    assert.doesNotMatch(replica.runtime.log(), /insufficient parameter settings/);
    return {
      figure: `max_connections ${before} -> ${lowered}: the replica waited ${seconds(replicaReadyAt - replicaStarted)} for the primary, then started with ${lowered}; streaming`,
    };
  },
};

export const ROLLOUT_PROOFS: readonly Proof[] = [raisedHotStandbySetting, loweredHotStandbySetting];
