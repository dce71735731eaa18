import { join } from "node:path";
import { readStackFiles } from "../../../components/config/stack-files";
import type { ClusterSpec } from "../../../components/spec/cluster-spec";
import { type CapturedResource, captureProgram, plainProps } from "../../../scripts/plan/capture-program";
import { toProgramConfig } from "../../../scripts/plan/program-config";
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

export async function captureStack(stack: string): Promise<CapturedStack> {
  const { values, secretKeys } = readStackFiles(PROJECT_DIR, stack);
  const project = "pgstack";
  const tls = new TlsProvider();
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
