declare const GATEHOUSE_VERSION: string | undefined;

export const VERSION = typeof GATEHOUSE_VERSION === 'string' ? GATEHOUSE_VERSION : '0.0.0-dev';

export const USAGE = `gatehouse ${VERSION} — the Layer-7 gateway that puts AI coding agents on a leash

Usage: gatehouse <command> [options]

Commands:
  dev                         Start a local gateway on embedded defaults (development issuer,
                              filesystem log in ./.gatehouse, embedded state store, a demo
                              connection) and print how to send a first request.
  run --config FILE           Start the gateway with a configuration file.
  check-config FILE           Validate a configuration file; print every problem at once.
  login GATEWAY               Sign in for a gateway (browser, or --device for a code to enter
                              elsewhere); tokens are cached for \`gatehouse token\`.
  logout [GATEWAY]            Remove the cached tokens (--all: of every gateway).
  setup CLIENT [GATEWAY]      Configure claude-code, psql, git or aws for a gateway (--print: only show).
  psql [--gateway GW] [-- ARGS] Run psql with a current token as its password (child's env only).
  ssh-key [GATEWAY]           Register a fresh short-lived SSH key (and certificate) for your
                              token with the gateway's SSH listener; writes it with an ssh config.
  doctor [GATEWAY]            Check end to end what is set up for a gateway; print what to fix.
  token [GATEWAY]             Print a current token (refreshed when near expiry) for tools such as
                              Claude Code's apiKeyHelper. --ambient / --token-file / --token-env:
                              a workload's platform token. --dev: a development token.
  git-credential [GATEWAY] get
                              Git's credential helper: answers Git with a current token for the
                              gateway's host only (same source as token). Set up with
                              git config --global credential.https://GW.helper '!gatehouse git-credential'
  aws-credentials [GATEWAY] [--connection NAME]
                              AWS credential_process: prints short-lived caller credentials only
                              the gateway accepts (same token source as token, or --token).
  aws presign s3://BUCKET/KEY [--method GET|PUT] [--expires SECONDS]
                              A presigned URL of one S3 object that points at the gateway, which
                              judges, re-signs and records each use until it expires.
  verify PATH                 Verify a whole log (digests, segments, per-event hash chains) and
                              name the first broken link. Exit 0 only when every event is covered
                              by a signed digest and every instance ends sealed; 1 when not.
        --config FILE         verify the configured log store instead (S3, Azure Blob, GCS)
        --trust-key FILE|KEY  trusted digest public key (PEM), or a managed key fetched with your
                              credentials (aws-kms:, azure-kv-key:, gcp-kms:); repeatable
        --witness STATE       postgres:// URL, embedded state directory or witness file: detects
                              rollback, truncation and instances the gateway never registered
        --allow-unsealed-tail accept a live gateway's unattested newest events (as warnings)
  sessions list [filters]     List recorded sessions, newest first.
        --user U --connection C --from TIME --to TIME --request-id ID --status S --limit N --json
  sessions show ID            Show one session's index entry and its events as text.
  sessions export ID          Print the full JSON transcript of a session (--format cast-v3|text: a terminal's).
        (sessions commands take --config FILE; with a running gateway they use its admin API:
         --admin-url URL, --token TOKEN or GATEHOUSE_TOKEN)
  approvals list               List approval requests (default: pending), newest first.
        --status pending|granted|denied|expired|cancelled|all --limit N --json
  approvals show ID            Show one approval request and its votes.
  approvals approve ID         Approve (you must be in an approver group, not the requester).
  approvals deny ID            Deny; the operation is refused at once.
        --reason TEXT         why (recorded in the session)
        (approvals commands use a running gateway's admin API: --admin-url URL or --config FILE,
         --token TOKEN or GATEHOUSE_TOKEN; in development --as NAME mints a dev token)

  index rebuild               Refill the session index (and, with state.indexEvents, the console's
                              text and decision search) from the log store. --config FILE
  bootstrap-state             Create the gateway's least-privilege database role and schema
                              (run once by a platform job as the database administrator).
        --admin-url URL --iam-auth azure-entra|gcp-cloudsql|aws-rds|none --app-role NAME
  health                      Exit 0 when the gateway on this host answers /healthz (the image's
                              HEALTHCHECK); reads the admin listener from the configuration.
        --url URL             probe this URL instead

Options:
  -h, --help                  Show this help (\`gatehouse <command> --help\`: that command's).
  -v, --version               Show the version.

Environment:
  GATEHOUSE_CONFIG            configuration file for run/sessions (instead of --config)
  GATEHOUSE_CONFIG_YAML       configuration text (for containers), instead of a file
`;

