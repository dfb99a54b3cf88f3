import { SqlSessionSearch } from '../../../gateway/src/state/session-search';

// Without event rows there are no decision bits or words: those filters must be refused, not
// answered with nothing (which would look like "no such session").
describe('SqlSessionSearch without the event index', () => {
  const index = { store: {} as never, init: async () => {}, flush: async () => {} };

  it('answers every filter when events are indexed', () => {
    const search = new SqlSessionSearch({ ...index, indexEvents: true });
    expect(search.supports.has('decision')).toBe(true);
    expect(search.supports.has('q')).toBe(true);
  });

  it('refuses the decision and full-text filters when events are not indexed', async () => {
    const search = new SqlSessionSearch({ ...index, indexEvents: false });
    expect(search.supports.has('decision')).toBe(false);
    expect(search.supports.has('q')).toBe(false);
    expect(search.supports.has('user')).toBe(true);
    await expect(search.search({ q: 'select' }, { limit: 10 }, { scope: 'all' })).rejects.toMatchObject({ code: 'GH_ERR_REQUEST_INVALID' });
  });
});
