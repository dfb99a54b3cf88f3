import type { Principal } from '../identity/principal';
import { newId } from '../ids';
import type { AdminEventType, PayloadOf } from '../recording/event-catalog';
import { principalRef } from '../recording/events';
import type { Recorder } from '../recording/recorder-types';

/**
 * Admin API actions in the tamper-evident record. Each action is a short session of its own
 * (`protocol: admin`, the caller's principal in `session.start`, one `admin.*` event, then
 * `session.end`), like an authentication failure on the data path: an auditor finds who read,
 * exported or decided what in the same verified log as the traffic itself.
 *
 * The action's event is stored durably BEFORE the action is served (strict or buffered alike):
 * an export or a decision that cannot be recorded is refused, never served unrecorded.
 */
export interface AdminAudit {
  record<T extends AdminEventType>(type: T, principal: Principal | undefined, payload: PayloadOf<T>, address: string | undefined): Promise<void>;
}

export function createAdminAudit(recorder: Pick<Recorder, 'openSession'>): AdminAudit {
  return {
    async record(type, principal, payload, address) {
      const session = await recorder.openSession({
        sessionId: newId('adm'),
        protocol: 'admin',
        principal: principal === undefined ? undefined : principalRef(principal),
        connection: 'admin',
        client: { address: address ?? null },
      });
      try {
        await session.append(type, payload, { durable: true });
      } finally {
        await session.end({ reason: principal === undefined ? 'auth_failed' : 'closed' });
      }
    },
  };
}
