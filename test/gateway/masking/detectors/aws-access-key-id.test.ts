import { awsAccessKeyId } from '../../../../gateway/src/masking/detectors/aws-access-key-id';

const found = (text: string): string[] => awsAccessKeyId.find(text).map((d) => text.slice(d.start, d.end));

describe('aws-access-key-id', () => {
  it('finds exactly the value in `AWS_ACCESS_KEY_ID=${AKIA + ABCDEFGHJK234567}`', () => {
    expect(found(`AWS_ACCESS_KEY_ID=${'AKIA' + 'ABCDEFGHJK234567'}`)).toEqual(['AKIA' + 'ABCDEFGHJK234567']);
  });
  it('finds exactly the value in `{"AccessKeyId":"${ASIA + Z.repeat(16)}"}`', () => {
    expect(found(`{"AccessKeyId":"${'ASIA' + 'Z'.repeat(16)}"}`)).toEqual(['ASIA' + 'Z'.repeat(16)]);
  });
  it.each([
    ['AKIA is the prefix of AWS key ids'],
    [`id=${'XAKIA' + 'A'.repeat(16)}`],
    [`${'AKIA' + 'A'.repeat(17)}`],
  ])('ignores %j', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = awsAccessKeyId.find(`AWS_ACCESS_KEY_ID=${'AKIA' + 'ABCDEFGHJK234567'}`)[0]!;
    expect(d.rule).toBe(awsAccessKeyId.id);
    expect(d.type).toBe(awsAccessKeyId.type);
    expect(Number.isFinite(awsAccessKeyId.maxLength)).toBe(true);
    expect(d.end - d.start).toBeLessThanOrEqual(awsAccessKeyId.maxLength);
  });
});
