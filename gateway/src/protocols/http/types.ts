/** The logging calls the HTTP proxy makes; a pino logger fits. Never given secrets or tokens. */
export interface ProxyLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Optional metrics hooks (the integrator adapts them to prom-client). */
export interface HttpProxyMetrics {
  /** One finished exchange: status 0 when no response reached the client. */
  observeRequest(connection: string, method: string, status: number, seconds: number): void;
  /** A refusal or failure by code (`GH_ERR_POLICY_DENIED`, `GH_ERR_UPSTREAM_UNAVAILABLE`, ...). */
  observeError?(connection: string, code: string): void;
}
