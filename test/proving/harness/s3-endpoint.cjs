// The S3 stand-in of the proving ground (see substitutions.ts): s3rver answering at the names the
// stack uses, and, for IRSA stacks, STS's AssumeRoleWithWebIdentity at sts.amazonaws.com. Runs in
// its own network namespace; its configuration (keys included) comes from a file, never argv.
// s3rver accepts any write from any key it knows; the stand-in refuses writes signed with a key
// the stack declared read-only (the dev store's read-only identity, an IAM role without
// PutObject/DeleteObject), with S3's own AccessDenied, as SeaweedFS and S3 do.
"use strict";
const { readFileSync } = require("node:fs");
const https = require("node:https");
const S3rver = require("s3rver");
const AWSAccount = require("s3rver/lib/models/account");

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const account = new AWSAccount(123456789012, "pgstack-proving");
const readOnlyKeys = new Set();
for (const key of config.accounts) {
  account.createKeyPair(key.accessKeyId, key.secretAccessKey);
  if (key.readOnly) readOnlyKeys.add(key.accessKeyId);
}
for (const role of config.sts ? config.sts.roles : []) {
  account.createKeyPair(role.accessKeyId, role.secretAccessKey);
  if (role.readOnly) readOnlyKeys.add(role.accessKeyId);
}

/** The access key a SigV4 request is signed with (Authorization header or presigned query). */
function accessKeyOf(req) {
  const header = /Credential=([^/,\s]+)\//.exec(String(req.headers.authorization || ""));
  if (header) return header[1];
  const query = /[?&]X-Amz-Credential=([^%/&]+)/.exec(req.url || "");
  return query ? decodeURIComponent(query[1]) : undefined;
}

const s3 = new S3rver({
  directory: config.directory,
  serviceEndpoint: config.serviceEndpoint,
  configureBuckets: [{ name: config.bucket }],
  // Host-style requests are recognised by the serviceEndpoint pattern; any other host name is
  // the server's own (path-style), never a bucket.
  vhostBuckets: false,
  silent: true,
});

// STS: checks the role and the projected token the pod presents (what IRSA's trust policy and
// the webhook guarantee on AWS), then hands out keys s3rver knows.
function sts(req, res) {
  const url = new URL(req.url, "https://sts.amazonaws.com");
  const params = url.searchParams;
  const fail = (code, message) => {
    process.stderr.write(`sts: refused ${params.get("Action")}: ${message}\n`);
    res.writeHead(code, { "content-type": "text/xml" });
    res.end(
      `<ErrorResponse><Error><Code>AccessDenied</Code><Message>${message}</Message></Error></ErrorResponse>`,
    );
  };
  if (params.get("Action") !== "AssumeRoleWithWebIdentity") return fail(400, "unsupported action");
  const role = config.sts.roles.find((candidate) => candidate.roleArn === params.get("RoleArn"));
  if (!role) return fail(403, `role ${params.get("RoleArn")} is not one of the stack's roles`);
  const token = params.get("WebIdentityToken") || "";
  if (!token.startsWith(config.sts.tokenPrefix)) return fail(403, "web identity token not recognised");
  const subject = token.slice(config.sts.tokenPrefix.length);
  if (!role.subjects.includes(subject)) {
    return fail(403, `${subject} is not admitted by the role's trust policy (${role.subjects.join(", ")})`);
  }
  const expiration = new Date(Date.now() + 3600 * 1000).toISOString().replace(/\.\d+Z$/, "Z");
  process.stderr.write(`sts: AssumeRoleWithWebIdentity ${role.roleArn} for ${subject}\n`);
  res.writeHead(200, { "content-type": "text/xml" });
  res.end(`<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<AssumeRoleWithWebIdentityResult><Credentials>
<AccessKeyId>${role.accessKeyId}</AccessKeyId><SecretAccessKey>${role.secretAccessKey}</SecretAccessKey>
<SessionToken>pgstack-proving-session</SessionToken><Expiration>${expiration}</Expiration>
</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`);
}

(async () => {
  await s3.configureBuckets();
  const handle = s3.callback();
  const server = https.createServer(
    { key: readFileSync(config.keyFile), cert: readFileSync(config.certFile) },
    (req, res) => {
      const host = String(req.headers.host || "").replace(/:\d+$/, "");
      // Every request with its client's address: proofs check who wrote what.
      process.stdout.write(`request ${req.socket.remoteAddress} ${req.method} ${host}${req.url}\n`);
      if (config.sts && host === "sts.amazonaws.com") return sts(req, res);
      const key = accessKeyOf(req);
      if (key && readOnlyKeys.has(key) && req.method !== "GET" && req.method !== "HEAD") {
        process.stdout.write(`refused read-only ${req.method} ${host}${req.url} ${key}\n`);
        req.resume();
        res.writeHead(403, { "content-type": "application/xml" });
        return res.end(
          `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied: key ${key} may only read</Message></Error>`,
        );
      }
      return handle(req, res);
    },
  );
  await new Promise((resolve, reject) =>
    server.listen(config.port, config.address, resolve).once("error", reject),
  );
  process.stderr.write(`s3 stand-in listening on ${config.address}:${config.port}\n`);
})().catch((error) => {
  process.stderr.write(`s3 stand-in failed: ${error.stack || error}\n`);
  process.exit(1);
});