/**
 * `gatehouse <command> --help`, one text per command. main.ts types its command table against
 * this record, and test/gateway/cli/help.test.ts runs `--help` on every command in the table, so
 * a command cannot be added without its help.
 */
export const COMMAND_HELP = {
  dev: `Usage: gatehouse dev [--port N] [--admin-port N] [--demo-port N]

Starts a local gateway on embedded defaults: writes ./.gatehouse/dev.yaml on first use (edit it
freely afterwards), starts a demo API and the gateway on loopback, and prints how to send a first
request. The web console is on the admin port (/console/); you log in there by typing a name and
groups (the development issuer; loopback clients only). The directory it runs in becomes a
development directory (see \`gatehouse run --help\`).

Options:
  --port N          gateway HTTP port (default: 8080)
  --admin-port N    admin API port (default: 9090)
  --demo-port N     demo API port (default: 8099)
`,
  run: `Usage: gatehouse run [--config FILE]

Starts the gateway and serves until SIGTERM or SIGINT, then drains, seals open sessions and writes
a final signed digest. Before it listens it runs every check \`gatehouse check-config\` runs and
refuses to start, listing every problem, when one fails.

The configuration comes from, in this order: --config FILE, GATEHOUSE_CONFIG_YAML (the text),
GATEHOUSE_CONFIG (a path). Without any of them, run uses ./.gatehouse/dev.yaml only inside a
development directory: the current directory holds .gatehouse/dev.yaml as a regular file (not a
symbolic link) owned by the current user, not writable by group or others, whose configuration
says mode: development. Anywhere else it refuses (GH_ERR_CONFIG_MISSING).

Options:
  --config FILE     the configuration file (docs/configuration.md)
`,
  'check-config': `Usage: gatehouse check-config FILE

Validates a configuration and prints every problem at once, each with its path: the schema and
cross-field rules, then everything \`gatehouse run\` checks before it listens (policy files read,
Cedar policies parsed and validated, secret references of known schemes, the signing key and
TLS material readable and well-formed, the development issuer's key). Exit 0 when valid (warnings
are printed), 1 with the list of problems, 2 on usage errors.
`,
  token: `Usage: gatehouse token [GATEWAY] [--min-valid SECONDS]
       gatehouse token --ambient [--audience AUD] | --token-file PATH | --token-env NAME
       gatehouse token --dev [--sub NAME] [--groups A,B] [--ttl SECONDS] [--name NAME] [--config FILE]

Prints a current token for a gateway, from the cache \`gatehouse login\` wrote (default: the gateway
of the last login). When it has less than --min-valid seconds left (default 300) it is refreshed
with the cached refresh token first. Fails (exit 1, nothing on stdout) when there is no login or it
can no longer be refreshed: run \`gatehouse login\` again.

Faster: \`gatehouse-token [--min-valid SECONDS] [GATEWAY] [-- GATEHOUSE-COMMAND]\`, the shell
script beside this program, prints the cached token without starting Node and runs this command
when it cannot (docs/clients.md). \`gatehouse setup claude-code\` uses it.

Workloads (CI, containers) read their platform's token instead:
  --ambient         GitHub Actions' ID token (the job needs \`permissions: id-token: write\`),
                    requested for --audience
  --token-file PATH a token file the platform keeps fresh (e.g. a projected service account token)
  --token-env NAME  an environment variable holding the token

Development:
  --dev             a token from the local development issuer of a gateway in development mode;
                    its key file must already exist (the gateway creates it). Refused in
                    production mode. --sub (default: the current user), --groups (default:
                    developers), --ttl (default: 3600), --name, --config FILE (default:
                    GATEHOUSE_CONFIG, else ./.gatehouse/dev.yaml)
`,
  'aws-credentials': `Usage: gatehouse aws-credentials [GATEWAY] [--connection NAME] [--min-valid SECONDS]
       gatehouse aws-credentials GATEWAY [--connection NAME] --ambient [--audience AUD] | --token-file PATH | --token-env NAME | --token TOKEN

The AWS CLI's and SDKs' credential_process (~/.aws/config; \`gatehouse setup aws\` writes it):
exchanges a current token (taken where \`gatehouse token\` takes it, or --token / GATEHOUSE_TOKEN)
at the gateway for short-lived AWS caller credentials that only this gateway accepts, and prints
them as credential_process JSON (Version 1, AccessKeyId, SecretAccessKey, SessionToken,
Expiration). --connection names the gateway's aws connection (needed when it has several).
Exit 1 with a message on stderr, nothing on stdout, when the gateway refuses.

  [profile gatehouse]
  credential_process = gatehouse aws-credentials https://gatehouse.example.com --connection s3
  endpoint_url = https://gatehouse.example.com/aws/s3
`,
  aws: `Usage: gatehouse aws presign s3://BUCKET/KEY [--method GET|PUT] [--expires SECONDS] [--gateway URL] [--connection NAME]
       [--ambient [--audience AUD] | --token-file PATH | --token-env NAME | --token TOKEN]

Asks the gateway (--gateway, default: the last login) for a presigned URL of one S3 object. The
gateway judges aws:s3:GetObject (GET, the default) or aws:s3:PutObject (PUT) for you, records the
issuance, and prints a URL that points at the gateway itself: each use is judged again, re-signed
with the gateway's own AWS credential and recorded, until the URL expires (--expires, default 300
seconds, at most 3600, never beyond your token). The URL is a bearer credential for that one
object and method: share it as you would a password. --connection names the S3 connection when
the gateway has several.

  gatehouse aws presign s3://reports/2026/q4.pdf --expires 600
  curl -fo q4.pdf "$(gatehouse aws presign s3://reports/2026/q4.pdf)"
`,
  'git-credential': `Usage: gatehouse git-credential [GATEWAY] [options] get|store|erase

Git's credential helper (gitcredentials(7)). Git runs it with the operation as its last argument
and writes key=value lines (protocol, host, ...) on stdin. For \`get\` on the gateway's own scheme
and host it prints username=gatehouse and password=<a current token>, taken where \`gatehouse
token\` takes it (the login cache of GATEWAY, default: the last login; refreshed near expiry).
For any other host it prints nothing, so Git asks its next helper and the token goes nowhere
else. \`store\` and \`erase\` change nothing (\`gatehouse logout\` removes a login). Fails with exit
1 and a message on stderr (never the token) when there is no usable token.

Set up once (the ! runs a command; GW is the gateway's host):
  git config --global credential.https://GW.helper '!gatehouse git-credential'

Options:
  --username NAME   the user name Git sends (default: gatehouse)
  --min-valid SECONDS
                    refresh a cached token with less left (default: 300)
  --ambient [--audience AUD] | --token-file PATH | --token-env NAME
                    a workload's platform token, as for \`gatehouse token\` (GATEWAY required)
  --dev [--sub NAME] [--groups A,B] [--config FILE]
                    a development token, as for \`gatehouse token --dev\` (GATEWAY required)
`,
  login: `Usage: gatehouse login GATEWAY [--device | --browser] [--timeout SECONDS]

Signs you in for a gateway: reads GATEWAY/.well-known/gatehouse (issuer, client id, scopes), then
signs in at that issuer: in a browser (authorization code + PKCE, redirect to 127.0.0.1) when one
can be opened ($BROWSER, xdg-open, open; the URL is printed too), else with a code to enter on
another device (device authorization grant). Tokens are cached in
$XDG_CONFIG_HOME/gatehouse/tokens (default ~/.config/gatehouse/tokens), readable by you only.

Options:
  --device          use the device flow (SSH sessions, headless machines)
  --browser         use the browser flow even when no display is detected
  --timeout SECONDS how long to wait for the browser (default: 300)
`,
  setup: `Usage: gatehouse setup claude-code|psql|git|aws [GATEWAY] [--print] [options]

Writes one client's configuration for a gateway (default: the gateway of the last login), merged
into the existing file (other keys, sections and comments kept), and prints what it changes as a
diff. Running it again changes nothing. Reads GATEWAY/.well-known/gatehouse for the connections.

  --print             only show the changes
  --connection NAME   which connection, when the gateway has several of the kind
  --gatehouse CMD     how clients call gatehouse back (default: this node and this bundle, by
                      absolute path; with --project: \`gatehouse\` from PATH)

  claude-code         $CLAUDE_CONFIG_DIR/settings.json (default ~/.claude/settings.json), or
                      .claude/settings.json with --project: env ANTHROPIC_BASE_URL,
                      CLAUDE_CODE_API_KEY_HELPER_TTL_MS, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1,
                      apiKeyHelper = gatehouse token GATEWAY; removes ANTHROPIC_API_KEY/AUTH_TOKEN
  psql                a service in $PGSERVICEFILE (default ~/.pg_service.conf), no password:
                      --service NAME (default gatehouse-CONNECTION) --database DB --user U
                      --sslrootcert FILE; connect with gatehouse psql -- service=NAME
  git                 credential.GATEWAY.helper = gatehouse git-credential, with
                      git config --global, or --file FILE
  aws                 [profile NAME] in $AWS_CONFIG_FILE (default ~/.aws/config): credential_process
                      = gatehouse aws-credentials GATEWAY, endpoint_url; --profile NAME (default
                      gatehouse) --region R --endpoint-url URL
`,
  'ssh-key': `Usage: gatehouse ssh-key [GATEWAY] [--ssh HOST[:PORT]] [--fingerprint SHA256:…] [--alias NAME]
       [--out PATH] [token: --ambient | --token-file PATH | --token-env NAME]

Makes a fresh ed25519 key pair and registers its public half with the gateway's SSH listener under
your token (the cached login, refreshed when near expiry, or a workload's platform token). The key
is accepted until the token expires (or the gateway's listeners.ssh.keyTtlMinutes, if shorter);
the gateway refuses it afterwards and closes open sessions at that time. Run it again for a new one.

GATEWAY (default: the gateway of the last login; also --gateway GW) is the gateway's URL: its
/.well-known/gatehouse names the SSH listener's host, port and host key fingerprint. --ssh and
--fingerprint override them (both together need no gateway document). A plain http:// gateway
other than loopback needs --fingerprint: the published one could be swapped on the way.

Writes (default PATH ~/.ssh/gatehouse_ed25519, from --alias):
  PATH, PATH.pub       the key pair (PATH readable by you only)
  PATH-cert.pub        the gateway-signed OpenSSH certificate, when the gateway issues them
  PATH.known_hosts     the gateway's host key, checked against the fingerprint before the token is sent
  PATH.ssh_config      a Host block: add "Include PATH.ssh_config" to ~/.ssh/config

Then: ssh CONNECTION@gatehouse 'command' (the SSH user name selects the connection; docs/ssh.md).
When the gateway's document says its SSH listener offers the device sign-in (deviceLogin), a
client without a key can also sign in with a device code at the SSH prompt; ssh-key says so.
`,
  psql: `Usage: gatehouse psql [--gateway GATEWAY] [--psql PATH] [--] [psql arguments]

Runs psql with a current token (as \`gatehouse token\` prints it) in PGPASSWORD of psql's environment
only: not in a file, not in your shell, not on a command line. The arguments go to psql as they are,
e.g. \`gatehouse psql -- service=gatehouse-orders -c 'SELECT 1'\` (see \`gatehouse setup psql\`).
Exit status: psql's.
`,
  doctor: `Usage: gatehouse doctor [GATEWAY] [--json]

Checks, end to end, what is set up here for a gateway (default: the gateway of the last login) and
prints one line per check, with what to fix under each failure:
  gateway       GATEWAY/.well-known/gatehouse answers
  token         a token can be had (refreshed if needed) and how long it stays valid
  connection X  a harmless operation passes the gateway (token accepted, policy allows it) and
                the service behind answers: GET /v1/models on LLM connections, HEAD / on other
                HTTP ones, SELECT 1 on PostgreSQL ones through your pg_service.conf entry
  claude-code   its settings route through the gateway (ANTHROPIC_BASE_URL, apiKeyHelper,
                CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1, nothing that outranks the helper),
                and the apiKeyHelper prints a token
  git, aws      the credential helper and profiles that name the gateway, run as the client would
Exit 0 when nothing failed (skipped checks are what is not set up), 1 otherwise.
`,
  logout: `Usage: gatehouse logout [GATEWAY] [--all]

Removes the cached tokens for GATEWAY (default: the gateway of the last login), or for every
gateway with --all. The issuer's session is not ended.
`,
  // The one help text of verify (commands/verify.ts prints it too); kept here so that
  // \`gatehouse verify --help\` answers without loading the verifier.
  verify: `Usage: gatehouse verify PATH | --config FILE  [--trust-key FILE|KEY]... [--key-endpoint URL] [--witness STATE] [--allow-unsealed-tail] [--json]

Checks every digest, segment and session hash chain of a log and names the first broken link.
Passes (exit 0) only when every event is covered by a valid signed digest and every instance's
log ends with a sealing digest (clean shutdown, or crash recovery); exit 1 otherwise, 2 on usage.
docs/recording.md says what it proves.

  --config FILE           verify the configured log store instead (S3, Azure Blob, GCS)
  --trust-key FILE|KEY    a trusted public key (PEM file), or a managed key whose public key is
                          fetched with your credentials: aws-kms:<arn|alias>,
                          azure-kv-key:https://<vault>.vault.azure.net/keys/<name>[/<version>],
                          gcp-kms:projects/…/cryptoKeyVersions/<v>; digests must then name that
                          exact key version. Without one, signatures prove consistency only
  --key-endpoint URL      another API endpoint for the managed keys (a private endpoint)
  --witness STATE         compare each instance's newest digest with the witness kept outside
                          the log store: a postgres:// URL (the gateway's state.url), an embedded
                          state directory (state.embeddedPath), or a witness file
                          (recording.witnessFile). Detects rollback, truncation, replaced
                          digests and instances the gateway never registered
  --allow-unsealed-tail   accept events after the last sealing digest (a live gateway) as
                          unattested warnings instead of failures
  --json                  the full result as JSON
`,
  sessions: `Usage: gatehouse sessions list [filters] | show ID | export ID

  list [filters]    recorded sessions, newest first
        --user U --connection C --from TIME --to TIME --request-id ID --status S --limit N --json
  show ID           one session's index entry and its events as text (--json for JSON)
  export ID         the full JSON transcript of a session
        --format json|cast|cast-v2|cast-v3|text   (default json) a terminal session (SSH) as
                    asciicast v2 (cast, cast-v2) or v3 of one channel, or as the plain-text
                    transcript (terminal emulation) of every channel
        --channel N       the channel (default: the first for cast, every channel for text)

Output is written completely even into a slow pipe. With a running gateway the commands use its
admin API (--admin-url URL, --token TOKEN or GATEHOUSE_TOKEN); otherwise they read the state
store and the log of --config FILE (or GATEHOUSE_CONFIG, or ./.gatehouse/dev.yaml) directly.
`,
  approvals: `Usage: gatehouse approvals list | show ID | approve ID | deny ID  [options]

  list              approval requests (default: pending), newest first
        --status pending|granted|denied|expired|cancelled|all --limit N --json
  show ID           one approval request and its votes
  approve ID        approve (you must be in an approver group, not the requester)
  deny ID           deny; the operation is refused at once
        --reason TEXT   why (recorded in the session)

The commands use a running gateway's admin API: --admin-url URL or --config FILE, --token TOKEN
or GATEHOUSE_TOKEN; in development --as NAME mints a development token.
`,
  'bootstrap-state': `Usage: gatehouse bootstrap-state --admin-url URL --iam-auth azure-entra|gcp-cloudsql|aws-rds|none --app-role NAME [options]

Creates, idempotently, the role the gateway logs in to its state database with and the schema it
keeps its tables in, connected as the database administrator. The role gets LOGIN, CONNECT on the
database, USAGE and CREATE on the schema, and its search_path set to it; no SUPERUSER, CREATEROLE,
CREATEDB, REPLICATION or BYPASSRLS, no CREATE on public (removed when found). Prints what changed
and the role's effective rights; exit 0 when it is exactly that, 1 when a problem remains, 2 on
usage errors. docs/configuration.md ("state") says how the gateway then connects.

  --admin-url URL         the administrator's postgres:// URL, or env:NAME / file:/path holding it
                          (keeps a password off the command line). Without a password and with
                          --iam-auth other than none, the job logs in with a token from its own
                          platform identity (an Entra administrator; a Cloud SQL IAM user; an RDS
                          user with rds_iam)
  --iam-auth MODE         how the gateway's role logs in: azure-entra (created with
                          pgaadauth_create_principal_with_oid), gcp-cloudsql (the IAM user must
                          exist: Terraform google_sql_user, CLOUD_IAM_SERVICE_ACCOUNT), aws-rds
                          (CREATE ROLE ... LOGIN without a password, GRANT rds_iam), or none
                          (CREATE ROLE ... LOGIN without a password; set one, or use certificates)
  --app-role NAME         the gateway's role (Cloud SQL: SA@PROJECT.iam; Entra: the identity's name)
  --app-role-oid ID       azure-entra: the managed identity's object id (needed to create the role)
  --schema NAME           the gateway's schema (default: gatehouse); set state.schema to it
  --ca-cert REF           PEM CA for the administrator's connection (env:NAME or file:/path)
  --server-name NAME      the name the server certificate carries, when not the URL's host
  --revoke-public-create  also revoke CREATE on schema public from PUBLIC (PostgreSQL 14 and older
                          grant it to every role)
  --json                  the report as JSON
`,
  health: `Usage: gatehouse health [--url URL] [--config FILE] [--timeout SECONDS]

Asks the gateway on this host whether it is live: GET /healthz on its admin listener. Exits 0
when it answers 200, 1 when it answers anything else or nothing. The container image runs it as
its HEALTHCHECK (the base image has no shell and no curl).

The admin listener comes from the configuration \`run\` reads (--config FILE, GATEHOUSE_CONFIG_YAML,
GATEHOUSE_CONFIG); only listeners.admin is read. Without one: http://127.0.0.1:9090.

Options:
  --url URL          probe this URL instead
  --config FILE      the configuration whose admin listener to probe
  --timeout SECONDS  how long to wait for the answer (default: 3)
`,
  index: `Usage: gatehouse index rebuild [--config FILE] [--quiet]

Rebuilds the session index in the state store from the log store, the source of truth: every
segment in order, each session's row, its segment keys and, when state.indexEvents is on, one
search row per event (the console's text and decision filters). Run it after turning
state.indexEvents on, after the gateway logged that index rows were dropped, or to fill a new state
database. Idempotent: what is already indexed stays as it is.

The embedded state store (no state.url) belongs to the gateway process that opens it: stop the
gateway first (the command refuses while the configured admin listener answers). With PostgreSQL
(state.url) it can run while replicas serve.

The configuration comes from --config FILE, GATEHOUSE_CONFIG_YAML or GATEHOUSE_CONFIG, as for \`run\`.

Options:
  --config FILE   the gateway's configuration (state store, log store)
  --quiet         no progress lines on stderr
`,
} as const;

export type CommandName = keyof typeof COMMAND_HELP;

/** Whether the arguments ask for help (`-h`/`--help` anywhere before a `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '-h' || a === '--help') return true;
  }
  return false;
}
