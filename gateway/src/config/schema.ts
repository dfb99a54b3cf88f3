import { z } from 'zod';
import { SCHEMA_NAME, STATE_IAM_AUTH, STATE_SSL_MODES, stateConnectionProblems } from '../state/connection-url';

/**
 * The one schema for the whole gateway configuration. Every option has a default where a safe
 * one exists; docs/configuration.md documents each field (keep the two in step).
 *
 * Secret references are strings `env:NAME`, `file:/path` (and, from the cloud kits,
 * `aws-sm:...`, `gcp-sm:...`, `azure-kv:...`). They are resolved by `secrets/`, never logged.
 */
export const secretRef = z
  .string()
  .regex(/^[a-z][a-z0-9-]*:.+/, 'a secret reference such as "env:NAME" or "file:/path"');

const name = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a lowercase name of letters, digits, "-" and "_"');

export const tlsSchema = z
  .object({
    /** PEM certificate chain: a file path or a secret reference. */
    cert: z.string().min(1),
    /** PEM private key: a file path or a secret reference. */
    key: z.string().min(1),
  })
  .strict();

export const listenerSchema = z
  .object({
    address: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535),
    tls: tlsSchema.optional(),
    /** Plain TCP is refused unless this is true (production also requires TLS unless set). */
    allowPlaintext: z.boolean().default(false),
  })
  .strict();

/**
 * Where clients reach a TCP listener when something between them and the gateway changes the name
 * or port (a load balancer listening on 22 for a container's 2222, a separate DNS name for the
 * database endpoint). Published at `/.well-known/gatehouse`, so `gatehouse setup psql` and SSH
 * clients connect there. Each field left out: the gateway URL's host name, the port bound.
 */
export const advertiseSchema = z
  .object({
    host: z.string().regex(/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/, 'a host name or IP address ([…] for IPv6)').optional(),
    port: z.number().int().min(1).max(65535).optional(),
  })
  .strict();

/** The PostgreSQL listener: a listener clients may reach under another name or port. */
export const postgresListenerSchema = listenerSchema.extend({ advertise: advertiseSchema.optional() }).strict();

/**
 * The SSH listener (docs/ssh.md). SSH brings its own encryption: no `tls` block. Clients pin the
 * gateway's host key (`gatehouse` logs its fingerprint at start; `gatehouse ssh-key` prints it).
 */
export const sshListenerSchema = z
  .object({
    address: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535),
    /** Secret reference to the gateway's host key (OpenSSH or PEM private key, no passphrase). */
    hostKey: secretRef,
    /**
     * Secret reference to the ed25519 key that signs the short-lived user certificates
     * `gatehouse ssh-key` obtains (verified by every replica without shared state). A separate key
     * from the host key. @default none: certificates are not issued; registered plain keys are
     * accepted by the replica that registered them only
     */
    userCaKey: secretRef.optional(),
    /** Longest lifetime of a registered key, certificate or device sign-in, in minutes; the caller's token expiry cuts it shorter. @default 60 */
    keyTtlMinutes: z.number().int().min(1).max(1440).default(60),
    /** Where clients reach this listener, when not at the gateway's host name and the bound port. */
    advertise: advertiseSchema.optional(),
    /**
     * Keyboard-interactive sign-in with a device code (OAuth 2.0 device authorization grant) for
     * clients without a registered key: the client is shown the issuer's verification URL and a
     * user code, the gateway polls the issuer and verifies the ID token like any caller's. @default
     * none: publickey only
     */
    deviceLogin: z
      .object({
        /** `name` of the human `identity.issuers` entry people sign in at; its discovery must name a device_authorization_endpoint. */
        issuer: name,
        /** The OAuth client the gateway is at that issuer (device grant allowed); one of the issuer's `audiences`, since the ID token's `aud` is the client id. */
        clientId: z.string().min(1),
        /** Secret reference to the client secret of a confidential client. @default none: a public client */
        clientSecret: secretRef.optional(),
        /** Scopes asked for; must include `openid` (the ID token is the credential). @default ['openid', 'email', 'profile'] */
        scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'a scope token')).min(1).default(['openid', 'email', 'profile']),
        /** Longest wait for the person to approve, in seconds; the issuer's code lifetime cuts it shorter. @default 300 */
        timeoutSeconds: z.number().int().min(10).max(1800).default(300),
        /**
         * Most sign-ins waiting for approval at once: each holds a device code at the issuer and
         * polls its token endpoint, and any client that reaches the listener can start one. The
         * excess is refused at once (GH_ERR_SSH_DEVICE_LIMIT), never queued. @default 64
         */
        maxPending: z.number().int().min(1).max(10000).default(64),
        /** Most of them from one client address (an IPv6 client: its /64). @default 8 */
        maxPendingPerAddress: z.number().int().min(1).max(10000).default(8),
      })
      .strict()
      .optional(),
  })
  .strict();

export const subjectRuleSchema = z
  .object({
    /** Glob over `sub` (`*` matches any run of characters), e.g. `repo:acme/api:ref:refs/heads/main`. */
    subject: z.string().min(1),
    /** Extra claims that must match exactly (e.g. `repository_owner: acme`). */
    claims: z.record(z.string(), z.string()).default({}),
    /** Groups granted to tokens matching this rule. */
    groups: z.array(z.string().min(1)).default([]),
  })
  .strict();

export const jwsAlgorithm = z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']);

