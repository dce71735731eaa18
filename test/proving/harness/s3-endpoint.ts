import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { shellCommand } from "../../../components/render/shell-quote";
import { pollUntil } from "./poll";
import { type ProcessSupervisor, run, type Supervised } from "./processes";
import type { NetworkHost } from "./test-network";

const LAUNCHER = join(__dirname, "s3-endpoint.cjs");

export interface S3EndpointOptions {
  readonly supervisor: ProcessSupervisor;
  readonly host: NetworkHost;
  /** Working directory: objects (kept across stop/start), TLS files, config. */
  readonly directory: string;
  readonly bucket: string;
  readonly port: number;
  /** Host-style requests name `<bucket>.s3.<region>.<serviceEndpoint>`. */
  readonly serviceEndpoint: string;
  /** The name clients verify in the certificate and send in Host (for the readiness check). */
  readonly name: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly caPem: string;
  /**
   * Access keys the stack's pgBackRest configs carry. A read-only key (the stack declares it so:
   * the dev store's identity without "Write") may only GET and HEAD, as the real stores enforce.
   */
  readonly accounts: readonly S3Account[];
  /**
   * IRSA: the roles pods assume, each with the service accounts its trust policy admits and
   * whether its IAM policy lets it write; the projected test token names the pod's service
   * account after `tokenPrefix`.
   */
  readonly sts?: {
    readonly tokenPrefix: string;
    readonly roles: readonly StsRole[];
  };
}

export interface S3Account {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly readOnly?: boolean;
}

export interface StsRole {
  readonly roleArn: string;
  readonly subjects: readonly string[];
  /** The role's policy grants no s3:PutObject and no s3:DeleteObject. */
  readonly readOnly: boolean;
}

/** The S3 stand-in (s3-endpoint.cjs) as a supervised process in its own network namespace. */
export class S3Endpoint {
  private proc: Supervised | undefined;
  private configFile: string | undefined;

  constructor(private readonly options: S3EndpointOptions) {}

  get address(): string {
    return this.options.host.address;
  }

  get objectDirectory(): string {
    return join(this.options.directory, "objects", this.options.bucket);
  }

  async start(): Promise<void> {
    const { directory } = this.options;
    if (!this.configFile) {
      await mkdir(join(directory, "objects"), { recursive: true, mode: 0o700 });
      await writeFile(join(directory, "cert.pem"), this.options.certPem, { mode: 0o600 });
      await writeFile(join(directory, "key.pem"), this.options.keyPem, { mode: 0o600 });
      await writeFile(join(directory, "ca.pem"), this.options.caPem, { mode: 0o644 });
      this.configFile = join(directory, "endpoint.json");
      const config = {
        directory: join(directory, "objects"),
        address: this.address,
        port: this.options.port,
        keyFile: join(directory, "key.pem"),
        certFile: join(directory, "cert.pem"),
        serviceEndpoint: this.options.serviceEndpoint,
        bucket: this.options.bucket,
        accounts: this.options.accounts,
        // Each role hands out keys of its own, read-only where its policy is.
        sts: this.options.sts && {
          tokenPrefix: this.options.sts.tokenPrefix,
          roles: this.options.sts.roles.map((role, index) => ({
            ...role,
            accessKeyId: `PGSTACKPROVINGSTS${index}`,
            secretAccessKey: `pgstack-proving-sts-secret-${index}`,
          })),
        },
      };
      await writeFile(this.configFile, JSON.stringify(config), { mode: 0o600 });
    }
    this.proc = this.options.supervisor.start(
      "s3-endpoint",
      ["nsenter", `--net=${this.options.host.nsPath}`, "--", process.execPath, LAUNCHER, this.configFile],
      // s3rver 3.7.1's listing continuation token uses DES, which needs OpenSSL's legacy provider.
      { env: { NODE_OPTIONS: "--openssl-legacy-provider", PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } },
    );
    const proc = this.proc;
    await pollUntil(
      "the S3 stand-in to answer over TLS",
      async () => {
        if (!proc.running()) return false;
        return (await this.probe()) ? true : undefined;
      },
      { timeoutMs: 30_000, describe: async () => proc.log().slice(-2000) },
    );
    if (!proc.running()) throw new Error(`the S3 stand-in exited: ${proc.log()}`);
  }

  async stop(): Promise<void> {
    if (this.proc) await this.options.supervisor.stop(this.proc);
    this.proc = undefined;
  }

  running(): boolean {
    return this.proc?.running() ?? false;
  }

  /** This machine's PID of the stand-in while it runs (the benchmark reads its CPU time). */
  get pid(): number | undefined {
    return this.proc?.running() ? this.proc.pid : undefined;
  }

  /** True when a TLS request verified against the CA, for the endpoint's name, gets an HTTP answer. */
  async probe(): Promise<boolean> {
    const url = `https://${this.options.name}:${this.options.port}/${this.options.bucket}`;
    const script = `require("node:https").get(${JSON.stringify(url)}, { ca: require("node:fs").readFileSync(${JSON.stringify(join(this.options.directory, "ca.pem"))}), lookup: (h, o, cb) => o && o.all ? cb(null, [{ address: ${JSON.stringify(this.address)}, family: 4 }]) : cb(null, ${JSON.stringify(this.address)}, 4), timeout: 2000 }, (r) => { r.resume(); process.exit(r.statusCode ? 0 : 1); }).on("error", () => process.exit(1));`;
    const result = await run(
      [
        "sh",
        "-c",
        `exec ${shellCommand(["nsenter", `--net=${this.options.host.nsPath}`, "--", process.execPath, "-e", script])}`,
      ],
      { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" }, timeoutMs: 10_000 },
    );
    return result.code === 0;
  }

  log(): string {
    return this.proc?.log() ?? "";
  }

  /** Requests the stand-in refused because the key signing them is read-only (`METHOD host/path key`). */
  refusedWrites(): string[] {
    return this.options.supervisor
      .logOf("s3-endpoint")
      .split("\n")
      .filter((line) => line.startsWith("refused read-only "))
      .map((line) => line.slice("refused read-only ".length));
  }

  /** Requests (`METHOD host/path`) the stand-in received from `address`, over all its runs. */
  requestsFrom(address: string): string[] {
    return this.options.supervisor
      .logOf("s3-endpoint")
      .split("\n")
      .filter(
        (line) => line.startsWith(`request ${address} `) || line.startsWith(`request ::ffff:${address} `),
      )
      .map((line) => line.split(" ").slice(2).join(" "));
  }
}
