import { canonicalRepository, gitEndpoint } from '../../../../gateway/src/protocols/git/endpoint';
import { gitFetchOperation } from '../../../../gateway/src/protocols/git/operations';
import { decodeUploadPack } from '../../../../gateway/src/protocols/git/upload-pack';
import { DELIM_PKT, encodePktLine, FLUSH_PKT } from '../../../../gateway/src/protocols/git/pkt-line';

const ADV = { service: 'git-upload-pack' };

describe('git endpoint', () => {
  it('names the three smart HTTP endpoints of one canonical repository', () => {
    expect(gitEndpoint('GET', '/org/repo.git/info/refs', ADV, { 'git-protocol': 'version=2' })).toEqual({
      ok: true,
      endpoint: { repository: 'org/repo', service: 'git-upload-pack', phase: 'advertise', protocolVersion: 2, upstreamPath: 'org/repo.git/info/refs?service=git-upload-pack' },
    });
    expect(gitEndpoint('POST', '/org/repo/git-receive-pack', {}, { 'git-protocol': 'version=2' })).toMatchObject({
      ok: true,
      endpoint: { repository: 'org/repo', service: 'git-receive-pack', phase: 'rpc', protocolVersion: 0, upstreamPath: 'org/repo.git/git-receive-pack' },
    });
    expect(gitEndpoint('POST', '/org/repo.git/git-upload-pack', {}, {})).toMatchObject({ ok: true, endpoint: { service: 'git-upload-pack', protocolVersion: 0 } });
  });

  it('unifies the .git and trailing-slash spellings, and letter case when the host ignores it', () => {
    for (const p of ['/org/Repo', '/org/Repo.git', '/org/Repo/', '/org/Repo.git/']) expect(canonicalRepository(p, false)).toBe('org/Repo');
    expect(canonicalRepository('/Org/Repo.git', true)).toBe('org/repo');
  });

  it.each([
    ['a dot-dot segment', '/org/../repo'],
    ['a dot segment', '/org/./repo'],
    ['an empty segment', '/org//repo'],
    ['an encoded slash', '/org%2Frepo'],
    ['an encoded backslash', '/org%5Crepo'],
    ['.git twice', '/org/repo.git.git'],
    ['only .git', '/org/.git'],
    ['a hidden name', '/org/.repo'],
    ['no repository', '/'],
  ])('refuses %s as ambiguous', (_name, path) => {
    expect(canonicalRepository(path, false)).toMatchObject({ ok: false, kind: 'ambiguous' });
  });

  it.each([
    ['dumb HTTP info/refs', 'GET', '/org/repo.git/info/refs', {}],
    ['a dumb HTTP object path', 'GET', '/org/repo.git/objects/info/packs', {}],
    ['HEAD', 'GET', '/org/repo.git/HEAD', {}],
    ['an unknown service', 'GET', '/org/repo.git/info/refs', { service: 'git-upload-archive' }],
    ['an extra query parameter', 'GET', '/org/repo.git/info/refs', { service: 'git-upload-pack', x: '1' }],
    ['info/refs by POST', 'POST', '/org/repo.git/info/refs', ADV],
    ['upload-pack by GET', 'GET', '/org/repo.git/git-upload-pack', {}],
    ['receive-pack with a query', 'POST', '/org/repo.git/git-receive-pack', { a: 'b' }],
  ])('refuses %s as unsupported', (_name, method, path, params) => {
    expect(gitEndpoint(method, path, params, {})).toMatchObject({ ok: false, kind: 'unsupported' });
  });

  it('refuses a Git-Protocol header that names two versions', () => {
    expect(gitEndpoint('GET', '/r/info/refs', ADV, { 'git-protocol': 'version=2:version=1' })).toMatchObject({ ok: false, kind: 'ambiguous' });
  });
});

describe('git:fetch operation', () => {
  it('carries the repository and what the fetch asks for', () => {
    const e = gitEndpoint('POST', '/org/repo.git/git-upload-pack', {}, { 'git-protocol': 'version=2' });
    if (!e.ok) throw new Error(e.reason);
    const body = Buffer.concat([encodePktLine('command=fetch\n'), DELIM_PKT, encodePktLine(`want ${'c'.repeat(40)}\n`), encodePktLine('want-ref refs/heads/main\n'), encodePktLine('done\n'), FLUSH_PKT]);
    const r = decodeUploadPack(body, 2);
    if (!r.ok) throw new Error(r.reason);
    const op = gitFetchOperation(e.endpoint, 'github', r.request);
    expect(op).toEqual({
      protocol: 'git',
      action: 'git:fetch',
      attributes: { repository: 'org/repo', connection: 'github', service: 'git-upload-pack', phase: 'rpc', protocolVersion: 2, command: 'fetch', wants: 1, haves: 0, wantRefs: ['refs/heads/main'] },
      summary: 'git fetch of 2 wants from org/repo',
    });
    expect(gitFetchOperation(e.endpoint, 'github').summary).toBe('git ref advertisement from org/repo');
  });
});
