import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { primaryMember } from "../../../components/spec/layout";
import { captureChanged } from "./captured-stack";
import type { Member } from "./member";
import { pollUntil } from "./poll";
import type { ApplyReport } from "./program-change";
import { insertRows, phaseCounts, serverTime } from "./proof-rows";
import type { Proof } from "./proofs";
import type { ProvingCluster } from "./proving-cluster";

/**
 * Switchover and failover as `pulumi up` of a changed `pgstack:primary`: the program captured
 * again with the new config and its changes applied as the platform applies them, in Pulumi's
 * order (PlatformRuntime.apply), with an application writing throughout.
 */

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A client's pause before it tries again after a failed write. */
const RETRY_MS = 100;

/** The table the writer inserts into: ids from the writer, so it knows which commits were acknowledged. */
const TABLE = "switchover_writes";

interface WriteLog {
  /** Ids whose INSERT returned success (acknowledged commits), with when. */
  readonly acknowledged: { readonly id: number; readonly at: number }[];
  readonly failures: number;
}

/**
 * An application writing one row per transaction, as fast as one client does, through where the
 * stack's applications connect (PlatformRuntime.writerClient: it follows the read-write Service
 * or alias). A failed or timed-out INSERT is not acknowledged; the next one reconnects.
 */
interface Writer {
  /** Commits acknowledged after `at` so far. */
  acknowledgedAfter(at: number): number;
  stop(): Promise<WriteLog>;
}

function startWriter(cluster: ProvingCluster): Writer {
  const { layout, postgres } = cluster.spec;
  const acknowledged: WriteLog["acknowledged"] = [];
  let failures = 0;
  let stopping = false;
  let next = 1;
  const loop = (async () => {
    while (!stopping) {
      const id = next++;
      try {
        const client = await cluster.runtime.writerClient();
        const target = `host=${client.host} port=${layout.port} dbname=${postgres.database} user=${postgres.appUser} sslmode=${client.sslmode} sslrootcert=${layout.tlsDir}/ca.crt connect_timeout=2`;
        const result = await client.container.exec(
          [
            "psql",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            target,
            "-c",
            `INSERT INTO ${TABLE} (id) VALUES (${id})`,
          ],
          { env: client.env, timeoutMs: 5000 },
        );
        if (result.code === 0) acknowledged.push({ id, at: Date.now() });
        else {
          failures++;
          await sleep(RETRY_MS);
        }
      } catch {
        // No client to run it from (the container holding the address is being replaced).
        failures++;
        await sleep(RETRY_MS);
      }
    }
  })();
  return {
    acknowledgedAfter: (at) => acknowledged.filter((entry) => entry.at > at).length,
    async stop() {
      stopping = true;
      await loop;
      return { acknowledged, failures };
    },
  };
}

/** The longest time between two acknowledged commits: the write outage an application saw. */
function longestGap(log: WriteLog): number {
  let longest = 0;
  for (let i = 1; i < log.acknowledged.length; i++) {
    longest = Math.max(longest, log.acknowledged[i].at - log.acknowledged[i - 1].at);
  }
  return longest;
}

/** Streaming from `primary` (pg_stat_replication there names the replica's slot as its application). */
async function waitStreaming(primary: Member, replicaSlot: string, timeoutMs = 120_000): Promise<void> {
  await primary.waitFor(
    `SELECT count(*) FROM pg_stat_replication WHERE application_name = '${replicaSlot}' AND state = 'streaming'`,
    "1",
    timeoutMs,
  );
}

/** `pulumi config set` of `config`, then `pulumi up`: the changed program applied as the platform does. */
async function pulumiUp(
  cluster: ProvingCluster,
  config: Readonly<Record<string, unknown>>,
): Promise<{ report: ApplyReport; upMs: number }> {
  const next = await captureChanged(cluster.runtime.captured, config);
  const started = Date.now();
  const report = await cluster.runtime.apply(next);
  return { report, upMs: Date.now() - started };
}

