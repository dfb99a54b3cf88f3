import { ipv6Address } from '../../../../gateway/src/masking/detectors/ipv6-address';

const found = (text: string): string[] => ipv6Address.find(text).map((d) => text.slice(d.start, d.end));

describe('ipv6-address', () => {
  it('finds exactly the value in inet6 2001:db8::8a2e:370:7334/64', () => {
    expect(found('inet6 2001:db8::8a2e:370:7334/64')).toEqual(['2001:db8::8a2e:370:7334']);
  });
  it('finds exactly the value in listening on [::1]:8443', () => {
    expect(found('listening on [::1]:8443')).toEqual(['::1']);
  });
  it('finds exactly the value in mapped ::ffff:192.0.2.1 ok', () => {
    expect(found('mapped ::ffff:192.0.2.1 ok')).toEqual(['::ffff:192.0.2.1']);
  });
  it.each([
    ['at 10:30:45 UTC'],
    ['ether 00:1a:2b:3c:4d:5e'],
    ['std::vector<int>'],
    ['dead:beef:cafe'],
  ])('ignores %j', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = ipv6Address.find('inet6 2001:db8::8a2e:370:7334/64')[0]!;
    expect(d.rule).toBe(ipv6Address.id);
    expect(d.type).toBe(ipv6Address.type);
    expect(Number.isFinite(ipv6Address.maxLength)).toBe(true);
    expect(d.end - d.start).toBeLessThanOrEqual(ipv6Address.maxLength);
  });
});

describe('ipv6-address boundaries', () => {
  it('stops before a trailing colon or full stop and skips over-long runs', () => {
    expect(found('error from 2001:db8::1: refused')).toEqual(['2001:db8::1']);
    expect(found('peer was fe80::1.')).toEqual(['fe80::1']);
    expect(found('a:'.repeat(10_000))).toEqual([]);
  });
});