export const issuerSchema = z
  .object({
    name,
    /** Exact `iss` value; discovery fetches `${issuer}/.well-known/openid-configuration`. */
    issuer: z.string().url(),
    /** Accepted `aud` values; at least one must be present in the token. */
    audiences: z.array(z.string().min(1)).min(1),
    /** Explicit allow-list of signature algorithms. HMAC and `none` are never accepted. */
    algorithms: z.array(jwsAlgorithm).min(1).default(['RS256', 'ES256']),
    /** Claim holding the caller's groups (array of strings or space-separated string). */
    groupsClaim: z.string().min(1).default('groups'),
    /** Claim used for a display name. */
    nameClaim: z.string().min(1).default('email'),
    /** Bounded clock skew for exp/nbf/iat checks. */
    clockSkewSeconds: z.number().int().min(0).max(300).default(60),
    /** Override discovery and use this JWKS URL. */
    jwksUri: z.string().url().optional(),
    /** `human` for people, `workload` for CI jobs and services. */
    kind: z.enum(['human', 'workload']).default('human'),
    /** For workload issuers: the token's subject must match one of these rules. */
    subjectRules: z.array(subjectRuleSchema).optional(),
    /** JWKS cache lifetime before a background refresh. */
    jwksCacheSeconds: z.number().int().min(10).max(86400).default(600),
  })
  .strict();

export const credentialSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('bearer'), secret: secretRef }).strict(),
  z.object({ type: z.literal('header'), header: z.string().min(1), secret: secretRef, prefix: z.string().default('') }).strict(),
  z.object({ type: z.literal('basic'), username: z.string().min(1), secret: secretRef }).strict(),
  z.object({ type: z.literal('query'), param: z.string().min(1), secret: secretRef }).strict(),
  z.object({ type: z.literal('none') }).strict(),
]);

/** A rule id or type name in masking configuration. */
const maskingId = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/i, '1-64 letters, digits, "_", "." or "-"');

export const maskingCustomRuleSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('regex'),
      id: maskingId,
      /** Type used in type tags and counters (`employee_id`). */
      type: maskingId,
      /** JavaScript regular expression source. */
      pattern: z.string().min(1),
      /** Extra flags among i, m, s, u. */
      flags: z.string().regex(/^[imsu]*$/).optional(),
      /** Longest text a match can span (the stream hold-back). */
      maxLength: z.number().int().min(1).max(65536),
      /** Capture group to mask instead of the whole match. */
      group: z.number().int().min(0).optional(),
      family: z.enum(['secret', 'pii']).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('dictionary'),
      id: maskingId,
      type: maskingId,
      words: z.array(z.string().min(1)).min(1),
      caseSensitive: z.boolean().optional(),
      wholeWord: z.boolean().optional(),
      family: z.enum(['secret', 'pii']).optional(),
    })
    .strict(),
]);

export const maskingReplacementSchema = z.discriminatedUnion('kind', [
  /** Every value becomes the same text. */
  z.object({ kind: z.literal('mask'), text: z.string().min(1).max(64).optional() }).strict(),
  /** Every value becomes its type: `[EMAIL]`. */
  z.object({ kind: z.literal('type_tag') }).strict(),
  /** `[EMAIL:3f2a9c1d]`: HMAC-SHA-256 under a secret key, so equal values stay equal. */
  z.object({ kind: z.literal('keyed_hash'), key: secretRef, hexChars: z.number().int().min(8).max(64).optional() }).strict(),
]);

/**
 * Masking of secrets and personal data for one connection (docs/masking.md). Declared once at
 * start-up; applies to what the client receives and to what is recorded.
 */
export const maskingSchema = z
  .object({
    /** @default true when the block is present */
    enabled: z.boolean().default(true),
    /** Built-in rule families. */
    families: z.array(z.enum(['secret', 'pii'])).min(1).default(['secret', 'pii']),
    /** Only these built-in rule ids (after `families`). */
    include: z.array(z.string().min(1)).optional(),
    /** Built-in rule ids to leave out. */
    exclude: z.array(z.string().min(1)).default([]),
    /** Custom regular-expression and dictionary rules. */
    custom: z.array(maskingCustomRuleSchema).default([]),
    replacement: maskingReplacementSchema.default({ kind: 'type_tag' }),
    /** JSON paths whose values are masked whole (`$.user.email`, `$..password`). */
    jsonPaths: z.array(z.union([z.string().min(1), z.object({ path: z.string().min(1), type: maskingId.optional() }).strict()])).default([]),
    /** Result columns masked whole by database protocols (case-insensitive names). */
    columns: z.array(z.union([z.string().min(1), z.object({ name: z.string().min(1), type: maskingId.optional() }).strict()])).default([]),
    /** JSON responses up to this size are masked whole (paths + values); larger ones as a text stream. */
    jsonBufferBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
    /** Bodies of binary content types: `pass` unmasked, or `refuse` (502 GH_ERR_MASKING_FAILED). */
    binary: z.enum(['pass', 'refuse']).default('pass'),
    /** Also store the unmasked originals, encrypted with `originalsKey` (AES-256-GCM). */
    storeOriginals: z.boolean().default(false),
    /** Secret reference to a 32-byte key (base64 or hex). Required with storeOriginals. */
    originalsKey: secretRef.optional(),
    /** Recorded beside each encrypted original; @default derived from the key (a fingerprint, not the key). */
    originalsKeyId: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/).optional(),
  })
  .strict();

