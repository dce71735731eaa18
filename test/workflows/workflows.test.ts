import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { PGBACKREST_VERSION, POSTGRES_MINOR } from "../../components/spec/image";

/** The CI workflows: valid, least-privileged, pinned, and wired to the plan and the policy pack. */
const ROOT = join(__dirname, "..", "..");
const DIR = join(ROOT, ".github", "workflows");
const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));

interface Step {
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  permissions?: Record<string, string> | string;
  environment?: string | { name: string };
  needs?: string | string[];
  if?: string;
  env?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string> | string;
  jobs: Record<string, Job>;
}

/** A GitHub Actions expression as it appears in a workflow, e.g. ${{ matrix.stack }}. */
const expr = (inner: string) => `\${{ ${inner} }}`;

const text = (file: string) => readFileSync(join(DIR, file), "utf8");
const workflow = (file: string) => parse(text(file)) as Workflow;
const steps = (file: string) => Object.values(workflow(file).jobs).flatMap((j) => j.steps);
const rootPackage = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

/** Secrets the workflows may read; each is documented in the header of the file using it. */
const KNOWN_SECRETS = [
  "PULUMI_ACCESS_TOKEN",
  "PULUMI_BACKEND_URL",
  "PULUMI_CONFIG_PASSPHRASE",
  "AWS_PREVIEW_ROLE_ARN",
  "AWS_DEPLOY_ROLE_ARN",
  "PROD_KUBECONFIG_READONLY",
  "PROD_KUBECONFIG",
  "DEV_DOCKER_HOST",
];

