import { createHash } from 'node:crypto';
import { canonicalEventLine, canonicalJson, eventHash, genesisHash, lineWithoutHash, sealEvent, storedLine } from '../../../gateway/src/recording/chain';

describe('canonical form and hash chain', () => {
  it('digest form: sorts keys at every level and omits undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, undefined, 'x'], c: null }, u: undefined })).toBe('{"a":{"c":null,"d":[1,null,"x"]},"b":1}');
  });

  it('event form: fixes the top-level order, keeps the producer\'s nested order, never includes hash', () => {
    const line = canonicalEventLine({ payload: { z: 1, a: 2 }, extra: true, prev: 'p', seq: 3, type: 't', code: 'GH1I', time: 'T', session: 's', hash: 'ignored', requestId: undefined });
    expect(line).toBe('{"seq":3,"type":"t","code":"GH1I","time":"T","session":"s","payload":{"z":1,"a":2},"prev":"p","extra":true}');
  });

  it('splits a stored line into its canonical part and hash', () => {
    const stored = storedLine('{"seq":0}', 'a'.repeat(64)).trimEnd();
    expect(stored).toBe(`{"seq":0,"hash":"${'a'.repeat(64)}"}`);
    expect(lineWithoutHash(stored)).toEqual({ canonical: '{"seq":0}', hash: 'a'.repeat(64) });
    expect(lineWithoutHash('{"seq":0}')).toBeUndefined();
  });

  it('hashes the canonical line without hash and survives a JSON round trip', () => {
    const e = sealEvent({ seq: 0, type: 'session.start', code: 'GH1000I', time: '2026-01-01T00:00:00.000Z', session: 's1', payload: { '2': 'numeric key', b: 'x' }, prev: genesisHash('s1') });
    const stored = storedLine(canonicalEventLine(e as unknown as Record<string, unknown>), e.hash);
    const parsed = JSON.parse(stored) as Record<string, unknown>;
    expect(eventHash(parsed)).toBe(e.hash);
    expect(e.hash).toBe(createHash('sha256').update(canonicalEventLine(e as unknown as Record<string, unknown>)).digest('hex'));
  });

  it('uses SHA-256 of gatehouse:session:<id> as the first prev', () => {
    expect(genesisHash('abc')).toBe(createHash('sha256').update('gatehouse:session:abc').digest('hex'));
  });

  it('refuses values it cannot represent faithfully', () => {
    expect(() => canonicalJson({ n: 1n })).toThrow(/bigint/);
    expect(() => canonicalJson({ b: Buffer.from('x') })).toThrow(/binary/);
    expect(() => canonicalEventLine({ seq: 0, payload: { n: 1n } })).toThrow(/not recordable/);
  });
});