export const httpConnectionSchema = z
  .object({
    name,
    kind: z.literal('http'),
    /** Upstream base URL; the request path (after the route prefix) is appended to its path. */
    upstream: z.string().url(),
    route: z
      .object({
        /** Match requests whose path starts with this prefix (e.g. `/anthropic`). */
        pathPrefix: z.string().startsWith('/').optional(),
        /** Match requests whose Host header equals this (without port). */
        host: z.string().min(1).optional(),
        /** Remove the path prefix before forwarding (default true). */
        stripPrefix: z.boolean().default(true),
      })
      .strict()
      .refine((r) => r.pathPrefix !== undefined || r.host !== undefined, 'a route needs pathPrefix or host'),
    credential: credentialSchema.default({ type: 'none' }),
    /** Structured transcripts for LLM APIs. */
    llm: z.enum(['anthropic', 'openai', 'none']).default('none'),
    /** Request/response bodies are recorded up to this many bytes each; beyond it, truncation is marked. */
    bodyCapBytes: z.number().int().min(0).optional(),
    /** Upstream request timeout (time to response headers). */
    timeoutMs: z.number().int().min(100).default(120000),
    /** Trust a custom CA for the upstream (PEM file or secret reference). */
    upstreamCa: z.string().optional(),
    /** Masking of responses and of the record; @default the top-level `masking` block, else off. */
    masking: maskingSchema.optional(),
    /**
     * Method overrides (`X-HTTP-Method-Override`, `X-HTTP-Method`, `X-Method-Override` headers, a
     * `_method` query or form parameter): `refuse` (400 GH_ERR_METHOD_OVERRIDE), or `judge` the
     * request as the overriding method (and forward it as sent). @default refuse
     */
    methodOverride: z.enum(['refuse', 'judge']).default('refuse'),
    /**
     * Caller headers forwarded although they can carry a credential (Cookie, Authorization, the
     * brokered credential's header in another spelling, ...), lower-case names. The brokered
     * credential's own header is never taken from the caller. @default none
     */
    forwardHeaders: z.array(z.string().regex(/^[a-z0-9!#$%&'*+.^_`|~-]+$/, 'a lower-case header name')).default([]),
    /**
     * A response that would carry a brokered credential value (a reflecting upstream): `mask` it
     * (replaced by `[REDACTED]`) or `refuse` the response (502 GH_ERR_CREDENTIAL_REFLECTED). Either
     * way the value is never recorded. @default mask
     */
    credentialInResponse: z.enum(['mask', 'refuse']).default('mask'),
  })
  .strict();

/**
 * A PostgreSQL database behind the gateway's PostgreSQL listener (docs/postgres.md). Clients pick
 * it by the database name they connect to (`databases`, default the connection's name); the
 * gateway logs in upstream with the brokered credential.
 */
export const postgresConnectionSchema = z
  .object({
    name,
    kind: z.literal('postgres'),
    /** Database names clients connect to that select this connection. @default [name] */
    databases: z.array(z.string().min(1).max(63)).min(1).optional(),
    upstream: z
      .object({
        host: z.string().min(1),
        port: z.number().int().min(1).max(65535).default(5432),
        /** Database opened upstream. */
        database: z.string().min(1),
        /** Role the gateway logs in as upstream. */
        user: z.string().min(1),
        /** Secret reference to that role's password (SCRAM-SHA-256, md5 or cleartext, as the server asks). */
        password: secretRef.optional(),
        tls: z
          .object({
            /** `disable`, `require` (encrypted, unverified) or `verify-full` (CA and host name checked). */
            mode: z.enum(['disable', 'require', 'verify-full']).default('verify-full'),
            /** CA bundle for verify-full (PEM file or secret reference); @default the system CAs. */
            ca: z.string().min(1).optional(),
            /** Name checked against the certificate; @default host. */
            serverName: z.string().min(1).optional(),
          })
          .strict()
          .default({ mode: 'verify-full' }),
        /** Connecting and logging in upstream must finish within this. */
        connectTimeoutMs: z.number().int().min(100).max(120000).default(10000),
        /**
         * Open sessions that log in with `user` read-only (`default_transaction_read_only = on`; the
         * gateway ends a session whose server reports it turned off). @default false
         */
        readOnly: z.boolean().default(false),
        /**
         * The brokered credential by group, so PostgreSQL's own GRANTs back the policy: the first
         * entry naming one of the principal's groups chooses the upstream role; a principal matching
         * none logs in as `user`. docs/postgres.md has the recommended role setup. @default []
         */
        roles: z
          .array(
            z
              .object({
                /** Principals in any of these groups log in as this role. */
                groups: z.array(z.string().min(1)).min(1),
                user: z.string().min(1),
                /** Secret reference to this role's password. */
                password: secretRef.optional(),
                /** Open these sessions read-only (`default_transaction_read_only = on`). @default false */
                readOnly: z.boolean().default(false),
              })
              .strict(),
          )
          .default([]),
      })
      .strict(),
    /**
     * Largest client message (a Query, Parse, Bind, ...) in bytes, and so the most a connection
     * buffers: a larger one ends the connection with FATAL 54000 before it is read. @default 67108864 (64 MiB)
     */
    maxMessageBytes: z.number().int().min(65536).max(1024 * 1024 * 1024).default(64 * 1024 * 1024),
    /**
     * A connection ends (FATAL 57P01) after this many seconds, and in any case when the token it
     * logged in with expires (FATAL 28000): the protocol has no way to present a new one. @default 86400
     */
    maxSessionSeconds: z.number().int().min(1).max(30 * 86400).default(86400),
    /** Statements the SQL parser cannot read: refused, judged by policy as `sql:unparsed` with an approval, or judged as `sql:unparsed`. */
    unparsedStatements: z.enum(['deny', 'review', 'allow']).default('deny'),
    /**
     * Longest SQL text (characters) the gateway parses; a longer one is judged like an unparsed
     * statement (`unparsedStatements`). Parsing costs about 0.5 µs per character on the event loop.
     */
    maxStatementLength: z.number().int().min(1024).max(64 * 1024 * 1024).default(262144),
    record: z
      .object({
        /** Result rows recorded per statement (row description plus values); beyond it truncation is marked. */
        rows: z.number().int().min(0).max(100000).default(100),
        /** Bytes recorded per value (result cells and Bind parameters). */
        valueBytes: z.number().int().min(0).max(1048576).default(1024),
      })
      .strict()
      .default({ rows: 100, valueBytes: 1024 }),
    /** Masking of result rows (and COPY TO STDOUT data) for the client and the record; @default the top-level `masking` block, else off. */
    masking: maskingSchema.optional(),
  })
  .strict();

/**
 * A host reached over SSH (docs/ssh.md). Clients select it by SSH user name: `<name>` or
 * `<user>@<name>`; the gateway logs in upstream with the brokered private key and accepts only the
 * pinned host key. Served by `listeners.ssh`.
 */
export const sshConnectionSchema = z
  .object({
    name,
    kind: z.literal('ssh'),
    upstream: z
      .object({
        host: z.string().min(1),
        port: z.number().int().min(1).max(65535).default(22),
        /** The user the gateway logs in as. */
        user: z.string().min(1).max(64),
        /** Secret reference to the brokered private key (OpenSSH or PEM; no passphrase). */
        privateKey: secretRef,
        /** The upstream's host key as a known_hosts entry without the host: `ssh-ed25519 AAAA…`. A different key is refused. */
        hostKey: z.string().regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,2}$/, 'a public key such as "ssh-ed25519 AAAA…"'),
      })
      .strict(),
    /** Masking of the recorded terminal output and input; @default the top-level `masking` block, else off. */
    masking: maskingSchema.optional(),
    /**
     * Bytes recorded of each file read or written through SFTP (its first ones, per direction; text
     * masked as `masking` says, binary base64 only without masking); 0 records no contents. The
     * size and SHA-256 of the whole file are recorded either way. @default recording.bodyCapBytes (65536)
     */
    bodyCapBytes: z.number().int().min(0).max(16 * 1024 * 1024).optional(),
  })
  .strict();

/**
 * AWS APIs of one service in one region (docs/aws-apis.md): clients point their SDK's endpoint
 * (`AWS_ENDPOINT_URL_<SERVICE>`, `endpoint_url`) at this connection's route and sign with
 * gateway-issued credentials (`gatehouse aws-credentials`); the gateway verifies that signature,
 * judges the operation (`aws:<service>:<Operation>`) and re-signs with the brokered credential.
 */
export const awsConnectionSchema = z
  .object({
    name,
    kind: z.literal('aws'),
    /** The service's signing name (`s3`, `dynamodb`, `kms`, `secretsmanager`, `sts`, ...). */
    service: z.string().regex(/^[a-z0-9-]{2,63}$/, 'an AWS signing name such as "s3"'),
    /** The region served; a request signed for another is refused. */
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'an AWS region such as "eu-west-1"'),
    /** How clients reach this connection on the HTTP listener (as an http connection's `route`). */
    route: z
      .object({
        pathPrefix: z.string().startsWith('/').optional(),
        host: z.string().min(1).optional(),
      })
      .strict()
      .refine((r) => r.pathPrefix !== undefined || r.host !== undefined, 'a route needs pathPrefix or host'),
    /**
     * The upstream endpoint (an S3-compatible store, a stand-in, a VPC endpoint). @default AWS's
     * regional endpoint, `https://<service>.<region>.amazonaws.com`
     */
    endpoint: z.string().url().optional(),
    /** Host name suffixes of virtual-hosted S3 requests (`<bucket>.<suffix>`). @default [] (path style only) */
    virtualHostSuffixes: z.array(z.string().min(1)).default([]),
    /** The credentials callers sign with (`gatehouse aws-credentials`): worthless anywhere else. */
    callerCredentials: z
      .object({
        /** Secret reference to the keyring `{"current": "k1", "keys": {"k1": "<base64, >= 32 bytes>"}}`. */
        keys: secretRef,
        /** Connections with the same scope accept each other's caller credentials (one profile for several services). @default the connection's name */
        scope: name.optional(),
        /** Lifetime of a minted credential, never beyond the caller's token. @default 3600 */
        ttlSeconds: z.number().int().min(60).max(43200).default(3600),
      })
      .strict(),
    /** The credential the gateway signs upstream requests with; the caller never sees it. @default the gateway's ambient credentials */
    brokered: z
      .object({
        /** `ambient`: the gateway's own (task role, instance profile, environment); `static`: keys from the secret store (S3-compatible stores). */
        source: z.enum(['ambient', 'static']).default('ambient'),
        accessKeyId: secretRef.optional(),
        secretAccessKey: secretRef.optional(),
        /** A role the gateway assumes (sts:AssumeRole with the source credential), cached in memory only. */
        roleArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'an IAM role ARN').optional(),
        externalId: z.string().min(2).max(1224).optional(),
        /** @default gatehouse-<connection> */
        sessionName: z.string().regex(/^[\w+=,.@-]{2,64}$/).optional(),
        durationSeconds: z.number().int().min(900).max(43200).default(3600),
        /** The STS endpoint for AssumeRole. @default https://sts.<region>.amazonaws.com */
        stsEndpoint: z.string().url().optional(),
      })
      .strict()
      .refine((b) => b.source !== 'static' || (b.accessKeyId !== undefined && b.secretAccessKey !== undefined), 'source static needs accessKeyId and secretAccessKey')
      .default({ source: 'ambient', durationSeconds: 3600 }),
    /**
     * Operations that mint or reveal credentials (STS AssumeRole*, GetSessionToken, Secrets Manager
     * GetSecretValue, ...) are refused (decision `aws.mints_credentials`) unless listed here, as
     * `aws:<service>:<Operation>`; listed ones are then judged by policy like any other. @default []
     */
    allowCredentialOperations: z.array(z.string().regex(/^aws:[a-z0-9-]+:[A-Za-z0-9]+$/)).default([]),
    /** Request/response bodies recorded up to this many bytes each (and JSON bodies judged whole up to it). */
    bodyCapBytes: z.number().int().min(0).optional(),
    timeoutMs: z.number().int().min(100).default(120000),
    /** Trust a custom CA for the upstream (PEM file or secret reference). */
    upstreamCa: z.string().optional(),
    /** Masking of the record and of responses; @default the top-level `masking` block, else off. */
    masking: maskingSchema.optional(),
  })
  .strict();

