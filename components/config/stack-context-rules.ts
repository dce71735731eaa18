import { type ConfigProblem, displayValue } from "./config-error";
import type { StackConfig } from "./stack-config";

/**
 * Rules the schema cannot express because they need more than the stack's own `pgstack:*` keys:
 * the stack's name (Kubernetes derives names from it), the AWS provider's region (`aws:region`),
 * and the project's other stacks (two stacks must never share a repository, a bucket, a
 * namespace, a Docker name prefix or a host port). Both stacks of a collision read each other's
 * file, so each of them is refused, not only the one planned last.
 */

/** What a stack's config is checked against besides itself. */
export interface StackContext {
  /** `aws:region` of this stack, when set. */
  readonly awsRegion?: string;
  /** The project's other stacks, as their stack files hold them (`namespace:key` → value). */
  readonly otherStacks: readonly OtherStack[];
}

export interface OtherStack {
  readonly stack: string;
  /** Where it was read from, for messages (e.g. Pulumi.prod.yaml). */
  readonly file: string;
  readonly values: Readonly<Record<string, unknown>>;
}

/** What of a stack can collide with another stack. */
interface Footprint {
  readonly stack: string;
  readonly platform: string;
  /** Where the repository lives: "aws" (one global namespace), an endpoint host, or the stack's own local store. */
  readonly storage: string;
  readonly store: string;
  readonly bucket: string;
  readonly path: string;
  /** Kubernetes only. */
  readonly namespace?: string;
  readonly clientNamespaces: readonly string[];
  readonly publishPort?: number;
}

const PREFIX = "pgstack";

/** Every resource name derives from the stack name: renaming a deployed stack replaces them all. */
const RENAME_NOTE =
  " (while the stack has nothing deployed: a rename changes every resource name, and Pulumi would replace them)";

/** Kubernetes names are DNS labels; a StatefulSet or CronJob name leaves room for what the controller appends. */
const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export function stackContextProblems(
  config: StackConfig,
  stack: string,
  context?: StackContext,
): ConfigProblem[] {
  const problems = [...stackNameProblems(config, stack)];
  if (!context) return problems;
  problems.push(...regionProblems(config, context.awsRegion));
  const own = footprintOf(config, stack);
  for (const other of context.otherStacks) {
    if (other.stack === stack) continue;
    problems.push(...collisionProblems(own, lenientFootprint(other), other.file));
  }
  return problems;
}

/**
 * Kubernetes object names derived from the stack name (`pgstack-<stack>-...`), each with the
 * limit Kubernetes enforces: Services and the namespace are DNS labels of at most 63; a
 * StatefulSet at most 52 (its pods' controller-revision-hash label appends 11 characters); a
 * CronJob at most 52 (its Jobs append 11).
 */
export function derivedKubernetesNames(
  stack: string,
  replicas: number,
  namespace: string | undefined,
): { name: string; limit: number; what: string }[] {
  const cluster = `${PREFIX}-${stack}`;
  const lastMember = replicas > 0 ? `replica-${replicas}` : "primary";
  const names = [
    { name: `${cluster}-${lastMember}`, limit: 52, what: "StatefulSet" },
    { name: `${cluster}-${lastMember}-headless`, limit: 63, what: "Service" },
    { name: `${cluster}-backup-full`, limit: 52, what: "CronJob" },
    { name: `${cluster}-backup-diff`, limit: 52, what: "CronJob" },
    { name: `${cluster}-database`, limit: 63, what: "ServiceAccount" },
  ];
  if (namespace === undefined) names.unshift({ name: cluster, limit: 63, what: "namespace (the default)" });
  return names;
}

function stackNameProblems(config: StackConfig, stack: string): ConfigProblem[] {
  if (config.platform !== "kubernetes") return [];
  const names = derivedKubernetesNames(stack, config.replicas, config.namespace);
  const broken = names.filter(({ name, limit }) => !DNS_LABEL.test(name) || name.length > limit);
  if (broken.length === 0) return [];
  const room = Math.min(...names.map(({ name, limit }) => limit - (name.length - stack.length)));
  const first = broken[0];
  const why = DNS_LABEL.test(first.name)
    ? `the ${first.what} name ${first.name} is ${first.name.length} characters, over Kubernetes' ${first.limit}`
    : `the ${first.what} name ${first.name} is not a DNS label (lowercase a-z, 0-9 and '-', starting with a letter)`;
  return [
    {
      key: "stack name",
      value: displayValue(stack),
      message: `Kubernetes object names are derived from the stack name and ${why}; a stack name on Kubernetes must be lowercase letters, digits and '-', at most ${room} characters`,
      fix: `pulumi stack rename ${suggestStackName(stack, room)}${RENAME_NOTE}`,
    },
  ];
}

