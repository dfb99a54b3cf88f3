import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../../config/load';
import type { GatehouseConfig } from '../../config/schema';
import { DEV_ISSUER_NAME } from '../../identity/dev-issuer';
import { createLogger } from '../../observability/logger';
import { startGateway } from '../../server/gateway';
import { localLogRoot } from '../../server/sinks';
import { DEV_CONFIG_PATH } from '../config-path';
import { startDemoUpstream } from '../demo-upstream';
import type { CommandIO } from '../io';
import { serveUntilSignal } from './run';

const DEV_DIR = './.gatehouse';
const DEMO_TOKEN_FILE = `${DEV_DIR}/demo-upstream-token`;

/**
 * The quickstart: writes `.gatehouse/dev.yaml` on first use (edit it freely afterwards), starts the
 * demo API and the gateway on loopback, and prints how to send a first request and find its record.
 */
export async function devCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8080' },
      'admin-port': { type: 'string', default: '9090' },
      'demo-port': { type: 'string', default: '8099' },
    },
    allowPositionals: false,
  });
  mkdirSync(DEV_DIR, { recursive: true, mode: 0o700 });
  if (!existsSync(DEMO_TOKEN_FILE)) writeFileSync(DEMO_TOKEN_FILE, randomBytes(24).toString('base64url'), { mode: 0o600 });
  const demoPort = Number(values['demo-port']);
  if (!existsSync(DEV_CONFIG_PATH)) {
    // Private whatever the umask: a group-writable file would not make this a development
    // directory (config-path.ts), and `gatehouse run` would refuse to pick it up.
    writeFileSync(DEV_CONFIG_PATH, devConfigText(Number(values.port), Number(values['admin-port']), demoPort), { mode: 0o600 });
    io.err(`wrote ${DEV_CONFIG_PATH} (edit it to add connections; see docs/configuration.md)`);
  }
  const { config, warnings } = loadConfigFile(DEV_CONFIG_PATH);
  const logger = createLogger({ level: config.logging.level });
  for (const w of warnings) logger.warn(w);

  const demo = await startDemoUpstream(demoPort, readFileSync(DEMO_TOKEN_FILE, 'utf8').trim());
  const gateway = await startGateway(config, { logger });
  const base = `http://127.0.0.1:${gateway.http.port}`;
  const logPath = localLogRoot(config.recording.sink) ?? `${config.recording.sink.type} sink`;
  const cli = 'node dist/gateway.mjs';
  io.out(`
Gatehouse is running in development mode.
  gateway   ${base}        (connection "demo" at /demo -> demo API ${demo.url},
                                        "anthropic" at /anthropic -> a Messages API stand-in)
  admin     http://127.0.0.1:${gateway.admin.port}   (/healthz, /readyz, /metrics, /api/sessions)${consoleLine(config.console, gateway.console?.port ?? gateway.admin.port)}
  record    ${logPath} (${config.recording.mode} mode)

In another terminal, from this directory:
  1. Mint a development token:
       export TOKEN=$(${cli} token --dev --sub alice --groups developers)
  2. Send a first request through the gateway (the demo API's credential is injected for you):
       curl -s -H "Authorization: Bearer $TOKEN" ${base}/demo/hello
     and one that policy refuses (DELETE is forbidden for developers):
       curl -s -X DELETE -H "Authorization: Bearer $TOKEN" ${base}/demo/hello
  3. Point Claude Code at the gateway (its settings; the stand-in answers):
       ${cli} setup claude-code ${base} --dev
       claude -p "hello"
  4. Look at the record:
       ${cli} sessions list
       ${cli} sessions show <ID>        # or: sessions export <ID> for the JSON transcript
       ${cli} verify ${logPath}

Stop with Ctrl-C: open sessions are sealed and a final signed digest is written.
`);
  const code = await serveUntilSignal(gateway, logger, io);
  await demo.close();
  return code;
}

/** The console's address in the banner, when it is on (a dev.yaml written before the console has none). */
function consoleLine(c: GatehouseConfig['console'], port: number): string {
  if (!c.enabled) return '';
  const base = c.externalUrl?.replace(/\/$/, '') ?? `http://127.0.0.1:${port}`;
  return `\n  console   ${base}/console/${c.issuer === DEV_ISSUER_NAME ? '   (log in as anyone: development issuer)' : ''}`;
}

export function devConfigText(port: number, adminPort: number, demoPort: number): string {
  return `# Gatehouse quickstart configuration, written by \`gatehouse dev\`. Every field: docs/configuration.md
mode: development
listeners:
  http: { address: 127.0.0.1, port: ${port}, allowPlaintext: true }
  admin: { address: 127.0.0.1, port: ${adminPort}, allowPlaintext: true }
identity:
  # \`gatehouse token --dev\` mints tokens from this local issuer; refused in production mode.
  devIssuer: { enabled: true, keyPath: ${DEV_DIR}/dev-issuer.json }
policy:
  cedar: |
    @id("developers-use-connections")
    permit (principal in Gatehouse::Group::"developers", action, resource);

    @id("no-deletes-for-developers")
    forbid (principal, action == Gatehouse::Action::"http:DELETE", resource)
    unless { principal in Gatehouse::Group::"admins" };
connections:
  - name: demo
    kind: http
    upstream: http://127.0.0.1:${demoPort}
    route: { pathPrefix: /demo }
    # The demo API's own credential: injected by the gateway, never seen by the caller.
    credential: { type: bearer, secret: "file:${DEMO_TOKEN_FILE}" }
  - name: anthropic
    kind: http
    # A stand-in for Anthropic's Messages API (in the demo API): Claude Code answers through it.
    # For the real API: upstream https://api.anthropic.com and secret "env:ANTHROPIC_API_KEY".
    upstream: http://127.0.0.1:${demoPort}
    route: { pathPrefix: /anthropic }
    llm: anthropic
    credential: { type: header, header: x-api-key, secret: "file:${DEMO_TOKEN_FILE}" }
recording:
  mode: strict
  sink: { type: fs, path: ${DEV_DIR}/log }
  digestIntervalSeconds: 60
state:
  embeddedPath: ${DEV_DIR}/state
admin:
  groups: [gatehouse-admins]
console:
  # The web console; you log in with the development issuer by naming yourself (loopback only).
  enabled: true
  issuer: dev
  externalUrl: http://127.0.0.1:${adminPort}
logging:
  level: info
`;
}