/**
 * Git repositories over smart HTTP (docs/git.md), served on the HTTP listener under
 * `route.pathPrefix`: `https://gw<pathPrefix>/<repository>.git` proxies
 * `<upstream>/<repository>.git`. Callers authenticate with their OIDC token as the HTTP Basic
 * password (git's credential helper); the gateway fetches and pushes upstream with the brokered
 * credential. Every fetch and every ref a push updates is judged (`git:fetch`, `git:push`,
 * `git:push:force`, `git:delete`).
 */
export const gitConnectionSchema = z
  .object({
    name,
    kind: z.literal('git'),
    /** The upstream's base URL: repositories are `<upstream>/<repository>.git` (e.g. `https://github.com/`). */
    upstream: z.string().url(),
    route: z
      .object({
        /** Requests under this prefix reach this connection. @default `/git/<name>` */
        pathPrefix: z.string().regex(/^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/, 'a path prefix such as "/git/github"').optional(),
      })
      .strict()
      .default({}),
    /**
     * The brokered credential the gateway fetches and pushes with: `basic` (GitHub: username
     * `x-access-token` and a token; GitLab `oauth2`; Azure DevOps any name and a PAT) or `bearer`.
     */
    credential: credentialSchema.default({ type: 'none' }),
    /** Repository names are compared without letter case (GitHub, GitLab, Azure DevOps). @default true */
    caseInsensitive: z.boolean().default(true),
    push: z
      .object({
        /** Largest request body (commands and pack) a push may send; larger is refused (HTTP 413). @default 2 GiB */
        maxPackBytes: z.number().int().min(1024).max(64 * 1024 * 1024 * 1024).default(2 * 1024 * 1024 * 1024),
        /** Each git step of judging a push (mirror refresh, index-pack, ancestry). @default 120000 */
        timeoutMs: z.number().int().min(1000).max(3600000).default(120000),
        /** Scan the lines a push adds for secrets (masking's secret detectors); a finding refuses the push. @default true */
        secretScan: z.boolean().default(true),
        /** Paths listed per ref update in policy's context. @default 1000 */
        maxPaths: z.number().int().min(0).max(100000).default(1000),
      })
      .strict()
      .default({ maxPackBytes: 2 * 1024 * 1024 * 1024, timeoutMs: 120000, secretScan: true, maxPaths: 1000 }),
    /**
     * A push policy sends for `review`: `hold` keeps the request open until an approver decides
     * (git and its HTTP client must wait that long); `refuse-and-retry` refuses it at once with
     * `ng <ref> approval required: <id>` and lets the same principal's identical push (connection,
     * repository, ref, old and new id) through once, within `retrySeconds` of the grant.
     */
    approvals: z
      .object({
        /** @default 'hold' */
        mode: z.enum(['hold', 'refuse-and-retry']).default('hold'),
        /** How long a granted approval lets the retried push through (once). @default 3600 */
        retrySeconds: z.number().int().min(1).max(30 * 86400).default(3600),
      })
      .strict()
      .default({ mode: 'hold', retrySeconds: 3600 }),
    /**
     * Where the gateway keeps its bare mirrors of upstream repositories (to prove ancestry) and
     * spools pushed packs. @default `<system temp>/gatehouse-git/<name>`
     */
    dataDir: z.string().min(1).optional(),
    /**
     * Bounds on the mirrors' disk use: past either, the least recently used mirrors no push is
     * using are removed (fetched again, whole, on the next push to their repository).
     */
    mirrors: z
      .object({
        /** Bytes all mirrors of this connection may take. @default 10 GiB */
        maxBytes: z.number().int().min(1).default(10 * 1024 * 1024 * 1024),
        /** Repositories mirrored at once. @default 100 */
        maxRepositories: z.number().int().min(1).default(100),
      })
      .strict()
      .default({ maxBytes: 10 * 1024 * 1024 * 1024, maxRepositories: 100 }),
    /** Upstream request timeout (time to response headers). */
    timeoutMs: z.number().int().min(100).default(300000),
    /** Trust a custom CA for the upstream (PEM file or secret reference). */
    upstreamCa: z.string().optional(),
  })
  .strict();

