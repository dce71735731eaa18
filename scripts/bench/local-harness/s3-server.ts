import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { request } from "node:https";
import { join, resolve } from "node:path";
import { pollUntil } from "../../../test/proving/harness/poll";
import type { ProcessSupervisor, Supervised } from "../../../test/proving/harness/processes";

/** The S3 server's CLI, from the project's own node_modules (s3rver 3.7.1, patched at install). */
const S3RVER_BIN = resolve(__dirname, "../../../node_modules/s3rver/bin/s3rver.js");

export interface S3ServerOptions {
  readonly supervisor: ProcessSupervisor;
  /** Where the objects live on disk; kept across stop/start, so a restarted server has the same bucket. */
  readonly directory: string;
  readonly bucket: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  /** The name in the certificate's SAN that clients connect to. */
  readonly host: string;
  /** Port on 127.0.0.1; kept across stop/start. */
  readonly port: number;
}

/**
 * s3rver over HTTPS on 127.0.0.1, as one supervised process that can be stopped and started again
 * on the same port and directory (the S3 outage proof). Listings longer than one page need the
 * OpenSSL legacy provider in s3rver 3.7.1 (its continuation token uses DES).
 */
export class S3Server {
  private proc: Supervised | undefined;

  constructor(private readonly options: S3ServerOptions) {}

  get port(): number {
    return this.options.port;
  }

  async start(): Promise<void> {
    await mkdir(this.options.directory, { recursive: true });
    this.proc = this.options.supervisor.start(
      "s3rver",
      [
        process.execPath,
        S3RVER_BIN,
        "--directory",
        this.options.directory,
        "--address",
        "127.0.0.1",
        "--port",
        String(this.port),
        "--key",
        this.options.keyFile,
        "--cert",
        this.options.certFile,
        // Virtual-host requests to <bucket>.s3.localhost name their bucket as on AWS.
        "--service-endpoint",
        "localhost",
        "--configure-bucket",
        this.options.bucket,
        "--silent",
      ],
      { env: { NODE_OPTIONS: "--openssl-legacy-provider" } },
    );
    const proc = this.proc;
    await pollUntil("s3rver to answer over TLS", async () => {
      if (!proc.running()) throw new Error(`s3rver exited: ${proc.log()}`);
      return (await this.probe()) ? true : undefined;
    });
  }

  async stop(): Promise<void> {
    if (this.proc) await this.options.supervisor.stop(this.proc);
    this.proc = undefined;
  }

  running(): boolean {
    return this.proc?.running() ?? false;
  }

  /** HTTP status of GET /<bucket> over TLS verified against the CA, or undefined when unreachable. */
  probe(): Promise<number | undefined> {
    return new Promise((resolvePromise) => {
      const req = request(
        {
          host: "127.0.0.1",
          servername: this.options.host,
          port: this.port,
          path: `/${this.options.bucket}`,
          method: "GET",
          ca: readFileSync(this.options.caFile),
          headers: { host: `${this.options.host}:${this.port}` },
          timeout: 2_000,
        },
        (res) => {
          res.resume();
          resolvePromise(res.statusCode);
        },
      );
      req.on("error", () => resolvePromise(undefined));
      req.on("timeout", () => req.destroy());
      req.end();
    });
  }

  /** Keys of the stored objects under `prefix` (read from s3rver's directory, not through S3). */
  objectDirectory(): string {
    return join(this.options.directory, this.options.bucket);
  }
}
