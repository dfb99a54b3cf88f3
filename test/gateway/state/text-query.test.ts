import { parseTsquery, planTextQuery, tsqueryText } from '../../../gateway/src/state/text-query';

// Inputs are tsquery texts as PostgreSQL prints websearch_to_tsquery('simple', …).
describe('planTextQuery', () => {
  it('keeps a query without phrases as the one exact, indexed condition', () => {
    expect(planTextQuery("'select' & !'ledger' | 'o''neil'")).toEqual({ prefilter: "'select' & !'ledger' | 'o''neil'" });
  });

  it('relaxes a phrase to its words for the index and checks the phrase on event rows', () => {
    expect(planTextQuery("'delete' <-> 'from' & !'ledger'")).toEqual({
      prefilter: "(('delete' & 'from') & !('ledger'))",
      check: { kind: 'and', left: { kind: 'events', tsquery: "('delete' <-> 'from')" }, right: { kind: 'session', tsquery: "!('ledger')" } },
    });
  });

  it('never lets an excluded phrase exclude sessions that merely hold its words', () => {
    // !(a & b) would drop sessions with "b … a": under a NOT a phrase relaxes to "false".
    expect(planTextQuery("'x' & !( 'y' <-> 'z' )").prefilter).toBe("'x'");
    expect(planTextQuery("!( 'a' <-> 'b' )")).toEqual({ prefilter: true, check: { kind: 'not', child: { kind: 'events', tsquery: "('a' <-> 'b')" } } });
  });

  it('parses precedence as PostgreSQL prints it (! then <N> then & then |)', () => {
    expect(tsqueryText(parseTsquery("'a' <-> 'b' <2> 'c' | 'x' & !'y'"))).toBe("((('a' <-> 'b') <2> 'c') | ('x' & !('y')))");
    expect(() => parseTsquery("'a' & ")).toThrow(/unexpected tsquery/);
    expect(() => parseTsquery("'a' 'b'")).toThrow(/unexpected tsquery/);
  });
});