export const connectionSchema = z.discriminatedUnion('kind', [httpConnectionSchema, postgresConnectionSchema, sshConnectionSchema, awsConnectionSchema, gitConnectionSchema]);

/** A key prefix inside a bucket/container: empty, or segments ending in "/" (e.g. `gatehouse/`). */
const objectPrefix = z.string().regex(/^([A-Za-z0-9._-]+\/)*$/, 'a prefix such as "gatehouse/" (segments of letters, digits, ".", "_", "-", each ending in "/")').default('');

export const fsSinkSchema = z.object({ type: z.literal('fs'), path: z.string().min(1) }).strict();
/** S3 (Object Lock bucket from the AWS kit); credentials come from the platform identity. */
export const s3SinkSchema = z
  .object({
    type: z.literal('s3'),
    bucket: z.string().min(3),
    prefix: objectPrefix,
    region: z.string().min(1),
    /** S3-compatible endpoint (tests, other clouds); default: AWS. */
    endpoint: z.string().url().optional(),
    forcePathStyle: z.boolean().default(false),
  })
  .strict();
/** Azure Blob (immutable container from the Azure kit); the managed identity authenticates. */
export const azureBlobSinkSchema = z
  .object({
    type: z.literal('azure-blob'),
    /** Account blob endpoint, e.g. `https://acct.blob.core.windows.net/`. */
    endpoint: z.string().url(),
    container: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$/, 'an Azure container name'),
    prefix: objectPrefix,
  })
  .strict();
