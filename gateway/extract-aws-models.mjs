// Extracts the compact operation table the AWS dialect judges with (gateway/src/protocols/aws/model/services.generated.ts)
// from the service models the AWS SDK clients ship as schema objects (`[9, namespace, name, { http: [method, uri, code] }, input, output]`),
// so the operation mapping is derived, never hand-written. Run: `node gateway/extract-aws-models.mjs` (writes the file)
// or `node gateway/extract-aws-models.mjs --check` (exits 1 when the committed table differs: the SDK moved).
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'gateway/src/protocols/aws/model/services.generated.ts');

/** Where each client's model lives; `signingName` only where the client does not state it in its auth scheme provider. */
const CLIENTS = [
  { dir: 'node_modules/@aws-sdk/client-s3/dist-es', signingName: 's3' },
  { dir: 'node_modules/@aws-sdk/client-kms/dist-es' },
  { dir: 'node_modules/@aws-sdk/client-secrets-manager/dist-es' },
  { dir: 'node_modules/@aws-sdk/client-dynamodb/dist-es' },
  { dir: 'node_modules/@aws-sdk/client-sts/dist-es' },
  { dir: 'node_modules/@aws-sdk/client-lambda/dist-es' },
  { dir: 'node_modules/@aws-sdk/client-sqs/dist-es' },
  { dir: 'node_modules/@aws-sdk/client-bedrock-runtime/dist-es' },
  { dir: 'node_modules/@aws-sdk/nested-clients/dist-es/submodules/sso' },
  { dir: 'node_modules/@aws-sdk/nested-clients/dist-es/submodules/cognito-identity' },
];

const PROTOCOLS = {
  S3RestXmlProtocol: 'restXml',
  AwsRestXmlProtocol: 'restXml',
  AwsRestJsonProtocol: 'restJson1',
  AwsJson1_0Protocol: 'awsJson1_0',
  AwsJson1_1Protocol: 'awsJson1_1',
  AwsQueryProtocol: 'awsQuery',
  AwsEc2QueryProtocol: 'ec2Query',
};

