import type { HttpConnectionConfig, ListenerConfig } from '../../config/schema';
import { listen, type Listener } from '../../server/listener';
import type { ProtocolModule } from '../kit/module';
import { createHttpProxy } from './proxy';
import { withWellKnown } from '../../server/well-known';

interface HttpSection {
  readonly listener: ListenerConfig;
  readonly connections: readonly HttpConnectionConfig[];
}

/** HTTP (any HTTP API, LLM-aware): always configured, `listeners.http` is required. */
export const httpModule: ProtocolModule<HttpSection, Listener> = {
  name: 'http',
  configure: (config) => ({ listener: config.listeners.http, connections: config.connections.filter((c): c is HttpConnectionConfig => c.kind === 'http') }),
  async start(section, { config, pipeline, secrets, logger, metrics, onActivity, extraMaskingDetectors }) {
    const proxy = createHttpProxy({
      pipeline,
      connections: section.connections,
      logger,
      metrics: {
        observeRequest: (connection, _method, status, seconds) => {
          metrics.requestCompleted('http', connection, status);
          if (status > 0) metrics.upstreamLatency(connection, seconds * 1000);
        },
      },
      sessionIdleSeconds: config.recording.sessionIdleSeconds,
      sessionMaxSeconds: config.recording.sessionMaxSeconds,
      // Connections without their own masking block take the top-level one (docs/masking.md).
      defaultMasking: config.masking,
      extraMaskingDetectors,
      onActivity,
    });
    let listener: Listener;
    try {
      // Agents reach this listener (the admin one is often kept internal): it publishes the login document.
      listener = await listen('http', section.listener, withWellKnown(config, proxy.handler), secrets);
    } catch (e) {
      await proxy.close();
      throw e;
    }
    return {
      handle: listener,
      endpoint: `${listener.tls ? 'https' : 'http'}://${listener.address}:${listener.port}`,
      metrics: () => ({ connections: proxy.sessionCount }),
      close: async (graceMs) => {
        await listener.close(graceMs);
        await proxy.close();
      },
    };
  },
};