/** Google Cloud Storage (locked-retention bucket from the GCP kit); the service account authenticates. */
export const gcsSinkSchema = z
  .object({
    type: z.literal('gcs'),
    bucket: z.string().min(3),
    prefix: objectPrefix,
    /** Custom API endpoint (tests); default: Google. */
    apiEndpoint: z.string().url().optional(),
  })
  .strict();
export const sinkSchema = z.discriminatedUnion('type', [fsSinkSchema, s3SinkSchema, azureBlobSinkSchema, gcsSinkSchema]);

export const recordingSchema = z
  .object({
    /** `strict`: forward only after the request event is durably stored. `buffered`: batch, bounded. */
    mode: z.enum(['strict', 'buffered']).default('strict'),
    sink: sinkSchema.default({ type: 'fs', path: './.gatehouse/log' }),
    /** Default cap for recorded bodies (per body); connections may override. */
    bodyCapBytes: z.number().int().min(0).default(65536),
    /** How long events may wait before a flush (strict mode: those that need no durable acknowledgement). */
    flushIntervalMs: z.number().int().min(1).max(60000).default(200),
    /** Bound on bytes waiting to be stored; beyond it new operations are refused (fail closed). */
    maxBufferBytes: z.number().int().min(65536).default(64 * 1024 * 1024),
    /** A segment is sealed after this many bytes or seconds. */
    segmentMaxBytes: z.number().int().min(1024).default(16 * 1024 * 1024),
    segmentMaxAgeSeconds: z.number().int().min(1).default(300),
    /** Signed digests are written this often (and at shutdown). */
    digestIntervalSeconds: z.number().int().min(1).default(300),
    /**
     * Digest signing key: a secret reference to an Ed25519 private key (PKCS#8 PEM), or a key
     * that never leaves its cloud's key service (ECDSA P-256): `aws-kms:<key arn|alias>`
     * (ECC_NIST_P256), `azure-kv-key:https://<vault>.vault.azure.net/keys/<name>[/<version>]`
     * (EC P-256; without a version the current one is pinned at start), or
     * `gcp-kms:projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>/cryptoKeyVersions/<v>`
     * (EC_SIGN_P256_SHA256). Development generates an Ed25519 key when omitted.
     */
    signingKey: secretRef.optional(),
    /**
     * Another API endpoint for a managed signing key (tests, a private endpoint URL): the AWS KMS
     * endpoint, the Key Vault origin or the Cloud KMS endpoint. Default: the cloud's own.
     */
    signingKeyEndpoint: z.string().url().optional(),
    /** HTTP sessions close after this long without traffic. */
    sessionIdleSeconds: z.number().int().min(1).default(300),
    /**
     * No HTTP session lives longer than this: the next request opens a new session (the old one
     * ends with reason `max_life`). Each request is judged under its own token either way.
     */
    sessionMaxSeconds: z.number().int().min(1).default(28800),
    /**
     * The recording lease: each instance renews it in the state database every third of this;
     * once it is this old, a live replica recovers the instance's unattested tail (crash).
     */
    leaseSeconds: z.number().int().min(3).max(86400).default(60),
    /** A second witness besides the state database: a JSON file (on another volume). */
    witnessFile: z.string().min(1).optional(),
  })
  .strict();

export const stateSchema = z
  .object({
    /**
     * PostgreSQL URL (or a secret reference to one). Omit for the embedded store. With `iamAuth`
     * it carries no password and must say `sslmode=verify-full` (state/connection-url.ts).
     */
    url: z.string().min(1).optional(),
    /** Directory of the embedded PostgreSQL (PGlite); `memory` keeps it in memory. */
    embeddedPath: z.string().min(1).default('./.gatehouse/state'),
    /**
     * Index every recorded event for the console's decision and full-text filters. Default: on with
     * PostgreSQL (`url`), off on the embedded store, where the index would run in the gateway's own
     * process and cost it a third to two thirds of its throughput (bench/results, 2026-12-06).
     */
    indexEvents: z.boolean().optional(),
    /**
     * Log in with a fresh token from the platform identity instead of a password: `azure-entra`
     * (Azure Database for PostgreSQL, Microsoft Entra), `gcp-cloudsql` (Cloud SQL IAM database
     * authentication) or `aws-rds` (RDS IAM authentication: a SigV4 token signed per connection
     * with the task role). @default none: the URL's password (or none)
     */
    iamAuth: z.enum(STATE_IAM_AUTH).optional(),
    /**
     * `iamAuth: aws-rds` only: the region its tokens are signed for. @default the region in the
     * RDS endpoint host name (`<name>.<id>.<region>.rds.amazonaws.com`), else `AWS_REGION`
     */
    awsRegion: z.string().min(1).optional(),
    /**
     * `verify-full` replaces the URL's sslmode, for a URL the gateway does not write itself (e.g.
     * `aws-sm:<arn>#postgres-url`, rendered from an RDS secret with `sslmode=require`). It only
     * raises the mode. @default the URL's sslmode
     */
    sslMode: z.enum(STATE_SSL_MODES).optional(),
    /** PEM CA the server certificate must chain to (a secret reference). @default the system roots */
    caCert: secretRef.optional(),
    /** The name the server certificate must carry when it differs from the URL's host. @default the URL's host */
    serverName: z.string().min(1).max(253).optional(),
    /**
     * Accept a state database on another host than this one (not loopback, not a unix socket)
     * without `sslmode=verify-full`: plaintext, `no-verify`, `require` or `verify-ca`, where the
     * server's name (or certificate) is not checked. Refused with `iamAuth`. @default false: such a
     * URL is refused (at validation, or when the store opens for a URL held in a secret)
     */
    allowUnverifiedServer: z.boolean().optional(),
    /** Schema holding the gateway's tables (search_path of every connection). @default the server's search_path */
    schema: z.string().regex(SCHEMA_NAME, 'a lowercase SQL name: letters, digits and "_", not starting with a digit').optional(),
  })
  .strict()
  .superRefine((state, ctx) => {
    for (const p of stateConnectionProblems(state)) ctx.addIssue({ code: 'custom', path: [p.field], message: p.message });
  });