function suggestStackName(stack: string, room: number): string {
  const cleaned = stack
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^[^a-z]+/, "")
    .slice(0, Math.max(1, room))
    .replace(/-+$/, "");
  return cleaned === "" ? "prod" : cleaned;
}

/** The AWS region named in an S3 endpoint such as s3.eu-west-1.amazonaws.com. */
function endpointRegion(endpoint: string | undefined): string | undefined {
  return endpoint === undefined ? undefined : /^s3[.-]([a-z0-9-]+)\.amazonaws\.com$/.exec(endpoint)?.[1];
}

function regionProblems(config: StackConfig, awsRegion: string | undefined): ConfigProblem[] {
  const store = storeOf(config.platform, config.archiveStore);
  if (store !== "aws") return [];
  const problems: ConfigProblem[] = [];
  const region = config.archiveRegion;
  if (awsRegion !== undefined && region !== undefined && awsRegion !== region) {
    problems.push({
      key: "pgstack:archiveRegion",
      value: displayValue(region),
      message: `disagrees with aws:region = ${displayValue(awsRegion)}: the bucket is created in aws:region, and pgBackRest signing for ${region} fails every WAL push`,
      fix: `pulumi config set pgstack:archiveRegion ${awsRegion} (or set aws:region ${region}; the two must match)`,
    });
  }
  if (awsRegion === undefined && config.platform === "kubernetes") {
    problems.push({
      key: "aws:region",
      value: "<unset>",
      message: `is required: the stack creates its bucket, KMS key and IAM role with the AWS provider, which would otherwise pick the region of whoever runs pulumi up (AWS_REGION), not pgstack:archiveRegion = ${displayValue(region)}`,
      fix: `pulumi config set aws:region ${region ?? "<the bucket's region>"}`,
    });
  }
  const named = endpointRegion(config.archiveEndpoint);
  if (named !== undefined && region !== undefined && named !== region) {
    problems.push({
      key: "pgstack:archiveEndpoint",
      value: displayValue(config.archiveEndpoint),
      message: `is in ${named} but pgstack:archiveRegion = ${displayValue(region)}: requests signed for one region are refused by the other`,
      fix: `pulumi config rm pgstack:archiveEndpoint (the default is s3.${region}.amazonaws.com), or make the two agree`,
    });
  }
  return problems;
}

function storeOf(platform: string, archiveStore: string | undefined): string {
  return archiveStore ?? (platform === "docker" ? "local" : "aws");
}

/** Where the repository lives: stacks collide only on the same storage. */
function storageOf(stack: string, store: string, endpoint: string | undefined): string {
  if (store === "aws") return "aws";
  // Each Docker stack runs its own local S3 store unless pointed at a shared endpoint.
  return endpoint ? `endpoint ${endpoint}` : `the local S3 store of stack ${stack}`;
}

function footprintOf(config: StackConfig, stack: string): Footprint {
  const store = storeOf(config.platform, config.archiveStore);
  return {
    stack,
    platform: config.platform,
    store,
    storage: storageOf(stack, store, config.archiveEndpoint),
    bucket: config.archiveBucket,
    path: config.archivePrefix ?? `/${PREFIX}/${stack}`,
    namespace: config.platform === "kubernetes" ? (config.namespace ?? `${PREFIX}-${stack}`) : undefined,
    clientNamespaces: config.platform === "kubernetes" ? config.clientNamespaces : [],
    publishPort: config.publishPort,
  };
}

/**
 * The other stack's footprint from its raw values, without validating it: its own plan reports
 * its own mistakes, and a collision must be found even when that stack has one.
 */
