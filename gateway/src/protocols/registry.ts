import { httpModule } from './http/module';
import type { ProtocolModule } from './kit/module';
import { postgresModule } from './postgres/module';
import { sshModule } from './ssh/module';

/**
 * Every protocol the gateway can run, in start order. The server loops over this list
 * (server/gateway.ts); a new protocol is added here and nowhere else in the server.
 */
export const PROTOCOL_MODULES: readonly ProtocolModule[] = [httpModule as unknown as ProtocolModule, postgresModule as unknown as ProtocolModule, sshModule as unknown as ProtocolModule];

export { httpModule, postgresModule, sshModule };