/** Posts each approval request to a webhook: generic JSON, or Slack's incoming-webhook format. */
export const webhookNotifierSchema = z
  .object({
    kind: z.literal('webhook'),
    /** Names the notifier in logs (never the URL). */
    name: z.string().min(1).max(64).optional(),
    /** An http(s) URL, or a secret reference to one (Slack webhook URLs are secrets). */
    url: z.union([z.string().regex(/^https?:\/\//i, 'an http(s) URL'), secretRef]),
    format: z.enum(['json', 'slack']).default('json'),
    /** Extra headers with plain values. */
    headers: z.record(z.string().min(1), z.string()).default({}),
    /** Extra headers whose values are secret references (e.g. `Authorization: env:HOOK_TOKEN`). */
    secretHeaders: z.record(z.string().min(1), secretRef).default({}),
    /** Signs each post: `x-gatehouse-signature: v1=<hex HMAC-SHA256 of "<x-gatehouse-timestamp>.<body>">`. */
    signingSecret: secretRef.optional(),
    /** Per attempt. */
    timeoutMs: z.number().int().min(100).max(60000).default(5000),
    /** Attempts after the first failure (with backoff); a notifier never blocks or decides. */
    retries: z.number().int().min(0).max(5).default(2),
  })
  .strict();

export const approvalsSchema = z
  .object({
    /** Members of these groups may approve or deny. Empty: approvals are off and `review` decisions are denied. */
    approverGroups: z.array(z.string().min(1)).default([]),
    /** A pending operation is denied (expired) after this long. */
    timeoutSeconds: z.number().int().min(1).max(86400).default(300),
    /** Distinct approvers needed to grant (one denial always decides). */
    minApprovals: z.number().int().min(1).max(10).default(1),
    /** Safety poll of a waiting operation (LISTEN/NOTIFY wakes it at once on PostgreSQL). */
    pollIntervalMs: z.number().int().min(50).max(600000).default(2000),
    /** Base URL of the web console; notifications link to `${consoleUrl}/approvals/<id>`. */
    consoleUrl: z.string().url().optional(),
    notifiers: z.array(webhookNotifierSchema).default([]),
  })
  .strict();

/** The web console (docs/console.md): server-rendered pages under /console/ on the admin listener, or on `listeners.console`. */
export const consoleSchema = z
  .object({
    /** Serve the console. @default false */
    enabled: z.boolean().default(false),
    /** Name of the `identity.issuers` entry people log in with (authorization code + PKCE), or `dev`: the development issuer (development mode). */
    issuer: name.optional(),
    /** The console's OAuth client id at that issuer; it must be one of the issuer's `audiences` (the ID token's `aud`). */
    clientId: z.string().min(1).optional(),
    /** Client secret reference; leave out for a public client (PKCE alone). */
    clientSecret: secretRef.optional(),
    /** The console's listener (admin, or `listeners.console`) as browsers reach it, e.g. `https://gatehouse-admin.example.com`; the redirect URI is `${externalUrl}/console/callback`. */
    externalUrl: z.string().url().optional(),
    /** Scopes asked for. @default ['openid', 'email', 'profile'] */
    scopes: z.array(z.string().min(1)).default(['openid', 'email', 'profile']),
    /** Reference to the key (at least 32 bytes) that encrypts session cookies; development generates one per start, production refuses without it. */
    sessionKey: secretRef.optional(),
    /** A login lasts this long, then the console asks to log in again (no refresh). @default 60 */
    sessionMinutes: z.number().int().min(5).max(1440).default(60),
    /**
     * Model prices for the session page's cost estimates, USD per million tokens, keyed by model
     * name prefix (the longest matching prefix wins), laid over the built-in list prices
     * (admin/console/session-page/pricing.ts). @default the built-in table
     */
    prices: z
      .record(
        z.string().min(1),
        z.object({ input: z.number().min(0), output: z.number().min(0), cacheWrite: z.number().min(0).optional(), cacheRead: z.number().min(0).optional() }).strict(),
      )
      .optional(),
  })
  .strict();

export const policySchema = z
  .object({
    /** Cedar policy text, inline. */
    cedar: z.string().optional(),
    /** Cedar policy files, read at start. */
    files: z.array(z.string().min(1)).default([]),
    /**
     * Built-in rule packs (docs/policy.md): `sql-guardrails`, `http-guardrails`, `ssh-guardrails`. Each entry is a pack
     * name, or `{ name, disable: [rule ids] }` to leave rules out. Packs classify (review, deny) and
     * never grant. @default none
     */
    packs: z
      .array(
        z.union([
          z.string().min(1),
          z.object({ name: z.string().min(1), disable: z.array(z.string().min(1)).default([]) }).strict(),
        ]),
      )
      .default([]),
  })
  .strict();

export const configSchema = z
  .object({
    /** `production` refuses development shortcuts (dev issuer, generated keys, plaintext). */
    mode: z.enum(['development', 'production']).default('production'),
    /** Names this replica in records; defaults to the hostname and process id. */
    instanceId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).optional(),
    listeners: z
      .object({
        http: listenerSchema.default({ address: '127.0.0.1', port: 8080, allowPlaintext: false }),
        admin: listenerSchema.default({ address: '127.0.0.1', port: 9090, allowPlaintext: false }),
        /** PostgreSQL protocol listener; off unless configured. Without TLS it needs allowPlaintext: true. */
        postgres: postgresListenerSchema.optional(),
        /** SSH listener (docs/ssh.md); off unless configured. Needs at least one `kind: ssh` connection. */
        ssh: sshListenerSchema.optional(),
        /** The web console on its own listener (only the console); without it the console is on the admin listener. */
        console: listenerSchema.optional(),
      })
      .strict()
      .default({
        http: { address: '127.0.0.1', port: 8080, allowPlaintext: false },
        admin: { address: '127.0.0.1', port: 9090, allowPlaintext: false },
      }),
    identity: z
      .object({
        issuers: z.array(issuerSchema).default([]),
        /** Local development issuer for the quickstart; refused in production mode. */
        devIssuer: z
          .object({
            enabled: z.boolean().default(false),
            /** Where the dev issuer keeps its key pair. */
            keyPath: z.string().default('./.gatehouse/dev-issuer.json'),
            audience: z.string().default('gatehouse'),
          })
          .strict()
          .default({ enabled: false, keyPath: './.gatehouse/dev-issuer.json', audience: 'gatehouse' }),
      })
      .strict()
      // Missing entirely is reported by the cross-field check ("at least one trusted issuer").
      .default({ issuers: [], devIssuer: { enabled: false, keyPath: './.gatehouse/dev-issuer.json', audience: 'gatehouse' } }),
    policy: policySchema.default({ files: [], packs: [] }),
    /**
     * What `gatehouse login` uses, published at `/.well-known/gatehouse` (docs/clients.md). Absent:
     * the document says login is not configured. `clientId` must be one of the issuer's
     * `audiences`, since the ID token the CLI presents carries it as its `aud`.
     */
    login: z
      .object({
        /** `name` of the `identity.issuers` entry people sign in with. */
        issuer: name,
        /** The public (secretless) OIDC client registered for the CLI: code + PKCE, device grant. */
        clientId: z.string().min(1),
        /** Scopes requested. @default ['openid', 'email', 'profile', 'offline_access'] */
        scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'a scope token')).min(1).optional(),
      })
      .strict()
      .optional(),
    /** Default masking for connections without their own `masking` block (docs/masking.md). */
    masking: maskingSchema.optional(),
    connections: z.array(connectionSchema).default([]),
    recording: recordingSchema.default(recordingSchema.parse({})),
    state: stateSchema.default({ embeddedPath: './.gatehouse/state' }),
    approvals: approvalsSchema.default(approvalsSchema.parse({})),
    console: consoleSchema.default(consoleSchema.parse({})),
    admin: z
      .object({
        /** Members of these groups may use the admin API. */
        groups: z.array(z.string().min(1)).min(1).default(['gatehouse-admins']),
      })
      .strict()
      .default({ groups: ['gatehouse-admins'] }),
    logging: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .default({ level: 'info' }),
    /** Graceful shutdown: how long to drain connections on SIGTERM before closing them. */
    shutdownGraceSeconds: z.number().int().min(0).max(600).default(25),
    tuning: z
      .object({
        /**
         * Busy polling (server/busy-poll.ts): after each request, keep polling the sockets this
         * long instead of sleeping, trading CPU for latency on VMs. 0 (off) or 1..10000.
         */
        busyPollMicroseconds: z.number().int().min(0).max(10_000).default(0),
      })
      .strict()
      .default({ busyPollMicroseconds: 0 }),
  })
  .strict();

