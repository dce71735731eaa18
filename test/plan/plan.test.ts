import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, parse as parseYaml } from "yaml";

/**
 * `npm run plan` end to end, as CI runs it: a subprocess per stack, no Pulumi CLI, Docker or
 * cloud. The runs start together (each takes seconds to load the providers' SDKs).
 */
const ROOT = join(__dirname, "..", "..");
const work = mkdtempSync(join(tmpdir(), "pgstack-plan-"));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly out: string;
}

function plan(name: string, args: string[]): Promise<Run> {
  const out = join(work, name);
  return new Promise((resolve, reject) => {
    const child = spawn("npx", ["tsx", "scripts/plan.ts", ...args, "--out", out], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr, out }));
  });
}

/** A copy of a stack file of this repository with one line replaced. */
function stackFileWith(stack: string, from: string, to: string): string {
  const original = readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
  expect(original).toContain(from);
  const file = join(work, `Pulumi.${stack}.${to.replace(/\W+/g, "_")}.yaml`);
  writeFileSync(file, original.replace(from, to));
  return file;
}

const runs: Record<string, Run> = {};

beforeAll(async () => {
  const [dev, prod, badValue, unprotected, noStack] = await Promise.all([
    plan("dev", ["--stack", "dev"]),
    plan("prod", ["--stack", "prod"]),
    plan("bad-value", [
      "--stack",
      "prod",
      "--config-file",
      stackFileWith("prod", "pgstack:memoryLimit: 8Gi", "pgstack:memoryLimit: 8"),
    ]),
    plan("unprotected", [
      "--stack",
      "prod",
      "--config-file",
      stackFileWith("prod", "pgstack:protect: true", "pgstack:protect: false"),
    ]),
    plan("no-stack", []),
  ]);
  Object.assign(runs, { dev, prod, badValue, unprotected, noStack });
}, 240_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

const RENDERED = [
  "postgresql.conf",
  "pg_hba.conf",
  "pgbackrest.conf",
  "pgbackrest-runner.conf",
  "check-data-dir.sh",
  "init-roles.sh",
  "bootstrap-replica.sh",
  "pg_ident.conf",
  "alerts.yaml",
  "exporter-queries.yaml",
];

describe.each(["dev", "prod"])("npm run plan -- --stack %s", (stack) => {
  const run = () => runs[stack];
  it("exits 0 and writes the rendered files, the commands and the spec", () => {
    expect(run().stderr).not.toMatch(/Error|violation/);
    expect(run().code).toBe(0);
    for (const file of RENDERED) expect(statSync(join(run().out, file)).size, file).toBeGreaterThan(0);
    expect(statSync(join(run().out, "init-roles.sh")).mode & 0o111).not.toBe(0);
    const commands = JSON.parse(readFileSync(join(run().out, "commands.json"), "utf8"));
    expect(commands.postgres[0]).toBe("postgres");
    expect(commands.healthcheck).toContain("pg_isready");
    expect(JSON.parse(readFileSync(join(run().out, "spec.json"), "utf8")).stack).toBe(stack);
  });
  it("writes the registered resources and a clean policy report", () => {
    const resources = JSON.parse(readFileSync(join(run().out, "resources.json"), "utf8")) as {
      type: string;
      name: string;
    }[];
    const cluster = stack === "dev" ? "pgstack:docker:PostgresCluster" : "pgstack:kubernetes:PostgresCluster";
    expect(resources.map((r) => r.type)).toContain(cluster);
    const report = JSON.parse(readFileSync(join(run().out, "policy-report.json"), "utf8"));
    expect(report.mandatoryFailures).toEqual([]);
    expect(report.verdicts.filter((v: { status: string }) => v.status === "fail")).toEqual([]);
    expect(report.policyConfig).toBe(`policies/config/${stack}.json`);
  });
  it("prints the key settings and each verdict, and writes the same as markdown", () => {
    for (const setting of [
      "memory limit",
      "shared_buffers",
      "work_mem",
      "max_connections",
      "wal_level",
      "archive_mode",
      "archive_timeout",
      "replicas",
      "full backups",
      "repository",
      "recovery window",
      "restore drill",
    ]) {
      expect(run().stdout).toContain(setting);
    }
    expect(run().stdout).toMatch(/ {2}pass +postgres-memory-budget\n/);
    expect(run().stdout).toContain("OK: no mandatory policy violations");
    const summary = readFileSync(join(run().out, "summary.md"), "utf8");
    expect(summary).toContain(`### pgstack plan: \`${stack}\``);
    const windowDays = stack === "dev" ? 7 : 30;
    expect(run().stdout).toMatch(new RegExp(`recovery window +${windowDays} days \\(point-in-time restore`));
    expect(summary).toContain(
      `${windowDays} days (point-in-time restore to any moment of the last ${windowDays} days`,
    );
    // The alert rules, with their thresholds, in both summaries.
    expect(run().stdout).toMatch(/Alert rules \(\d+, in alerts\.yaml\)/);
    expect(run().stdout).toMatch(
      / {2}critical PgstackArchivingStalled \(for (150s|3m)\): pgstack_archiver_last_archived_age_seconds/,
    );
    expect(summary).toMatch(/\| `PgstackBackupTooOld` \| critical \| - \| `time\(\) - max by/);
    expect(summary).toMatch(/\| `postgres-durability` \| (advisory|mandatory) \| pass \|/);
    // Which member is primary, and the topology GitHub draws from the Mermaid block.
    expect(run().stdout).toMatch(
      / {2}primary +primary \(pgstack-\w+-primary[.\w-]*\); pgstack:primary=replica-1 switches over/,
    );
    expect(summary).toContain("```mermaid\nflowchart LR\n");
    expect(summary).toContain('member_primary["primary<br/>PRIMARY"]');
  });
  it("never writes a secret: generated passwords appear nowhere in the plan", () => {
    // The mock's generated values all start with "generated-" (see capture-program.ts).
    for (const file of readdirSync(run().out)) {
      expect(readFileSync(join(run().out, file), "utf8"), file).not.toContain("generated-");
    }
    expect(readFileSync(join(run().out, "resources.json"), "utf8")).toContain("[secret]");
  });
});

describe("what the plan writes per platform", () => {
  it("dev writes the Docker containers, volumes and networks", () => {
    const docker = parseYaml(readFileSync(join(runs.dev.out, "containers.yaml"), "utf8"));
    expect(docker.containers.map((c: { name: string }) => c.name)).toContain("pgstack-dev-primary");
    expect(docker.volumes.length).toBeGreaterThan(0);
    expect(existsSync(join(runs.dev.out, "manifests.yaml"))).toBe(false);
  });
  it("prod writes Kubernetes manifests with apiVersion and kind", () => {
    const documents = parseAllDocuments(readFileSync(join(runs.prod.out, "manifests.yaml"), "utf8")).map(
      (d) => d.toJS(),
    );
    const kinds = documents.map((d) => `${d.apiVersion}/${d.kind}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        "apps/v1/StatefulSet",
        "batch/v1/CronJob",
        "v1/ConfigMap",
        "networking.k8s.io/v1/NetworkPolicy",
      ]),
    );
    expect(existsSync(join(runs.prod.out, "containers.yaml"))).toBe(false);
  });
});

describe("a plan that must not pass", () => {
  it("a bad config value exits 2 naming the key, the value and the fix", () => {
    expect(runs.badValue.code).toBe(2);
    expect(runs.badValue.stderr).toContain("pgstack:memoryLimit");
    expect(runs.badValue.stderr).toMatch(/= 8\b/);
    expect(runs.badValue.stderr).toMatch(/fix: pulumi config set pgstack:memoryLimit/);
  });
  it("a config that violates a mandatory prod policy exits 1 naming the rule", () => {
    expect(runs.unprotected.code).toBe(1);
    expect(runs.unprotected.stderr).toContain("mandatory policy violation(s): postgres-production-readiness");
    expect(runs.unprotected.stdout).toMatch(/FAIL postgres-production-readiness \(mandatory\)/);
    expect(readFileSync(join(runs.unprotected.out, "summary.md"), "utf8")).toContain(
      ":x: **1 mandatory policy violation(s)**",
    );
  });
  it("no --stack exits 2 with the usage", () => {
    expect(runs.noStack.code).toBe(2);
    expect(runs.noStack.stderr).toContain("usage: npm run plan -- --stack");
  });
});
