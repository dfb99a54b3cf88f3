import { DEFAULT_ACTION_GROUPS, SFTP_OPS } from '../../../../../gateway/src/policy/entities';
import { body, FX, FXP, header, MAX_PACKET, PacketFramer, SftpProtocolError, statusPacket, versionReply } from '../../../../../gateway/src/protocols/ssh/sftp/packets';

function packet(type: number, id: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(9 + payload.length);
  b.writeUInt32BE(5 + payload.length, 0);
  b[4] = type;
  b.writeUInt32BE(id, 5);
  payload.copy(b, 9);
  return b;
}

describe('SFTP packets', () => {
  it('frames packets split and joined across chunks, byte for byte', () => {
    const a = packet(FXP.REMOVE, 7, Buffer.from('\0\0\0\x02/x'));
    const b = packet(FXP.WRITE, 8, Buffer.alloc(1000, 1));
    const stream = Buffer.concat([a, b, a]);
    for (const cut of [1, 3, 4, 5, 13, a.length, a.length + 2, stream.length - 1]) {
      const f = new PacketFramer();
      const out = [...f.push(stream.subarray(0, cut)), ...f.push(stream.subarray(cut))];
      expect(out.map((x) => x.toString('hex'))).toEqual([a, b, a].map((x) => x.toString('hex')));
    }
  });

  it('refuses a packet longer than the limit before buffering it, and a zero length', () => {
    const big = Buffer.alloc(4);
    big.writeUInt32BE(MAX_PACKET + 1, 0);
    expect(() => new PacketFramer().push(big)).toThrow(SftpProtocolError);
    expect(() => new PacketFramer().push(Buffer.alloc(8))).toThrow(SftpProtocolError);
    const ok = Buffer.alloc(4);
    ok.writeUInt32BE(MAX_PACKET, 0);
    expect(new PacketFramer().push(ok)).toEqual([]);
  });

  it('reads ids and strings, and throws on a truncated body rather than reading past it', () => {
    const p = packet(FXP.OPEN, 42, Buffer.from('\0\0\0\x20/tmp/file'));
    expect(header(p)).toEqual({ type: FXP.OPEN, id: 42 });
    expect(() => body(p).bytes()).toThrow(SftpProtocolError);
  });

  it('builds the STATUS reply a refused request gets, and reads a VERSION reply', () => {
    const s = statusPacket(9, FX.PERMISSION_DENIED, 'no');
    expect(header(s)).toEqual({ type: FXP.STATUS, id: 9 });
    const r = body(s);
    expect([r.u32(), r.bytes().toString(), r.bytes().length, r.remaining]).toEqual([FX.PERMISSION_DENIED, 'no', 0, 0]);
    const str = (t: string) => Buffer.concat([Buffer.from([0, 0, 0, t.length]), Buffer.from(t)]);
    const rest = Buffer.concat([Buffer.from([FXP.VERSION, 0, 0, 0, 3]), str('posix-rename@openssh.com'), str('1')]);
    const v = Buffer.concat([Buffer.alloc(4), rest]);
    v.writeUInt32BE(rest.length, 0);
    expect(versionReply(v)).toEqual({ version: 3, extensions: ['posix-rename@openssh.com'] });
  });

  it('puts every judged operation in the ssh:sftp action group', () => {
    expect(DEFAULT_ACTION_GROUPS['ssh:sftp']).toEqual(SFTP_OPS.map((op) => `ssh:sftp:${op}`));
  });
});
