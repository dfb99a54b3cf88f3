export { createHttpProxy, bearerToken, type HttpProxy, type HttpProxyOptions } from './proxy';
export type { HttpProxyMetrics, ProxyLogger } from './types';
