import { createHash } from 'node:crypto';
import { parseScpCommand, ScpStream, type ScpEvent } from '../../../../gateway/src/protocols/ssh/scp';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** The stream fed in chunks of `size` bytes (boundaries anywhere: inside lines, data, statuses). */
function feed(parser: ScpStream, bytes: Buffer, size: number): ScpEvent[] {
  const out: ScpEvent[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(...parser.push(bytes.subarray(i, i + size)));
  return [...out, ...parser.end()];
}

describe('parseScpCommand: the exec command of a legacy SCP transfer', () => {
  it('reads OpenSSH’s sink and source commands, with their flags and quoting', () => {
    expect(parseScpCommand('scp -t /srv/in')).toEqual({ mode: 'sink', paths: ['/srv/in'], directory: false });
    expect(parseScpCommand('scp -v -r -p -t -- /srv/in dir')).toBeUndefined(); // a sink has one target
    expect(parseScpCommand("scp -r -t -- '/srv/with space'")).toEqual({ mode: 'sink', paths: ['/srv/with space'], directory: true });
    expect(parseScpCommand('scp -d -t /srv/')).toMatchObject({ mode: 'sink', directory: true });
    expect(parseScpCommand('/usr/bin/scp -f -- /etc/hosts "/tmp/a b"')).toEqual({ mode: 'source', paths: ['/etc/hosts', '/tmp/a b'], directory: false });
  });

  it('is no SCP transfer for anything else', () => {
    for (const c of ['ls -l', 'scp', 'scp -t', 'scp -t -f x', 'scp -x -t y', 'scp -t $(id)', 'scp -t a; rm -rf /', 'echo scp -t x']) expect(parseScpCommand(c)).toBeUndefined();
  });
});

describe('ScpStream: files out of the protocol stream', () => {
  const upload = Buffer.concat([
    Buffer.from('T1700000000 0 1700000000 0\n'),
    Buffer.from('C0644 12 hello.txt\n'),
    Buffer.from('hello world\n'),
    Buffer.from([0]),
    Buffer.from('D0755 0 sub\n'),
    Buffer.from('C0600 0 empty\n'),
    Buffer.from([0]),
    Buffer.from('C0644 4 bin\n'),
    Buffer.from([0, 255, 1, 2]),
    Buffer.from([0]),
    Buffer.from('E\n'),
  ]);

  it.each([1, 3, 7, 4096])('parses an upload into file records whatever the chunking (%i-byte chunks)', (size) => {
    const events = feed(new ScpStream(4, parseScpCommand('scp -r -t /srv/in')!, 1024, undefined), upload, size);
    const files = events.filter((e) => e.type === 'ssh.scp.file').map((e) => e.payload);
    expect(files).toEqual([
      { channel: 4, direction: 'write', path: '/srv/in/hello.txt', name: 'hello.txt', mode: '0644', size: 12, bytes: 12, sha256: sha('hello world\n'), complete: true },
      { channel: 4, direction: 'write', path: '/srv/in/sub/empty', name: 'empty', mode: '0600', size: 0, bytes: 0, sha256: sha(''), complete: true },
      { channel: 4, direction: 'write', path: '/srv/in/sub/bin', name: 'bin', mode: '0644', size: 4, bytes: 4, sha256: sha(Buffer.from([0, 255, 1, 2])), complete: true },
    ]);
    const contents = events.filter((e) => e.type === 'ssh.file.content').map((e) => e.payload);
    expect(contents).toEqual([
      { channel: 4, via: 'scp', path: '/srv/in/hello.txt', direction: 'write', size: 12, truncated: false, recorded: 12, encoding: 'text', text: 'hello world\n' },
      { channel: 4, via: 'scp', path: '/srv/in/sub/bin', direction: 'write', size: 4, truncated: false, recorded: 4, encoding: 'base64', base64: Buffer.from([0, 255, 1, 2]).toString('base64') },
    ]);
  });

  it('names a download by the source it came from; a file cut short or refused by the source is incomplete', () => {
    const parser = new ScpStream(1, parseScpCommand('scp -f /etc/hosts /var/log/app.log')!, 4, undefined);
    // A source that cannot read on still sends the announced size (padding), then the error status.
    const stream = Buffer.concat([Buffer.from('C0644 5 app.log\nabcde'), Buffer.from([0]), Buffer.from('C0644 10 hosts\n0123'), Buffer.alloc(6), Buffer.from([2]), Buffer.from('scp: read error\n')]);
    const files = feed(parser, stream, 5).filter((e) => e.type === 'ssh.scp.file').map((e) => e.payload);
    expect(files).toEqual([
      expect.objectContaining({ direction: 'read', path: '/var/log/app.log', size: 5, bytes: 5, complete: true, sha256: sha('abcde') }),
      expect.objectContaining({ direction: 'read', path: '/etc/hosts', size: 10, bytes: 10, complete: false, sha256: null, message: 'scp: read error' }),
    ]);
    const cut = new ScpStream(1, parseScpCommand('scp -t /x')!, 100, undefined);
    cut.push(Buffer.from('C0644 100 f\nonly part'));
    expect(cut.end()).toContainEqual({ type: 'ssh.scp.file', payload: expect.objectContaining({ path: '/x', bytes: 9, complete: false, sha256: null, message: 'the channel ended during the transfer' }) });
  });

  it('stops at bytes that break the protocol and says why', () => {
    const parser = new ScpStream(1, parseScpCommand('scp -t /x')!, 100, undefined);
    expect(parser.push(Buffer.from('not scp at all\n'))).toEqual([]);
    expect(parser.broken).toMatch(/unexpected control line/);
    const traversal = new ScpStream(1, parseScpCommand('scp -r -t /x')!, 100, undefined);
    traversal.push(Buffer.from('C0644 1 ../../etc/passwd\n'));
    expect(traversal.broken).toBeDefined();
  });
});
