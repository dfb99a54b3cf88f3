import { azureStorageConnectionString } from '../../../../gateway/src/masking/detectors/azure-storage-connection-string';

const found = (text: string): string[] => azureStorageConnectionString.find(text).map((d) => text.slice(d.start, d.end));

describe('azure-storage-connection-string', () => {
  it('finds exactly the value in `DefaultEndpointsProtocol=https;AccountName=acme;A', () => {
    expect(found(`DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=${'Ab1/'.repeat(21) + 'xy=='};EndpointSuffix=core.windows.net`)).toEqual(['Ab1/'.repeat(21) + 'xy==']);
  });
  it.each([
    ['DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=<your key>'],
    [`AccountKey=${'Ab1/'.repeat(10)}`],
  ])('ignores %j', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = azureStorageConnectionString.find(`DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=${'Ab1/'.repeat(21) + 'xy=='};EndpointSuffix=core.windows.net`)[0]!;
    expect(d.rule).toBe(azureStorageConnectionString.id);
    expect(d.type).toBe(azureStorageConnectionString.type);
    expect(Number.isFinite(azureStorageConnectionString.maxLength)).toBe(true);
    expect(d.end - d.start).toBeLessThanOrEqual(azureStorageConnectionString.maxLength);
  });
});
