import type { AwsConnectionConfig, GitConnectionConfig, HttpConnectionConfig, ListenerConfig } from '../../config/schema';
import { prepareAwsConnections } from '../aws/connections';
import { withAwsCredentials } from '../aws/credential-endpoint';
import { gitHttpConnection } from '../git/connection';
import { gitDialect } from '../git/dialect';
import { listen, type Listener } from '../../server/listener';
import type { ProtocolModule } from '../kit/module';
import { createHttpProxy } from './proxy';
import { withWellKnown } from '../../server/well-known';

interface HttpSection {
  readonly listener: ListenerConfig;
  readonly connections: readonly HttpConnectionConfig[];
  /** `aws` connections ride on the HTTP exchange with the aws dialect (protocols/aws). */
  readonly aws: readonly AwsConnectionConfig[];
  /** Git repositories over smart HTTP (protocols/git), served on this listener by path prefix. */
  readonly git: readonly GitConnectionConfig[];
}

/** HTTP (any HTTP API, LLM-aware): always configured, `listeners.http` is required. */
export const httpModule: ProtocolModule<HttpSection, Listener> = {
  name: 'http',
  configure: (config) => ({
    listener: config.listeners.http,
    connections: config.connections.filter((c): c is HttpConnectionConfig => c.kind === 'http'),
    aws: config.connections.filter((c): c is AwsConnectionConfig => c.kind === 'aws'),
    git: config.connections.filter((c): c is GitConnectionConfig => c.kind === 'git'),
  }),
  async start(section, { config, pipeline, secrets, logger, metrics, onActivity, extraMaskingDetectors, wellKnown }) {
    const aws = prepareAwsConnections(section.aws, { secrets, bodyCapBytes: pipeline.bodyCapBytes, defaultMasking: config.masking });
    const proxy = createHttpProxy({
      pipeline,
      connections: [...section.connections, ...aws.http, ...section.git.map(gitHttpConnection)],
      // aws and git connections ride on the exchange with their own dialects.
      dialects: { ...aws.dialects, ...Object.fromEntries(section.git.map((c) => [c.name, gitDialect(c, { secrets })])) },
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
      listener = await listen('http', section.listener, withWellKnown(wellKnown, withAwsCredentials(pipeline, aws, proxy.handler)), secrets);
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
