import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { GitMirror } from '../../../../gateway/src/protocols/git/mirror';
import { decodeReceivePack } from '../../../../gateway/src/protocols/git/receive-pack';
import { runGit } from '../../../../gateway/src/protocols/git/run-git';
import { scanPushedSecrets, unquote, type SecretScanLimits, type SecretScanResult } from '../../../../gateway/src/protocols/git/secret-scan';
import { GitWorld } from './real-git';

/**
 * Secret scanning of real pushes: a client's `git push` bytes are captured on their way to a real
 * upstream, the pack is indexed into a quarantine borrowing the gateway's mirror (as the gateway
 * does), and the scanner reads the added lines from there with the system git.
 */
// Assembled at run time so no token-shaped literal sits in the repository.
const GITHUB_TOKEN = ['ghp', 'R8q7P6o5N4m3L2k1J0i9H8g7F6e5D4c3B2a1'].join('_');
const AWS_KEY = ['AKIA', 'Q3ZX7WBN5TPLK2MD'].join('');
const PEM = ['-----BEGIN RSA PRIVATE KEY-----', 'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun', 'VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK', '-----END RSA PRIVATE KEY-----'].join('\n');

let world: GitWorld;
let upstream: string;
let work: string;
let mirror: GitMirror;

beforeAll(() => {
  world = new GitWorld();
  upstream = world.bare('upstream.git');
  work = world.work('work');
  // Already upstream before any scanned push: a config file with a key on its first line.
  commitFile('config.env', `AWS_ACCESS_KEY_ID=${AWS_KEY}\nregion=eu-west-1\nname=app\n`, 'config');
  world.git(work, 'push', '-q', upstream, 'main');
  mirror = new GitMirror({ gitDir: join(world.dir, 'mirror.git'), upstreamUrl: upstream });
});
afterAll(() => world.close());

function commitFile(name: string, content: string | Buffer, message: string): string {
  mkdirSync(dirname(join(work, name)), { recursive: true });
  writeFileSync(join(work, name), content);
  world.git(work, 'add', name);
  world.git(work, 'commit', '-q', '-m', message);
  return world.git(work, 'rev-parse', 'HEAD');
}

/** Refreshes the mirror, captures the real push, indexes its pack into a quarantine and scans it. */
async function pushAndScan(refspecs: string[], limits?: SecretScanLimits, options: string[] = []): Promise<SecretScanResult> {
  await mirror.refresh();
  const body = world.capturePush(work, upstream, options, refspecs);
  const s = decodeReceivePack(body, true);
  if (s.status !== 'complete') throw new Error(`not decoded: ${JSON.stringify(s)}`);
  const quarantine = mkdtempSync(join(world.dir, 'quarantine-'));
  try {
    const objects = join(quarantine, 'objects');
    mkdirSync(join(objects, 'pack'), { recursive: true });
    const env = { GIT_DIR: mirror.gitDir, GIT_OBJECT_DIRECTORY: objects, GIT_ALTERNATE_OBJECT_DIRECTORIES: join(mirror.gitDir, 'objects') };
    if (!s.request.deleteOnly) await runGit(['index-pack', '--stdin', '--fix-thin'], { env, stdin: body.subarray(s.request.headLength) });
    const result = await scanPushedSecrets({ mirrorDir: mirror.gitDir, quarantineObjectDir: objects, updates: s.request.commands, limits });
    // Whatever it found, the result never carries a secret's value.
    const text = JSON.stringify(result);
    for (const secret of [GITHUB_TOKEN, AWS_KEY, 'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun']) expect(text).not.toContain(secret);
    return result;
  } finally {
    rmSync(quarantine, { recursive: true, force: true });
  }
}

/** `count` commits on main through fast-import, each adding one line to its own file; `secretAt` adds a token instead. */
function manyCommits(count: number, secretAt: number): string[] {
  const parent = world.git(work, 'rev-parse', 'HEAD');
  const chunks: string[] = [];
  const data = (s: string) => `data ${Buffer.byteLength(s)}\n${s}\n`;
  for (let i = 0; i < count; i++) {
    chunks.push(`commit refs/heads/main\nmark :${i + 1}\ncommitter Ada <ada@example.com> ${1_700_000_000 + i} +0000\n${data(`c${i}`)}`);
    if (i === 0) chunks.push(`from ${parent}\n`);
    chunks.push(`M 100644 inline many/f${i % 50}.txt\n${data(`line ${i}\n${i === secretAt ? `token = "${GITHUB_TOKEN}"\n` : ''}`)}\n`);
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: work, input: chunks.join('') });
  world.git(work, 'reset', '-q', '--hard');
  return world.git(work, 'rev-list', '--reverse', `${parent}..HEAD`).split('\n');
}

