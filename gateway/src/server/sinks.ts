import type { SinkConfig } from '../config/schema';
import type { LogSink } from '../recording/sinks/sink';

/**
 * The log sink named by the configuration. Cloud SDKs are imported only for the sink in use, so a
 * filesystem deployment never loads them.
 */
export async function createSink(config: SinkConfig): Promise<LogSink> {
  switch (config.type) {
    case 'fs': {
      const { FsLogSink } = await import('../recording/sinks/fs/fs-sink');
      return new FsLogSink(config.path);
    }
    case 's3': {
      const { S3LogSink } = await import('../recording/sinks/s3/s3-sink');
      return new S3LogSink({ bucket: config.bucket, prefix: config.prefix, region: config.region, endpoint: config.endpoint, forcePathStyle: config.forcePathStyle });
    }
    case 'azure-blob': {
      const { AzureBlobLogSink } = await import('../recording/sinks/azure-blob/azure-blob-sink');
      const { azureDefaultCredential } = await import('../recording/sinks/azure-blob/azure-credential');
      return new AzureBlobLogSink({ endpoint: config.endpoint, container: config.container, prefix: config.prefix, credential: azureDefaultCredential() });
    }
    case 'gcs': {
      const { GcsLogSink } = await import('../recording/sinks/gcs/gcs-sink');
      return new GcsLogSink({ bucket: config.bucket, prefix: config.prefix, apiEndpoint: config.apiEndpoint });
    }
  }
}

/** Where a development signing key may be kept: beside a filesystem log, never inside a bucket. */
export function localLogRoot(config: SinkConfig): string | undefined {
  return config.type === 'fs' ? config.path : undefined;
}
