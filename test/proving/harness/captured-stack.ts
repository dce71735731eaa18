import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readStackFiles } from "../../../components/config/stack-files";
import type { ClusterSpec } from "../../../components/spec/cluster-spec";
import { type CapturedResource, captureProgram, plainProps } from "../../../scripts/plan/capture-program";
import { toProgramConfig } from "../../../scripts/plan/program-config";
import { run } from "./processes";
import { TlsProvider } from "./tls-provider";

export const PROJECT_DIR = join(__dirname, "../../..");

/** A resource the program registered, with its inputs as the provider would receive them (secrets revealed). */
export interface DeclaredResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly dependencies: readonly string[];
  readonly props: Record<string, any>;
}

/**
 * A stack as `pulumi up` would declare it: the real program (index.ts) run under Pulumi's mock
 * runtime with the stack's own config files, every resource recorded with its inputs, and real
 * TLS material from the @pulumi/tls resources. The proving ground runs what these resources say.
 */
export interface CapturedStack {
  readonly stack: string;
  readonly spec: ClusterSpec;
  readonly resources: readonly DeclaredResource[];
  readonly tls: TlsProvider;
  ofType(type: string): DeclaredResource[];
  named(type: string, name: string): DeclaredResource;
}

export interface CaptureOptions {
  /** Stack config values that replace the stack file's, by full key (`pgstack:primary`). */
  readonly config?: Readonly<Record<string, unknown>>;
  /** TLS material made by an earlier capture (what Pulumi's state would hold). */
  readonly tls?: TlsProvider;
}

export async function captureStack(stack: string, options: CaptureOptions = {}): Promise<CapturedStack> {
  const stackFiles = readStackFiles(PROJECT_DIR, stack);
  const values = { ...stackFiles.values, ...options.config };
  const { secretKeys } = stackFiles;
  const project = "pgstack";
  const tls = options.tls ?? new TlsProvider();
  const captured: CapturedResource[] = await captureProgram(
    {
      project,
      stack,
      ...toProgramConfig(values, secretKeys, project),
      program: join(PROJECT_DIR, "index.ts"),
    },
    (type, name, inputs) => tls.outputs(type, name, inputs),
  );
  const resources = captured.map((resource) => ({
    type: resource.type,
    name: resource.name,
    urn: resource.urn,
    dependencies: resource.dependencies,
    props: plainProps(resource.custom ? resource.inputs : (resource.outputs ?? {}), "reveal") as Record<
      string,
      any
    >,
  }));
  return capturedStack(stack, resources, tls);
}

/** A CapturedStack over resources a capture recorded. */
export function capturedStack(
  stack: string,
  resources: readonly DeclaredResource[],
  tls: TlsProvider,
): CapturedStack {
  const cluster = resources.find((resource) =>
    /^pgstack:(docker|kubernetes):PostgresCluster$/.test(resource.type),
  );
  if (!cluster) throw new Error(`stack ${stack}: the program declared no PostgresCluster`);
  const ofType = (type: string) => resources.filter((resource) => resource.type === type);
  return {
    stack,
    spec: cluster.props.spec as ClusterSpec,
    resources,
    tls,
    ofType,
    named(type, name) {
      const found = ofType(type).find(
        (resource) => resource.name === name || resource.props.metadata?.name === name,
      );
      if (!found) throw new Error(`stack ${stack} declares no ${type} named ${name}`);
      return found;
    },
  };
}

/**
 * The same stack's program captured again with `config` changed, as the next `pulumi up` would
 * run it: in a process of its own (a program module runs once per process), with the TLS material
 * of `before` (Pulumi's state keeps it), so only what the config changes differs.
 */
export async function captureChanged(
  before: CapturedStack,
  config: Readonly<Record<string, unknown>>,
): Promise<CapturedStack> {
  const dir = await mkdtemp(join(tmpdir(), "pgstack-capture-"));
  try {
    const tlsFile = join(dir, "tls.json");
    const out = join(dir, "resources.json");
    await writeFile(tlsFile, before.tls.saved(), { mode: 0o600 });
    const result = await run([
      join(PROJECT_DIR, "node_modules/.bin/tsx"),
      join(__dirname, "capture-child.ts"),
      before.stack,
      JSON.stringify(config),
      tlsFile,
      out,
    ]);
    if (result.code !== 0)
      throw new Error(`capturing ${before.stack} with ${JSON.stringify(config)}:\n${result.stderr}`);
    const resources = JSON.parse(await readFile(out, "utf8")) as DeclaredResource[];
    return capturedStack(before.stack, resources, before.tls);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
