/**
 * The HTTP protocol: a reverse proxy that drives the shared pipeline for any HTTP API, with LLM
 * awareness for Anthropic Messages and OpenAI Chat Completions / Responses.
 *
 * Wiring (the integrator owns the listener and TLS):
 *
 *   const proxy = createHttpProxy({ pipeline, connections, logger, metrics, sessionIdleSeconds });
 *   const server = https.createServer({ cert, key }, proxy.handler);   // or http.createServer
 *   ...
 *   // shutdown: stop accepting, let in-flight exchanges drain, then
 *   await new Promise((r) => server.close(r));
 *   await proxy.close();
 *
 * Nothing else needs wiring: socket-keyed sessions follow `req.socket`'s `close` event, and an
 * unref'd timer closes idle header-keyed sessions. WebSocket/`Upgrade` requests are not proxied.
 */
export { createHttpProxy, bearerToken, type HttpProxy, type HttpProxyOptions } from './proxy';
export type { HttpProxyMetrics, ProxyLogger } from './types';