/** Steps of an applied update by name, in the order they started. */
function stepOrder(report: ApplyReport, names: readonly string[]): string {
  const runs = /StatefulSet|Job|Container/;
  return report.steps
    .filter(
      (step) =>
        runs.test(step.change.after.type) && names.some((name) => step.change.after.name.endsWith(name)),
    )
    .sort((a, b) => a.startedMs - b.startedMs)
    .map(
      (step) =>
        `${step.change.after.name} ${seconds(step.startedMs - report.steps[0].startedMs)}→${seconds(step.endedMs - report.steps[0].startedMs)}`,
    )
    .join(", ");
}

/** This machine's PID of a member's WAL receiver. */
async function walReceiverPid(member: Member): Promise<number> {
  return pollUntil(`${member.name}'s walreceiver`, async () => {
    for (const pid of await member.runtime.container.processes()) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
      if (cmdline.includes("walreceiver")) return pid;
    }
    return undefined;
  });
}

/** The member that is replica-1 and its slot; deployed (a clone of the primary) when not running yet. */
async function streamingTarget(cluster: ProvingCluster): Promise<{ target: Member; slot: string }> {
  const target = cluster.members["replica-1"];
  assert.ok(target, `stack ${cluster.spec.stack} has no replica-1`);
  const slot = cluster.spec.members.find((member) => member.name === target.name)?.slot;
  assert.ok(slot, "replica-1 has no slot");
  if (!target.running()) await cluster.deployReplica(target);
  await waitStreaming(cluster.primary, slot);
  return { target, slot };
}

