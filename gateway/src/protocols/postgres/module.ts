import type { ListenerConfig, PostgresConnectionConfig } from '../../config/schema';
import { readListenerPem } from '../kit/upstream-tls';
import type { ProtocolModule } from '../kit/module';
import { startPostgresProxy, type PostgresProxy } from './server';
import { onParserEvent, rateLimitedParserLog } from './sql/parser-events';

interface PostgresSection {
  readonly listener: ListenerConfig;
  readonly connections: readonly PostgresConnectionConfig[];
}

/** PostgreSQL: started when `listeners.postgres` is configured. */
export const postgresModule: ProtocolModule<PostgresSection, PostgresProxy> = {
  name: 'postgres',
  configure: (config) =>
    config.listeners.postgres === undefined
      ? undefined
      : { listener: config.listeners.postgres, connections: config.connections.filter((c): c is PostgresConnectionConfig => c.kind === 'postgres') },
  async start(section, { config, pipeline, secrets, logger, metrics, onActivity, extraMaskingDetectors, wellKnown }) {
    // SQL the parser could not classify: counted, and logged at most once per reason every 10 s.
    const parserObservers = [
      onParserEvent((reason) => metrics.sqlParseFailure(reason)),
      onParserEvent(
        rateLimitedParserLog((reason, detail, suppressed) => {
          const line = { reason, ...(detail === undefined ? {} : { detail }), suppressedSinceLast: suppressed };
          if (reason === 'syntax_error') logger.debug(line, 'postgres: a statement did not parse');
          else logger.warn(line, 'postgres: a statement could not be classified');
        }),
      ),
    ];
    const stopObservers = () => {
      for (const stop of parserObservers) stop();
    };
    let proxy: PostgresProxy;
    try {
      const tls = section.listener.tls ? { cert: await readListenerPem(section.listener.tls.cert, secrets), key: await readListenerPem(section.listener.tls.key, secrets) } : undefined;
      proxy = await startPostgresProxy({
        pipeline,
        connections: section.connections,
        listener: section.listener,
        tls,
        logger,
        defaultMasking: config.masking,
        extraMaskingDetectors,
        onActivity,
        metrics: metrics.postgres,
      });
    } catch (e) {
      stopObservers();
      throw e;
    }
    // What clients connect to: the port bound (a configured 0 is the OS's choice).
    wellKnown.bind({ postgres: { port: proxy.port } });
    return {
      handle: proxy,
      endpoint: `postgres://${proxy.address}:${proxy.port}${proxy.tls ? ' (TLS)' : ''}`,
      metrics: () => ({ connections: proxy.connections() }),
      close: async (graceMs) => {
        await proxy.close(graceMs);
        stopObservers();
      },
    };
  },
};
