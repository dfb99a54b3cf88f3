import { awsSecretAccessKey } from '../../../../gateway/src/masking/detectors/aws-secret-access-key';

const found = (text: string): string[] => awsSecretAccessKey.find(text).map((d) => text.slice(d.start, d.end));

describe('aws-secret-access-key', () => {
  it('finds exactly the value in `aws_secret_access_key = ${wJalrXUtnFEMI/K7MDENG/b', () => {
    expect(found(`aws_secret_access_key = ${'wJalrXUtnFEMI/K7MDENG/bPxRfiCY' + 'EXAMPLEKEY'}`)).toEqual(['wJalrXUtnFEMI/K7MDENG/bPxRfiCY' + 'EXAMPLEKEY']);
  });
  it('finds exactly the value in `"SecretAccessKey":"${Ab1+.repeat(10)}"`', () => {
    expect(found(`"SecretAccessKey":"${'Ab1+'.repeat(10)}"`)).toEqual(['Ab1+'.repeat(10)]);
  });
  it.each([
    [`commit ${'Ab1x'.repeat(10)}`],
    [`aws_secret_access_key = ${'a1b2c3d4e5'.repeat(4)}`],
    [`aws_secret = ${'Ab1+'.repeat(11)}`],
  ])('ignores %j', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = awsSecretAccessKey.find(`aws_secret_access_key = ${'wJalrXUtnFEMI/K7MDENG/bPxRfiCY' + 'EXAMPLEKEY'}`)[0]!;
    expect(d.rule).toBe(awsSecretAccessKey.id);
    expect(d.type).toBe(awsSecretAccessKey.type);
    expect(Number.isFinite(awsSecretAccessKey.maxLength)).toBe(true);
    expect(d.end - d.start).toBeLessThanOrEqual(awsSecretAccessKey.maxLength);
  });
});
