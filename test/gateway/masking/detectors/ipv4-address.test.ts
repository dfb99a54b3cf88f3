import { ipv4Address } from '../../../../gateway/src/masking/detectors/ipv4-address';

const found = (text: string): string[] => ipv4Address.find(text).map((d) => text.slice(d.start, d.end));

describe('ipv4-address', () => {
  it('finds exactly the value in connection from 192.168.1.20:5432', () => {
    expect(found('connection from 192.168.1.20:5432')).toEqual(['192.168.1.20']);
  });
  it('finds exactly the value in X-Forwarded-For: 203.0.113.7, 10.0.0.1', () => {
    expect(found('X-Forwarded-For: 203.0.113.7, 10.0.0.1')).toEqual(['203.0.113.7', '10.0.0.1']);
  });
  it.each([
    ['OID 1.3.6.1.4.1.311'],
    ['999.1.1.1'],
    ['release v1.2.3.4'],
    ['version 1.2.3'],
  ])('ignores %j', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = ipv4Address.find('connection from 192.168.1.20:5432')[0]!;
    expect(d.rule).toBe(ipv4Address.id);
    expect(d.type).toBe(ipv4Address.type);
    expect(Number.isFinite(ipv4Address.maxLength)).toBe(true);
    expect(d.end - d.start).toBeLessThanOrEqual(ipv4Address.maxLength);
  });
});