async function extract({ dir, signingName }) {
  const abs = join(root, dir);
  const shared = readFileSync(join(abs, 'runtimeConfig.shared.js'), 'utf8');
  const protocolClass = /protocol:\s*config\?\.protocol\s*\?\?\s*(\w+)/.exec(shared)?.[1];
  const protocol = PROTOCOLS[protocolClass];
  if (!protocol) throw new Error(`${dir}: unknown protocol class ${protocolClass}`);
  const serviceTarget = /serviceTarget:\s*"([^"]+)"/.exec(shared)?.[1];
  const namespace = /defaultNamespace:\s*"([^"]+)"/.exec(shared)?.[1];
  let name = signingName;
  if (!name) {
    const auth = readFileSync(join(abs, 'auth/httpAuthSchemeProvider.js'), 'utf8');
    name = /signingProperties:\s*\{\s*name:\s*"([^"]+)"/.exec(auth)?.[1];
  }
  if (!name || !namespace || !serviceTarget) throw new Error(`${dir}: signing name, namespace or target not found`);
  const schemaDir = join(abs, 'schemas');
  // S3 operations the SDK sends to the S3 Express control endpoint (endpoint parameter UseS3ExpressControlEndpoint),
  // not to the bucket endpoint: read from the command builder's static context parameters.
  const expressControl = new Set();
  const builderPath = join(abs, 'commandBuilder.js');
  let builder = '';
  try { builder = readFileSync(builderPath, 'utf8'); } catch { /* clients without a shared command builder */ }
  const controlSets = new Set([...builder.matchAll(/export const (_ep\d+) = \{([^}]*(?:\{[^}]*\}[^}]*)*)\};/g)].filter((m) => m[2].includes('UseS3ExpressControlEndpoint')).map((m) => m[1]));
  for (const file of readdirSync(join(abs, 'commands')).filter((f) => f.endsWith('Command.js'))) {
    const text = readFileSync(join(abs, 'commands', file), 'utf8');
    const m = /command\((_ep\d+),\s*\w+,\s*"(\w+)"/.exec(text);
    if (m && controlSets.has(m[1])) expressControl.add(m[2]);
  }
  const resourcePaths = await resourcePathsOf(abs, protocol);
  const endpointPrefix = endpointPrefixOf(abs, name);
  const operations = {};
  for (const file of readdirSync(schemaDir).filter((f) => f.endsWith('.js')).sort()) {
    // dist-es uses extensionless relative imports that Node's ESM loader refuses: bundle the schema file first.
    const bundled = await build({ entryPoints: [join(schemaDir, file)], bundle: true, format: 'esm', platform: 'node', write: false, logLevel: 'silent' });
    const mod = await import(`data:text/javascript;base64,${Buffer.from(bundled.outputFiles[0].text).toString('base64')}`);
    for (const value of Object.values(mod)) {
      if (!Array.isArray(value) || value[0] !== 9) continue;
      const [, , opName, traits, input] = value;
      const http = traits && typeof traits === 'object' ? traits.http : undefined;
      const inputSchema = typeof input === 'function' ? input() : input;
      const members = Array.isArray(inputSchema) && Array.isArray(inputSchema[4]) ? inputSchema[4] : [];
      const memberSchemas = Array.isArray(inputSchema) && Array.isArray(inputSchema[5]) ? inputSchema[5] : [];
      const entry = {};
      if (Array.isArray(http)) {
        entry.method = http[0];
        entry.uri = http[1];
        // The query parameters the operation declares (httpQuery): any other parameter makes a REST request unjudgeable.
        // Schema structures list required members first and end with their count.
        const requiredCount = Array.isArray(inputSchema) && typeof inputSchema[6] === 'number' ? inputSchema[6] : 0;
        const query = [];
        const requiredQuery = [];
        const requiredHeaders = [];
        memberSchemas.forEach((m, i) => {
          const t = Array.isArray(m) && m[1] && typeof m[1] === 'object' ? m[1] : undefined;
          if (typeof t?.httpQuery === 'string') {
            query.push(t.httpQuery);
            if (i < requiredCount) requiredQuery.push(t.httpQuery);
          }
          if (typeof t?.httpHeader === 'string' && i < requiredCount) requiredHeaders.push(t.httpHeader.toLowerCase());
          if (t?.httpQueryParams !== undefined) entry.anyQuery = true;
        });
        if (query.length > 0) entry.query = query.sort();
        if (requiredQuery.length > 0) entry.requiredQuery = requiredQuery.sort();
        if (requiredHeaders.length > 0) entry.requiredHeaders = requiredHeaders.sort();
      }
      // Event streams (a union member with the streaming trait): binary frames each with its own CRCs,
      // which the gateway neither masks nor records frame by frame, so it refuses these operations.
      const output = typeof value[5] === 'function' ? value[5]() : value[5];
      const streams = [hasEventStream(inputSchema) && 'input', hasEventStream(output) && 'output'].filter(Boolean);
      if (streams.length > 0) entry.eventStream = streams.join('+');
      if (members.includes('Bucket')) entry.bucket = true;
      if (expressControl.has(opName)) entry.s3ExpressControl = true;
      if (resourcePaths.has(opName)) entry.resourcePaths = resourcePaths.get(opName);
      operations[opName] = entry;
    }
  }
  if (Object.keys(operations).length === 0) throw new Error(`${dir}: no operations found`);
  const pkg = dir.split('/dist-es')[0];
  const version = JSON.parse(readFileSync(join(root, pkg, 'package.json'), 'utf8')).version;
  const sorted = Object.fromEntries(Object.keys(operations).sort().map((k) => [k, operations[k]]));
  return [name, { namespace, protocol, target: serviceTarget, ...(endpointPrefix === undefined ? {} : { endpointPrefix }), source: `${pkg.replace('node_modules/', '')}@${version}`, operations: sorted }];
}

/**
 * The host name prefix of the service's regional endpoint when it is not its signing name (Bedrock
 * runtime signs as `bedrock` at `bedrock-runtime.<region>`; the SSO portal at `portal.sso.<region>`),
 * from the endpoint rules the client ships (`https://<prefix>.{Region}...`, FIPS variants aside).
 */
