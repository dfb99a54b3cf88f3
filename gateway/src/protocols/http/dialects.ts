import type { HttpConnectionConfig } from '../../config/schema';
import type { Operation } from '../../policy/decision';
import type { HttpDialect, HttpRequestHead, HttpTranscript } from '../kit/http-dialect';
import { AnthropicExchange, isAnthropicMessages } from './llm/anthropic';
import { OpenAiExchange, openAiApiOf } from './llm/openai';

/**
 * The plain HTTP operation of a request: `http:<METHOD>` over the canonical routed path, host,
 * connection and query. Every dialect's requests are at least this; others add their own.
 */
export function httpOperation(head: HttpRequestHead): Operation {
  const attributes: Record<string, string | Readonly<Record<string, string>>> = { method: head.method, path: head.routedPath, host: head.host, connection: head.connectionName, query: head.params };
  if (head.method !== head.wireMethod) attributes.wireMethod = head.wireMethod;
  return {
    protocol: 'http',
    action: `http:${head.method}`,
    attributes,
    summary: `${head.method} ${head.routedPath}${head.shownQuery === '' ? '' : '?' + head.shownQuery}`,
    details: () => head.approvalDetails(attributes),
  };
}

/** Any HTTP API: judged on the head alone (the default dialect). */
export const plainHttpDialect: HttpDialect = {
  name: 'http',
  body: 'none',
  bodyCap: 0,
  decode: httpOperation,
};

/**
 * LLM APIs (Anthropic Messages, OpenAI Chat Completions / Responses): judged as plain HTTP, with a
 * transcript of each model call (`llm.exchange`) built from the bodies as they pass.
 */
export function llmDialect(kind: 'anthropic' | 'openai', transcriptLimit: number): HttpDialect {
  return {
    name: `llm.${kind}`,
    body: 'none',
    bodyCap: 0,
    decode: httpOperation,
    transcript:
      kind === 'anthropic'
        ? (head): HttpTranscript | undefined => (isAnthropicMessages(head.wireMethod, head.routedPath) ? new AnthropicExchange(transcriptLimit) : undefined)
        : (head): HttpTranscript | undefined => {
            const api = openAiApiOf(head.wireMethod, head.routedPath);
            return api === undefined ? undefined : new OpenAiExchange(api, transcriptLimit);
          },
  };
}

/** A connection's dialect, chosen once when the proxy is configured. */
export function dialectFor(connection: HttpConnectionConfig, transcriptLimit: number): HttpDialect {
  return connection.llm === 'anthropic' || connection.llm === 'openai' ? llmDialect(connection.llm, transcriptLimit) : plainHttpDialect;
}