describe('secret scanning of pushed content', () => {
  it('reports a secret in a new file by commit, path, line and detector', async () => {
    const commit = commitFile('src/settings.py', `DEBUG = False\n\nGITHUB = "${GITHUB_TOKEN}"\n`, 'settings');
    const r = await pushAndScan(['main']);
    expect(r).toMatchObject({ complete: true, incomplete: [], commits: 1, files: 1, findingsTotal: 1 });
    expect(r.findings).toEqual([{ commit, path: 'src/settings.py', line: 3, detector: 'github-token', type: 'github_token' }]);
  });

  it('reports only the added line of a modified file, not a secret already upstream in an unchanged line', async () => {
    const commit = commitFile('config.env', `AWS_ACCESS_KEY_ID=${AWS_KEY}\nregion=eu-west-1\nname=app\nGH=${GITHUB_TOKEN}\n`, 'more config');
    const r = await pushAndScan(['main']);
    expect(r.complete).toBe(true);
    expect(r.findings).toEqual([{ commit, path: 'config.env', line: 4, detector: 'github-token', type: 'github_token' }]);
  });

  it('reports a secret added by one pushed commit and removed by the next: it stays in history', async () => {
    const added = commitFile('deploy/key.pem', `# deploy key\n${PEM}\n`, 'add key');
    commitFile('deploy/key.pem', '# deploy key\n', 'remove key');
    const r = await pushAndScan(['main']);
    expect(r).toMatchObject({ complete: true, commits: 2 });
    expect(r.findings).toEqual([{ commit: added, path: 'deploy/key.pem', line: 2, detector: 'pem-private-key', type: 'private_key' }]);
  });

  it('skips binary files with a counted note, and adds nothing for a deletion or a rename of a file holding a secret', async () => {
    commitFile('assets/blob.bin', Buffer.concat([Buffer.from([0, 1, 2, 0]), Buffer.from(`\n${GITHUB_TOKEN}\n`)]), 'binary');
    world.git(work, 'mv', 'config.env', 'app.env');
    world.git(work, 'commit', '-q', '-m', 'rename');
    world.git(work, 'rm', '-q', 'src/settings.py');
    world.git(work, 'commit', '-q', '-m', 'delete');
    const r = await pushAndScan(['main']);
    expect(r).toMatchObject({ complete: true, commits: 3, findings: [], binaryFiles: 1, binaryPaths: ['assets/blob.bin'] });
  });

  it('reads quoted paths, multi-ref pushes and a tag that points at a blob', async () => {
    const onTopic = commitFile('d i/é x.env', `x=1\nAPI=${AWS_KEY}\n`, 'odd path');
    const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: work, input: `note\npassword = "s3cr3t-Value-9"\n` }).toString().trim();
    world.git(work, 'tag', 'blob-tag', blob);
    const r = await pushAndScan(['main:refs/heads/topic', 'refs/tags/blob-tag'], undefined, ['--atomic']);
    expect(r.complete).toBe(true);
    expect(r.findings).toEqual([
      { commit: blob, path: 'refs/tags/blob-tag', line: 2, detector: 'generic-assignment', type: 'generic_secret' },
      { commit: onTopic, path: 'd i/é x.env', line: 2, detector: 'aws-access-key-id', type: 'aws_access_key_id' },
    ]);
    expect(unquote('"d i/\\303\\251 x\\t\\"q\\".env"')).toBe('d i/é x\t"q".env');
  });

  it('in a merge, reports only lines in none of its parents (an evil merge); a merged branch’s lines count once, in its own commit', async () => {
    world.git(work, 'checkout', '-q', '-b', 'side', 'HEAD~1');
    const side = commitFile('side.txt', `side\nKEY=${AWS_KEY}\n`, 'side');
    world.git(work, 'checkout', '-q', 'main');
    world.git(work, 'merge', '-q', '--no-commit', 'side');
    writeFileSync(join(work, 'side.txt'), `side\nKEY=${AWS_KEY}\nTOKEN=${GITHUB_TOKEN}\n`);
    world.git(work, 'add', 'side.txt');
    world.git(work, 'commit', '-q', '-m', 'evil merge');
    const merge = world.git(work, 'rev-parse', 'HEAD');
    const r = await pushAndScan(['main']);
    expect(r).toMatchObject({ complete: true, commits: 2 });
    expect(r.findings).toEqual([
      { commit: side, path: 'side.txt', line: 2, detector: 'aws-access-key-id', type: 'aws_access_key_id' },
      { commit: merge, path: 'side.txt', line: 3, detector: 'github-token', type: 'github_token' },
    ]);
  });

  it('scans every commit of a long push in order', async () => {
    const ids = manyCommits(300, 201);
    const r = await pushAndScan(['main']);
    expect(r).toMatchObject({ complete: true, commits: 300, files: 300, findingsTotal: 1 });
    expect(r.findings).toEqual([{ commit: ids[201], path: 'many/f1.txt', line: 2, detector: 'github-token', type: 'github_token' }]);
  });

  it('scans the messages of pushed commits and annotated tags; a tag already upstream is not scanned again', async () => {
    world.git(work, 'commit', '-q', '--allow-empty', '-m', 'fix login', '-m', `token used: ${GITHUB_TOKEN}`);
    const commit = world.git(work, 'rev-parse', 'HEAD');
    world.git(work, 'tag', '-a', 'v9', '-m', `release\nAWS ${AWS_KEY}`);
    const tag = world.git(work, 'rev-parse', 'refs/tags/v9');
    const r = await pushAndScan(['main', 'refs/tags/v9']);
    expect(r).toMatchObject({ complete: true, files: 0 });
    expect(r.findings).toEqual([
      { commit: tag, path: '(tag message)', line: 2, detector: 'aws-access-key-id', type: 'aws_access_key_id' },
      { commit, path: '(commit message)', line: 3, detector: 'github-token', type: 'github_token' },
    ]);
    world.git(work, 'tag', 'v9-again', 'v9');
    expect((await pushAndScan(['refs/tags/v9-again'])).findings).toEqual([]);
  });

  it('says explicitly when a bound is exceeded: bytes of one file, bytes in all, commits, time', async () => {
    commitFile('big.txt', 'x'.repeat(3000) + `\nK=${AWS_KEY}\n`, 'big');
    commitFile('small.txt', `T=${GITHUB_TOKEN}\n`, 'small');
    // one file over its bound: the rest is still scanned, and the result is not complete
    await mirror.refresh();
    const perFile = await pushAndScanNoPush({ maxFileBytes: 1000 });
    expect(perFile.complete).toBe(false);
    expect(perFile.incomplete).toEqual([{ bound: 'file-bytes', limit: 1000, commit: expect.any(String), path: 'big.txt' }]);
    expect(perFile.findings.map((f) => f.path)).toEqual(['small.txt']);
    // the whole push over its bound: scanning stops
    const total = await pushAndScanNoPush({ maxTotalBytes: 2000 });
    expect(total.incomplete).toEqual([{ bound: 'total-bytes', limit: 2000, commit: expect.any(String), path: 'big.txt' }]);
    expect(total.complete).toBe(false);
    expect(await pushAndScanNoPush({ maxCommits: 1 })).toMatchObject({ complete: false, incomplete: [{ bound: 'commits', limit: 1 }], findings: [] });
    expect(await pushAndScanNoPush({ timeoutMs: 0 })).toMatchObject({ complete: false, incomplete: [{ bound: 'time', limit: 0 }] });
    // and within its bounds the same push is complete
    expect(await pushAndScanNoPush({})).toMatchObject({ complete: true, findingsTotal: 2 });
  });

  it('a delete-only push scans nothing and is complete', async () => {
    const r = await pushAndScan([':refs/heads/topic']);
    expect(r).toEqual(expect.objectContaining({ complete: true, commits: 0, findings: [] }));
  });
});

/** Scans main's unpushed commits straight from the work repository's objects (no push), against the mirror's refs. */
async function pushAndScanNoPush(limits: SecretScanLimits): Promise<SecretScanResult> {
  const oldId = world.git(mirror.gitDir, 'rev-parse', 'refs/heads/main');
  const newId = world.git(work, 'rev-parse', 'HEAD');
  return scanPushedSecrets({ mirrorDir: mirror.gitDir, quarantineObjectDir: join(work, '.git', 'objects'), updates: [{ ref: 'refs/heads/main', oldId, newId }], limits });
}