export const switchoverRefused: Proof = {
  id: 50,
  title:
    "pulumi up of pgstack:primary=replica-1 is refused by the gate, naming why, with nothing changed, while replica-1 is not streaming or lags",
  async run(cluster) {
    const { primary } = cluster;
    const { target } = await streamingTarget(cluster);
    await primary.sql(`CREATE TABLE IF NOT EXISTS ${TABLE} (id bigint PRIMARY KEY)`, { tcp: true });
    const pids = { primary: await primary.postmasterHostPid(), target: await target.postmasterHostPid() };
    const receiver = await walReceiverPid(target);
    // Its WAL receiver stopped: it answers, but receives nothing.
    process.kill(receiver, "SIGSTOP");
    const refusals: string[] = [];
    try {
      // Not streaming: the primary's WAL moves (a session writing 12 kB of WAL ten times a second, so whole
      // pages reach the disk and its flush position moves) while the target's stays.
      const moving = primary
        .sql(
          "DO $$ BEGIN FOR i IN 1..300 LOOP PERFORM pg_logical_emit_message(false, 'pgstack-proof', repeat('moving', 2000)); PERFORM pg_sleep(0.1); END LOOP; END $$",
          { timeoutMs: 60_000 },
        )
        .catch(() => "");
      const notStreaming = await pulumiUp(cluster, { "pgstack:primary": "replica-1" });
      // Done with it: its session ends (cancelled) instead of running out its 30 s.
      await primary.sql(
        "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'DO $$ BEGIN FOR i IN 1..300 LOOP PERFORM pg_logical_emit_message%'",
      );
      await moving;
      // Lagging: more than a WAL segment behind, nothing moving while the gate looks.
      await primary.sql(
        "CREATE TABLE switchover_filler AS SELECT repeat(md5(i::text), 20) AS filler FROM generate_series(1, 40000) AS i",
      );
      const lagging = await pulumiUp(cluster, { "pgstack:primary": "replica-1" });
      for (const [what, expected, { report }] of [
        [
          "not streaming",
          /is not streaming \(its WAL stays at [0-9A-F/]+ while the primary primary's moved to/,
          notStreaming,
        ],
        [
          "lagging",
          /lags the primary primary by \d+ bytes of WAL \([0-9A-F/]+ against [0-9A-F/]+; at most 16777216\)/,
          lagging,
        ],
      ] as const) {
        assert.ok(report.failure, `${what}: the update was not refused`);
        assert.match(
          report.failure.name,
          /switchover-gate$/,
          `${what}: refused elsewhere: ${report.failure.error}`,
        );
        assert.match(
          report.failure.error,
          expected,
          `${what}: the refusal does not say why: ${report.failure.error}`,
        );
        assert.match(report.failure.error, /Nothing was changed\./);
        // No member was touched: neither changed nor restarted, and the primary still takes writes.
        const memberSteps = report.steps.filter(
          (step) =>
            /(primary|replica-1)$/.test(step.change.after.name) &&
            !/Service|Volume/.test(step.change.after.type),
        );
        assert.deepEqual(
          memberSteps.map((step) => step.change.after.name),
          [],
          `${what}: members changed after a refusal`,
        );
        refusals.push(
          `${what}: "${[...report.failure.error.matchAll(/refusing the switchover: (.*?)\. /g)].slice(-1)[0]?.[1] ?? report.failure.error}"`,
        );
      }
    } finally {
      process.kill(receiver, "SIGCONT");
    }
    assert.equal(await primary.postmasterHostPid(), pids.primary, "the primary restarted");
    assert.equal(await target.postmasterHostPid(), pids.target, "replica-1 restarted");
    await primary.sql(`INSERT INTO ${TABLE} (id) VALUES (0)`, { tcp: true });
    await primary.sql(`DELETE FROM ${TABLE}`, { tcp: true });
    await primary.sql("DROP TABLE switchover_filler");
    return { figure: `refused, members untouched, primary writable: ${refusals.join("; ")}` };
  },
};

export const switchover: Proof = {
  id: 51,
  title:
    "pulumi up of pgstack:primary=replica-1 under a steady write load: gate, then the members together; 0 acknowledged commits lost; the old primary streams from the new one; archiving and backups continue on the new timeline; a PITR to before the switchover holds the rows committed by then",
  async run(cluster) {
    const { primary } = cluster;
    const { target } = await streamingTarget(cluster);
    const oldSlot = "primary";
    await primary.sql(`CREATE TABLE IF NOT EXISTS ${TABLE} (id bigint PRIMARY KEY)`, { tcp: true });
    const timelineBefore = Number(await primary.sql("SELECT timeline_id FROM pg_control_checkpoint()"));
    // A point in time before the switchover, between two marked batches, for the PITR below (a
    // differential first: the restore needs a backup that ended before its target; pgBackRest
    // takes a full when there is none).
    await cluster.scheduledBackup("diff");
    await insertRows(primary, "before-switchover-target", 100);
    const expectedAtTarget = await phaseCounts(primary);
    const pitrTarget = await serverTime(primary);
    await insertRows(primary, "after-switchover-target", 100);

    const writer = startWriter(cluster);
    let log: WriteLog;
    let up: Awaited<ReturnType<typeof pulumiUp>>;
    try {
      await pollUntil(
        "the writer's first commits",
        async () => (writer.acknowledgedAfter(0) >= 10 ? true : undefined),
        {
          timeoutMs: 30_000,
        },
      );
      up = await pulumiUp(cluster, { "pgstack:primary": "replica-1" });
      assert.equal(up.report.failure, undefined, `pulumi up failed: ${up.report.failure?.error}`);
      // Writes go on through the same address, now to replica-1.
      const ended = Date.now();
      await pollUntil(
        "commits on the new primary",
        async () => (writer.acknowledgedAfter(ended) >= 10 ? true : undefined),
        {
          timeoutMs: 60_000,
        },
      );
    } finally {
      log = await writer.stop();
    }

    assert.equal(await target.sql("SELECT pg_is_in_recovery()"), "f", "replica-1 is not the primary");
    const kept = new Set(
      (await target.sql(`SELECT id FROM ${TABLE}`)).split("\n").filter(Boolean).map(Number),
    );
    const lost = log.acknowledged.filter((entry) => !kept.has(entry.id));
    assert.deepEqual(
      lost.map((entry) => entry.id),
      [],
      "acknowledged commits missing on the new primary",
    );
    const outageMs = longestGap(log);

    // The old primary rejoined by pg_rewind and streams from the new one, from its own slot.
    await waitStreaming(target, oldSlot);
    assert.equal(await primary.sql("SELECT pg_is_in_recovery()"), "t");
    assert.match(primary.log(), /rewound to the new primary's timeline/);
    // Archiving continues on the new timeline, into the same repository.
    const timeline = Number(await target.sql("SELECT timeline_id FROM pg_control_checkpoint()"));
    assert.equal(timeline, timelineBefore + 1, "the promotion did not start a new timeline");
    const segment = await cluster.switchWal(target);
    assert.equal(Number.parseInt(segment.slice(0, 8), 16), timeline);
    await cluster.waitArchived(segment, 60_000, target);
    const history = (await cluster.archivedWal()).filter((name) => name.endsWith(".history"));
    assert.ok(
      history.some((name) => Number.parseInt(name.slice(0, 8), 16) === timeline),
      `no ${timeline} history file archived`,
    );

    // Backups go on from the new primary, and a point-in-time restore to before the switchover
    // (a backup of the old timeline, WAL from both) holds exactly the rows committed by then.
    const backup = await cluster.scheduledBackup("diff");
    assert.equal(backup.code, 0);
    const { copy, restoreMs } = await cluster.restoreCopy("before-switchover", {
      type: "time",
      time: pitrTarget,
    });
    try {
      assert.deepEqual(
        await phaseCounts(copy),
        expectedAtTarget,
        "the point-in-time restore to before the switchover does not hold exactly the rows committed by then",
      );
    } finally {
      await copy.stop();
    }

    const order = stepOrder(up.report, [
      "switchover-gate",
      "-primary",
      "-replica-1",
      "stanza",
      "backup-runner",
    ]);
    return {
      figure: `write outage ${seconds(outageMs)} (${log.acknowledged.length} commits acknowledged, 0 lost, ${log.failures} refused during the switch); pulumi up ${seconds(up.upMs)}: ${order}; old primary streams from replica-1; timeline ${timeline} archived (${segment}); a differential backup after it, and a PITR to before it (${seconds(restoreMs)}) holds the rows committed by then`,
    };
  },
};

export const failover: Proof = {
  id: 52,
  title:
    "failover: the primary SIGKILLed with its volume unavailable, pulumi up with pgstack:failover promotes the replica; lost commits are only those it had not received (reported); the old primary never starts as a primary and rejoins by pg_rewind when its volume returns",
  async run(cluster) {
    // From whichever member is primary now (after proof 31: replica-1).
    const primaryName = primaryMember(cluster.runtime.captured.spec).name;
    const old = cluster.members[primaryName];
    const targetName = primaryName === "primary" ? "replica-1" : "primary";
    const target = cluster.members[targetName];
    assert.ok(old && target, `stack ${cluster.spec.stack} has no ${primaryName} and ${targetName}`);
    if (!target.running()) await cluster.deployReplica(target);
    const targetSlot = cluster.runtime.captured.spec.members.find(
      (member) => member.name === targetName,
    )?.slot;
    assert.ok(targetSlot, `${targetName} has no slot`);
    await waitStreaming(old, targetSlot);
    await old.sql(`CREATE TABLE IF NOT EXISTS ${TABLE} (id bigint PRIMARY KEY)`, { tcp: true });
    await old.sql(`DELETE FROM ${TABLE}`, { tcp: true });

    const writer = startWriter(cluster);
    let log: WriteLog;
    let up: Awaited<ReturnType<typeof pulumiUp>>;
    let lostAt = 0;
    let logFrom = 0;
    try {
      await pollUntil(
        "the writer's first commits",
        async () => (writer.acknowledgedAfter(0) >= 20 ? true : undefined),
        {
          timeoutMs: 30_000,
        },
      );
      // The node is gone: SIGKILL, no shutdown checkpoint, and the volume with it.
      lostAt = Date.now();
      logFrom = old.log().length;
      await old.runtime.lose();
      up = await pulumiUp(cluster, { "pgstack:primary": targetName, "pgstack:failover": true });
      assert.equal(up.report.failure, undefined, `pulumi up failed: ${up.report.failure?.error}`);
      const ended = Date.now();
      await pollUntil(
        "commits on the promoted replica",
        async () => (writer.acknowledgedAfter(ended) >= 10 ? true : undefined),
        {
          timeoutMs: 60_000,
        },
      );
    } finally {
      log = await writer.stop();
    }
    assert.equal(await target.sql("SELECT pg_is_in_recovery()"), "f", `${targetName} was not promoted`);
    const kept = new Set(
      (await target.sql(`SELECT id FROM ${TABLE}`)).split("\n").filter(Boolean).map(Number),
    );
    const acknowledgedBefore = log.acknowledged.filter((entry) => entry.at <= lostAt);
    const lost = log.acknowledged.filter((entry) => !kept.has(entry.id));
    // What is lost is what the replica had not received: the last commits before the loss, none after.
    const lastKeptBefore = Math.max(
      0,
      ...acknowledgedBefore.filter((entry) => kept.has(entry.id)).map((entry) => entry.id),
    );
    assert.ok(
      lost.every((entry) => entry.id > lastKeptBefore && entry.at <= lostAt),
      `lost commits other than the last ones before the loss: ${JSON.stringify(lost)}`,
    );
    const promoted = [...target.log().matchAll(/pgstack: promoted \S+ at WAL (\S+)/g)].slice(-1)[0]?.[1];
    assert.ok(promoted, "the promotion does not report the WAL position it took over at");
    const gateReport = up.report.steps.find((step) => step.change.after.name.endsWith("switchover-gate"));
    assert.ok(gateReport && !gateReport.error, "the gate did not pass");
    // The lost member's volume returns: it starts, never as a primary, and rejoins by pg_rewind.
    await old.start({ timeoutMs: 300_000 });
    const oldSlot = cluster.runtime.captured.spec.members.find((member) => member.name === primaryName)?.slot;
    assert.ok(oldSlot, `${primaryName} has no slot after the failover`);
    await waitStreaming(target, oldSlot);
    assert.equal(await old.sql("SELECT pg_is_in_recovery()"), "t");
    const rejoin = old.log().slice(logFrom);
    assert.match(rejoin, /It will not start as a primary/);
    assert.match(rejoin, /rewound to the new primary's timeline/);
    // The repository's newest segment of the old timeline: what the promoted replica could read there.
    const timeline = Number(await target.sql("SELECT timeline_id FROM pg_control_checkpoint()"));
    const lastArchived = (await cluster.archivedWal())
      .filter((name) => !name.endsWith(".history") && Number.parseInt(name.slice(0, 8), 16) === timeline - 1)
      .slice(-1)[0];

    const outageMs = longestGap(log);
    return {
      figure: `data lost: ${lost.length} of ${acknowledgedBefore.length} commits acknowledged before the SIGKILL (those ${targetName} had not received); ${targetName} promoted at WAL ${promoted} (timeline ${timeline}), the repository's last segment of timeline ${timeline - 1}: ${lastArchived}; write outage ${seconds(outageMs)}, pulumi up ${seconds(up.upMs)}; ${primaryName} fenced, rewound and streaming when its volume returned`,
    };
  },
};

export const SWITCHOVER_PROOFS: readonly Proof[] = [switchoverRefused, switchover, failover];