export type GatehouseConfig = z.infer<typeof configSchema>;
export type IssuerConfig = z.infer<typeof issuerSchema>;
export type ConnectionConfig = z.infer<typeof connectionSchema>;
export type HttpConnectionConfig = z.infer<typeof httpConnectionSchema>;
export type PostgresConnectionConfig = z.infer<typeof postgresConnectionSchema>;
export type SshConnectionConfig = z.infer<typeof sshConnectionSchema>;
export type AwsConnectionConfig = z.infer<typeof awsConnectionSchema>;
export type GitConnectionConfig = z.infer<typeof gitConnectionSchema>;
export type MaskingConfig = z.infer<typeof maskingSchema>;
export type CredentialConfig = z.infer<typeof credentialSchema>;
export type RecordingConfig = z.infer<typeof recordingSchema>;
export type ListenerConfig = z.infer<typeof listenerSchema>;
export type SshListenerConfig = z.infer<typeof sshListenerSchema>;
export type LoginConfig = NonNullable<GatehouseConfig['login']>;
export type StateConfig = z.infer<typeof stateSchema>;
export type SinkConfig = z.infer<typeof sinkSchema>;
export type ApprovalsConfig = z.infer<typeof approvalsSchema>;
export type ConsoleConfig = z.infer<typeof consoleSchema>;
export type WebhookNotifierConfig = z.infer<typeof webhookNotifierSchema>;