function lenientFootprint(other: OtherStack): Footprint {
  const value = (key: string): unknown => {
    const raw = other.values[`${PREFIX}:${key}`];
    return raw === "" || raw === null || raw === 0 ? undefined : raw;
  };
  const text = (key: string) => {
    const raw = value(key);
    return typeof raw === "string" || typeof raw === "number" ? String(raw) : undefined;
  };
  const listOf = (key: string): string[] => {
    const raw = value(key);
    const parsed = typeof raw === "string" ? safeJson(raw) : raw;
    return Array.isArray(parsed) ? parsed.map(String) : [];
  };
  const platform = text("platform") ?? "";
  const store = storeOf(platform, text("archiveStore"));
  const port = Number(text("publishPort"));
  return {
    stack: other.stack,
    platform,
    store,
    storage: storageOf(other.stack, store, text("archiveEndpoint")),
    bucket: text("archiveBucket") ?? "",
    path: text("archivePrefix") ?? `/${PREFIX}/${other.stack}`,
    namespace: platform === "kubernetes" ? (text("namespace") ?? `${PREFIX}-${other.stack}`) : undefined,
    clientNamespaces: platform === "kubernetes" ? listOf("clientNamespaces") : [],
    publishPort: Number.isInteger(port) && port > 0 ? port : undefined,
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Whether one repository path contains the other (whole segments: /pgstack/dev does not contain /pgstack/dev2). */
function pathsOverlap(a: string, b: string): boolean {
  const within = (inner: string, outer: string) => inner === outer || inner.startsWith(`${outer}/`);
  return within(a, b) || within(b, a);
}

function collisionProblems(own: Footprint, other: Footprint, file: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const theirs = `stack ${other.stack} (${file})`;
  if (own.storage === other.storage && own.bucket === other.bucket && pathsOverlap(own.path, other.path)) {
    problems.push({
      key: "pgstack:archivePrefix",
      value: displayValue(own.path),
      message: `with pgstack:archiveBucket = ${displayValue(own.bucket)} reaches into the repository of ${theirs}, s3://${other.bucket}${other.path}: one stack's expire would delete the other's backups and WAL`,
      fix: `pulumi config set pgstack:archivePrefix /${PREFIX}/${own.stack} (a path of its own; ${other.path} is taken), or use another bucket`,
    });
  } else if (
    own.store === "aws" &&
    other.store === "aws" &&
    own.platform === "kubernetes" &&
    other.platform === "kubernetes" &&
    own.bucket === other.bucket
  ) {
    problems.push({
      key: "pgstack:archiveBucket",
      value: displayValue(own.bucket),
      message: `is also the bucket of ${theirs}; each stack creates and owns its bucket, so one create fails and one destroy would delete the other's backups`,
      fix: `pulumi config set pgstack:archiveBucket <a bucket name of its own, e.g. ${own.bucket}-${own.stack}>`,
    });
  }
  if (own.namespace !== undefined && own.namespace === other.namespace) {
    problems.push({
      key: "pgstack:namespace",
      value: displayValue(own.namespace),
      message: `is also the namespace of ${theirs}: the two clusters' Secrets, Services and network policies would overwrite each other`,
      fix: `pulumi config set pgstack:namespace ${PREFIX}-${own.stack} (or rm it: the default is ${PREFIX}-<stack>)`,
    });
  }
  if (other.namespace !== undefined) {
    own.clientNamespaces.forEach((client, index) => {
      if (client !== other.namespace) return;
      problems.push({
        key: `pgstack:clientNamespaces[${index}]`,
        value: displayValue(client),
        message: `is the namespace of ${theirs}: its database and backup pods would be admitted as clients of this cluster`,
        fix: `remove it: pulumi config rm --path 'pgstack:clientNamespaces[${index}]' (name the application's namespace instead)`,
      });
    });
  }
  if (own.namespace !== undefined && other.clientNamespaces.includes(own.namespace)) {
    problems.push({
      key: "pgstack:namespace",
      value: displayValue(own.namespace),
      message: `is listed in pgstack:clientNamespaces of ${theirs}: this cluster's database and backup pods would be admitted as that cluster's clients`,
      fix: `remove ${own.namespace} from pgstack:clientNamespaces in ${file}`,
    });
  }
  if (own.platform === "docker" && other.platform === "docker") {
    const [shorter, longer] = own.stack.length <= other.stack.length ? [own, other] : [other, own];
    if (longer.stack.startsWith(`${shorter.stack}-`)) {
      problems.push({
        key: "stack name",
        value: displayValue(own.stack),
        message: `every Docker name of stack ${shorter.stack} starts with ${PREFIX}-${shorter.stack}-, which also begins every name of stack ${longer.stack} (${longer === other ? file : "this stack"}): a volume or container filter for one (docker volume ls --filter name=${PREFIX}-${shorter.stack}-) reaches into the other's data`,
        fix: `pulumi stack rename --stack ${longer.stack} <a name that does not start with ${shorter.stack}->${RENAME_NOTE}`,
      });
    }
    if (own.publishPort !== undefined && own.publishPort === other.publishPort) {
      problems.push({
        key: "pgstack:publishPort",
        value: displayValue(own.publishPort),
        message: `is also the published port of ${theirs}: both bind 127.0.0.1:${own.publishPort} on the Docker host, and the second stack's primary cannot start`,
        fix: `pulumi config set pgstack:publishPort ${own.publishPort + 1} (any free port, 1024 to 65535, not used by another stack)`,
      });
    }
  }
  return problems;
}
