import { databaseUrl } from '../../../../gateway/src/masking/detectors/database-url';

const found = (text: string): string[] => databaseUrl.find(text).map((d) => text.slice(d.start, d.end));

describe('database-url', () => {
  it('finds exactly the value in DATABASE_URL=postgres://app:s3cr3t-Pa55@db.interna', () => {
    expect(found('DATABASE_URL=postgres://app:s3cr3t-Pa55@db.internal:5432/app')).toEqual(['s3cr3t-Pa55']);
  });
  it('finds exactly the value in mongodb+srv://admin:hunter2hunter2@cluster0.exampl', () => {
    expect(found('mongodb+srv://admin:hunter2hunter2@cluster0.example.net/prod')).toEqual(['hunter2hunter2']);
  });
  it.each([
    ['postgres://app@db.internal/app'],
    ['https://user:pass@example.com/'],
    ['postgres://localhost:5432/app'],
  ])('ignores %j', (text: string) => {
    expect(found(text)).toEqual([]);
  });
  it('reports its rule id and type and has a finite maxLength', () => {
    const d = databaseUrl.find('DATABASE_URL=postgres://app:s3cr3t-Pa55@db.internal:5432/app')[0]!;
    expect(d.rule).toBe(databaseUrl.id);
    expect(d.type).toBe(databaseUrl.type);
    expect(Number.isFinite(databaseUrl.maxLength)).toBe(true);
    expect(d.end - d.start).toBeLessThanOrEqual(databaseUrl.maxLength);
  });
});
