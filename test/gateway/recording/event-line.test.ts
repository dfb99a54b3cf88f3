import { canonicalEventLine, genesisHash } from '../../../gateway/src/recording/chain';
import type { EventType } from '../../../gateway/src/recording/event-catalog';
import { EventLineBuilder } from '../../../gateway/src/recording/event-line';

const T = Date.UTC(2026, 0, 15, 10, 0, 0, 5);
const principal = { issuer: 'https://idp.example', subject: 'u-1', name: 'ada', groups: ['dev'], kind: 'human' };

describe('EventLineBuilder', () => {
  const builder = new EventLineBuilder(() => T);
  const session = { sessionJson: JSON.stringify('s"1'), principalJson: JSON.stringify(principal), connectionJson: JSON.stringify('api'), prev: genesisHash('s"1') };

  it('writes exactly the canonical line chain.ts defines, principal on seq 0 only', () => {
    const payload = { protocol: 'http', client: { address: '127.0.0.1', 'ü': '\u2028' } };
    expect(builder.build({ ...session, seq: 0 }, 'session.start', payload, undefined)).toBe(
      canonicalEventLine({ seq: 0, type: 'session.start', code: 'GH1000I', time: '2026-01-15T10:00:00.005Z', session: 's"1', principal, connection: 'api', payload, prev: session.prev }),
    );
    const later = builder.build({ ...session, seq: 3, prev: 'ab'.repeat(32) }, 'session.end', { reason: 'crashed' }, 'r-1');
    expect(later).toBe(
      canonicalEventLine({ seq: 3, type: 'session.end', code: 'GH1001I', time: '2026-01-15T10:00:00.005Z', session: 's"1', connection: 'api', requestId: 'r-1', payload: { reason: 'crashed' }, prev: 'ab'.repeat(32) }),
    );
  });

  it('refuses a type outside the catalog and a payload that is not JSON', () => {
    expect(() => builder.build({ ...session, seq: 1 }, 'made.up' as EventType, {}, undefined)).toThrow(expect.objectContaining({ code: 'GH_ERR_EVENT_UNREGISTERED' }));
    expect(() => builder.build({ ...session, seq: 1 }, 'session.end', { reason: 1n } as never, undefined)).toThrow(expect.objectContaining({ code: 'GH_ERR_RECORDING_FAILED' }));
  });
});