function endpointPrefixOf(abs, signingName) {
  let rules;
  try { rules = readFileSync(join(abs, 'endpoint/bdd.js'), 'utf8'); } catch { rules = readFileSync(join(abs, 'endpoint/ruleset.js'), 'utf8'); }
  const prefixes = [...new Set([...rules.matchAll(/https:\/\/([a-z0-9.-]+)\.\{/g)].map((m) => m[1]).filter((p) => !p.endsWith('-fips')))];
  if (prefixes.length === 0 || prefixes.includes(signingName)) return undefined;
  if (prefixes.length !== 1) throw new Error(`${abs}: endpoint prefixes ${prefixes.join(', ')}, none of them ${signingName}`);
  return prefixes[0];
}

/** Whether a structure schema has a member that is an event stream (a union with the `streaming` trait). */
function hasEventStream(schema) {
  if (!Array.isArray(schema) || !Array.isArray(schema[5])) return false;
  return schema[5].some((m) => {
    const ref = Array.isArray(m) ? m[0] : m;
    const resolved = typeof ref === 'function' ? ref() : ref;
    return Array.isArray(resolved) && resolved[0] === 4 && resolved[3] !== null && typeof resolved[3] === 'object' && resolved[3].streaming === 1;
  });
}

/**
 * The members that name the resources of each operation of a JSON or query protocol service, from the
 * endpoint context parameters the SDK declares per command (`ResourceArn` / `ResourceArnList`: DynamoDB
 * names its tables this way, for account-based endpoints). REST services name theirs in the URI.
 * A path is a list of steps: a member name, `[]` (each element of a list) or `{}` (the keys of a map).
 */
async function resourcePathsOf(abs, protocol) {
  const byOperation = new Map();
  if (protocol === 'restXml' || protocol === 'restJson1') return byOperation;
  const bundled = await build({ entryPoints: [join(abs, 'commandBuilder.js')], bundle: true, format: 'esm', platform: 'node', write: false, logLevel: 'silent' });
  const mod = await import(`data:text/javascript;base64,${Buffer.from(bundled.outputFiles[0].text).toString('base64')}`);
  for (const file of readdirSync(join(abs, 'commands')).filter((f) => f.endsWith('Command.js'))) {
    const m = /command\((_ep\d+),\s*\w+,\s*"(\w+)"/.exec(readFileSync(join(abs, 'commands', file), 'utf8'));
    if (!m) throw new Error(`${file}: the command builder call does not parse`);
    const params = mod[m[1]];
    const paths = [];
    for (const [param, spec] of Object.entries(params ?? {})) {
      if (param !== 'ResourceArn' && param !== 'ResourceArnList') continue;
      if (spec.type === 'contextParams') paths.push([spec.name]);
      else if (spec.type === 'operationContextParams') paths.push(...pathsOfGetter(String(spec.get)));
      else throw new Error(`${file}: ${param} is a ${spec.type}`);
    }
    if (paths.length > 0) byOperation.set(m[2], paths);
  }
  return byOperation;
}

/**
 * Translates the compiled JMESPath getters the SDK ships (`(input) => Object.keys(input?.RequestItems ?? {})`,
 * `input?.TransactItems?.map((obj) => [obj?.Put?.TableName, ...].filter((i) => i)).flat()`) back into
 * paths; any other shape stops the extraction rather than being guessed at.
 */
function pathsOfGetter(source) {
  const chain = (text, root) => {
    const m = new RegExp(`^${root}((?:\\?\\.\\w+)+)$`).exec(text.trim());
    if (!m) throw new Error(`unrecognized resource getter step: ${text}`);
    return m[1].split('?.').filter((s) => s !== '');
  };
  let m = /^\(input\) => Object\.keys\((.+) \?\? \{\}\)$/.exec(source.trim());
  if (m) return [[...chain(m[1], 'input'), '{}']];
  m = /^\(input\) => (input[\w?.]+)\?\.map\(\(obj\) => \[(.+)\]\.filter\(\(i\) => i\)\)\.flat\(\)$/.exec(source.trim());
  if (m) return m[2].split(',').map((item) => [...chain(m[1], 'input'), '[]', ...chain(item, 'obj')]);
  m = /^\(input\) => (input[\w?.]+)\?\.map\(\(obj\) => (obj[\w?.]+)\)$/.exec(source.trim());
  if (m) return [[...chain(m[1], 'input'), '[]', ...chain(m[2], 'obj')]];
  m = /^\(input\) => (input[\w?.]+)$/.exec(source.trim());
  if (m) return [chain(m[1], 'input')];
  throw new Error(`unrecognized resource getter: ${source}`);
}

const services = Object.fromEntries(await Promise.all(CLIENTS.map(extract)));
const text = [
  '// Generated by gateway/extract-aws-models.mjs from the AWS SDK clients\' shipped service models. Do not edit.',
  "import type { AwsServiceModel } from './types';",
  '',
  `export const AWS_SERVICE_MODELS: Readonly<Record<string, AwsServiceModel>> = ${JSON.stringify(services, null, 1)};`,
  '',
].join('\n');
if (process.argv.includes('--check')) {
  const current = readFileSync(out, 'utf8');
  if (current !== text) { console.error('services.generated.ts is stale: run node gateway/extract-aws-models.mjs'); process.exit(1); }
} else {
  writeFileSync(out, text);
  for (const [n, s] of Object.entries(services)) console.log(n, s.protocol, Object.keys(s.operations).length);
}
