import { GatehouseError, toGatehouseError } from '../errors';
import { plainJson } from './chain';
import { EVENT_CATALOG, isEventType, type EventType } from './event-catalog';
import { IsoTimeFormatter } from './iso-time';

/** What the builder reads of a session: its pre-serialized blocks and its chain position. */
export interface LineSession {
  /** `JSON.stringify(sessionId)`, serialized once per session. */
  readonly sessionJson: string;
  /** Written in seq 0 only (the chain binds every later event to it). */
  readonly principalJson?: string;
  readonly connectionJson?: string;
  /** The seq this event gets. */
  readonly seq: number;
  /** The previous event's hash (the genesis hash for seq 0). */
  readonly prev: string;
}

/**
 * Builds an event's canonical line (chain.ts: members in the fixed order seq, type, code, time,
 * session, principal, connection, requestId, payload, prev; values as JSON.stringify writes
 * them) piecewise from pre-serialized parts, without building an object: the recorder's hot path
 * (every event) and crash recovery use it, so both write the same bytes. `canonicalEventLine` in
 * chain.ts builds the same line from a parsed event (verifier, tools).
 */
export class EventLineBuilder {
  private readonly isoTime = new IsoTimeFormatter();
  private readonly typePrefixes = new Map<string, string>();

  /** @param nowMs the clock in milliseconds (every event asks; no Date is built). */
  constructor(private readonly nowMs: () => number) {}

  /** The canonical line; throws a GatehouseError when the type is unregistered or the payload not serializable. */
  build(s: LineSession, type: EventType, payload: object, requestId: string | undefined): string {
    try {
      const seq = s.seq;
      let c = '{"seq":' + seq + this.typeAndCode(type) + ',"time":"' + this.isoTime.format(this.nowMs()) + '","session":' + s.sessionJson;
      if (s.principalJson !== undefined && seq === 0) c += ',"principal":' + s.principalJson;
      if (s.connectionJson !== undefined) c += ',"connection":' + s.connectionJson;
      if (requestId !== undefined) c += ',"requestId":' + JSON.stringify(requestId);
      return c + ',"payload":' + (plainJson(payload) ?? '{}') + ',"prev":"' + s.prev + '"}';
    } catch (e) {
      throw toGatehouseError(e, 'GH_ERR_RECORDING_FAILED');
    }
  }

  /** `,"type":…,"code":…` for a type, cached. Throws GH_ERR_EVENT_UNREGISTERED for a type not in the catalog. */
  private typeAndCode(type: EventType): string {
    let prefix = this.typePrefixes.get(type);
    if (prefix === undefined) {
      // The types keep unregistered types out; this catches a caller that got around them.
      if (!isEventType(type)) throw new GatehouseError('GH_ERR_EVENT_UNREGISTERED', `event type ${JSON.stringify(String(type))} is not in the event catalog`);
      prefix = ',"type":' + JSON.stringify(type) + ',"code":' + JSON.stringify(EVENT_CATALOG[type].code);
      this.typePrefixes.set(type, prefix);
    }
    return prefix;
  }
}