describe.each(files)("%s", (file) => {
  it("passes action-validator", () => {
    const result = spawnSync(join(ROOT, "node_modules", ".bin", "action-validator"), [join(DIR, file)], {
      encoding: "utf8",
    });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });
  it("grants read-only contents by default and declares each job's permissions, none write-all", () => {
    const wf = workflow(file);
    expect(wf.permissions).toEqual({ contents: "read" });
    for (const [name, job] of Object.entries(wf.jobs)) {
      expect(job.permissions, name).toBeTypeOf("object");
      expect(Object.values(job.permissions as object), name).not.toContain("write-all");
      expect((job.permissions as Record<string, string>).contents, name).toBe("read");
    }
  });
  it("asks for an OIDC token only in jobs that assume an AWS role", () => {
    for (const [name, job] of Object.entries(workflow(file).jobs)) {
      const assumesRole = job.steps.some((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
      expect((job.permissions as Record<string, string>)["id-token"] === "write", name).toBe(assumesRole);
    }
  });
  it("pins every action to a full commit SHA with the release in a comment", () => {
    const uses = text(file)
      .split("\n")
      .filter((line) => /^\s*(- )?uses:/.test(line));
    expect(uses.length).toBeGreaterThan(0);
    for (const line of uses) {
      expect(line).toMatch(/uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    }
  });
  it("reads secrets only from the secret store, only known ones, never in a run script", () => {
    const referenced = [...text(file).matchAll(/secrets\.([A-Z_]+)/g)].map((m) => m[1]);
    for (const name of referenced) expect(KNOWN_SECRETS, name).toContain(name);
    for (const step of steps(file))
      expect(step.run ?? "", "secrets go through env, not into scripts").not.toMatch(/secrets\./);
    expect(text(file)).not.toMatch(/AKIA[0-9A-Z]{16}|BEGIN [A-Z ]*PRIVATE KEY/);
  });
  it("uses only contexts available where they are used (no runner context in job env)", () => {
    for (const [name, job] of Object.entries(workflow(file).jobs)) {
      expect(JSON.stringify(job.env ?? {}), name).not.toMatch(/runner\./);
    }
  });
  it("installs the Pulumi CLI of the SDK's release and runs it with the policy pack and the stack's config", () => {
    const pulumiSteps = steps(file).filter((s) => s.uses?.startsWith("pulumi/actions@"));
    for (const step of pulumiSteps)
      expect(step.with?.["pulumi-version"]).toBe(rootPackage.dependencies["@pulumi/pulumi"]);
    // The registry project (registry/) declares only the ECR repository; the pack polices the database stacks.
    for (const step of pulumiSteps.filter((s) => s.with?.["work-dir"] === undefined)) {
      expect(step.with?.["pulumi-version"]).toBe(rootPackage.dependencies["@pulumi/pulumi"]);
      expect(step.with?.policyPacks).toBe("policies");
      expect(step.with?.policyPackConfigs).toBe(`policies/config/${String(step.with?.["stack-name"])}.json`);
    }
  });
});

describe("pull requests", () => {
  const wf = workflow("pull-request.yml");
  it("run on pull requests with Node 24: lint, typecheck and npm test", () => {
    expect(Object.keys(wf.on)).toEqual(["pull_request"]);
    const check = wf.jobs.check.steps;
    expect(check.find((s) => s.uses?.startsWith("actions/setup-node@"))?.with?.["node-version"]).toBe(24);
    const runs = check.map((s) => s.run ?? "").join("\n");
    expect(runs).toMatch(/npm ci/);
    expect(runs).toMatch(/biome check/);
    expect(runs).toMatch(/npm run typecheck/);
    expect(runs).toMatch(/npm test/);
  });
  it("plan both stacks, diff against the base branch, summarise and comment, and fail on a bad plan", () => {
    const plan = wf.jobs.plan as Job & { strategy: { matrix: { stack: string[] } } };
    expect(plan.strategy.matrix.stack).toEqual(["dev", "prod"]);
    const runs = plan.steps.map((s) => s.run ?? "").join("\n");
    expect(runs).toMatch(/npm run plan -- --stack "\$STACK" --out "\$PLAN_DIR\/head"/);
    expect(runs).toMatch(/npm run plan -- --stack "\$STACK" --out "\$PLAN_DIR\/base"/);
    expect(runs).toMatch(/diff -ruN/);
    expect(runs).toMatch(/>> "\$GITHUB_STEP_SUMMARY"/);
    expect(plan.steps.some((s) => s.with?.ref === expr("github.event.pull_request.base.sha"))).toBe(true);
    expect(plan.steps.some((s) => s.uses?.startsWith("marocchino/sticky-pull-request-comment@"))).toBe(true);
    expect(plan.steps.at(-1)?.if).toBe("steps.plan.outputs.exit-code != '0'");
    // The plan job holds no secret: it runs the pull request's code.
    expect(JSON.stringify(plan)).not.toMatch(/secrets\./);
  });
  it("preview both stacks with the policy pack and comment, only for the repository's own branches", () => {
    const preview = wf.jobs.preview;
    expect(preview.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
    const step = preview.steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
    expect(step?.with).toMatchObject({
      command: "preview",
      "comment-on-pr": true,
      policyPackConfigs: `policies/config/${expr("matrix.stack")}.json`,
    });
    expect(preview.steps.map((s) => s.run ?? "").join("\n")).toMatch(/npm ci --prefix policies/);
  });
});

describe("deployments", () => {
  const wf = workflow("deploy.yml");
  it("run on pushes to main, one at a time", () => {
    expect(wf.on).toEqual({ push: { branches: ["main"] } });
    expect(
      (wf as unknown as { concurrency: { "cancel-in-progress": boolean } }).concurrency["cancel-in-progress"],
    ).toBe(false);
  });
  it("update dev, then prod behind the protected production environment", () => {
    const up = (job: Job) => job.steps.find((s) => s.uses?.startsWith("pulumi/actions@"))?.with;
    expect(up(wf.jobs.dev)).toMatchObject({
      command: "up",
      "stack-name": "dev",
      policyPackConfigs: "policies/config/dev.json",
    });
    expect(up(wf.jobs.prod)).toMatchObject({
      command: "up",
      "stack-name": "prod",
      policyPackConfigs: "policies/config/prod.json",
    });
    expect(wf.jobs.prod.needs).toEqual(["dev", "image"]);
    expect(wf.jobs.prod.environment).toBe("production");
  });
  it("build image/Dockerfile with the pinned versions, push it to the stack's ECR repository, and up prod with its digest", () => {
    const image = wf.jobs.image as Job & { outputs: Record<string, string> };
    expect(image.environment).toBe("production");
    const registry = image.steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
    expect(registry?.with).toMatchObject({ command: "up", "stack-name": "prod", "work-dir": "registry" });
    const push = image.steps.find((s) => s.run?.includes("docker buildx build image/"));
    expect(push?.env?.REPOSITORY).toBe(
      expr(`steps.${String((registry as Step & { id?: string }).id)}.outputs.repositoryUrl`),
    );
    expect(push?.run).toMatch(/--build-arg "POSTGRES_MINOR=\$POSTGRES_MINOR"/);
    expect(push?.run).toMatch(/--build-arg "PGBACKREST_VERSION=\$PGBACKREST_VERSION"/);
    expect(push?.run).toMatch(/--push/);
    expect(push?.run).toMatch(/aws ecr describe-images/);
    expect(push?.run).toMatch(/echo "image=\$REPOSITORY@\$digest" >> "\$GITHUB_OUTPUT"/);
    expect(image.outputs.image).toBe(expr("steps.push.outputs.image"));
    const up = wf.jobs.prod.steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
    expect(up?.with?.["config-map"]).toBe(
      `{pgstack:image: {value: '${expr("needs.image.outputs.image")}', secret: false}}`,
    );
  });
  it("take the build args from the versions the spec pins (scripts/image-build-args.ts)", () => {
    const result = spawnSync(
      join(ROOT, "node_modules", ".bin", "tsx"),
      [join(ROOT, "scripts", "image-build-args.ts"), "prod"],
      {
        encoding: "utf8",
      },
    );
    expect(result.status, result.stderr).toBe(0);
    const args = Object.fromEntries(
      result.stdout
        .trim()
        .split("\n")
        .map((line) => line.split("=", 2)),
    );
    expect(args).toEqual({
      POSTGRES_MINOR: POSTGRES_MINOR[15],
      PGBACKREST_VERSION,
      TAG: `${POSTGRES_MINOR[15]}-pgbackrest${PGBACKREST_VERSION}`,
    });
  });
  it("reach AWS through OIDC (no static keys) and Kubernetes through a kubeconfig file from a secret", () => {
    const prod = wf.jobs.prod;
    const aws = prod.steps.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
    expect(aws?.with?.["role-to-assume"]).toBe(expr("secrets.AWS_DEPLOY_ROLE_ARN"));
    expect(aws?.with).not.toHaveProperty("aws-secret-access-key");
    const kube = prod.steps.find((s) => s.env?.KUBECONFIG_CONTENT);
    expect(kube?.run).toMatch(/install -m 600/);
  });
});
