import { html, type Html } from '../html';
import { countMarks, isRecord, jsonBlock, str, textWithMarks } from './common';
import { estimateCost, formatUsd, usageOf, type PriceTable } from './pricing';

/**
 * An `llm.exchange` transcript (protocols/http/llm: anthropic.ts, openai.ts) as a conversation:
 * system prompt, the turns the client sent, thinking, the answer, tool calls with their inputs
 * and tool results, usage and an estimated cost, and what was masked. The transcript is recorded
 * masked (when the connection masks), so masked values appear as their markers, marked.
 */
export function renderLlmConversation(payload: Record<string, unknown>, prices: PriceTable): Html {
  const request = isRecord(payload.request) ? payload.request : {};
  const response = isRecord(payload.response) ? payload.response : {};
  const model = str(response.model) ?? str(request.model);
  const provider = str(payload.provider) ?? 'llm';
  const turns: Html[] = [];
  if (request.system !== undefined) turns.push(turn('system', 'system prompt', contentOf(request.system)));
  const messages = Array.isArray(request.messages) ? request.messages : Array.isArray(request.input) ? request.input : typeof request.input === 'string' ? [{ role: 'user', content: request.input }] : [];
  if (typeof request.instructions === 'string') turns.push(turn('system', 'instructions', contentOf(request.instructions)));
  for (const m of messages) {
    if (!isRecord(m)) continue;
    const role = str(m.role) ?? str(m.type) ?? 'message';
    turns.push(turn(role === 'system' || role === 'developer' ? 'system' : role === 'assistant' ? 'assistant' : role === 'tool' ? 'tool' : 'user', role, messageBody(m)));
  }
  turns.push(answer(response));
  const masked = payload.masked === true;
  const maskedInTranscript = countMarks(JSON.stringify(payload));
  return html`<section class="gh-llm" aria-label="model call">
<p class="gh-llm-meta"><span class="gh-provider">${provider}</span> <span class="gh-model">${model ?? 'unknown model'}</span>${payload.stream === true ? html` <span class="gh-tag">stream</span>` : ''}${
    str(response.stop_reason) ?? str(response.status) ? html` <span class="gh-stop">stop: ${str(response.stop_reason) ?? str(response.status)}</span>` : ''
  }${masked ? html` <span class="gh-masking">masked transcript${maskedInTranscript > 0 ? ` (${maskedInTranscript} values)` : ''}</span>` : ''}${payload.truncated === true ? html` <span class="gh-warn">truncated at the transcript limit</span>` : ''}</p>
${usageLine(model, response.usage, prices)}
<ol class="gh-turns">${turns}</ol>
${payload.error !== undefined ? html`<div class="gh-error"><strong>error</strong>${jsonBlock(payload.error)}</div>` : ''}
${str(payload.problem) ? html`<p class="gh-warn">${str(payload.problem)}</p>` : ''}
${str(request.problem) ? html`<p class="gh-warn">request: ${str(request.problem)}</p>` : ''}
${isRecord(request.parameters) ? html`<details class="gh-params"><summary>parameters</summary>${jsonBlock(request.parameters)}</details>` : ''}
</section>`;
}

function turn(kind: string, label: string, body: Html): Html {
  return html`<li class="gh-turn gh-turn-${kind}"><div class="gh-role">${label}</div><div class="gh-turn-body">${body}</div></li>`;
}

function usageLine(model: string | undefined, rawUsage: unknown, prices: PriceTable): Html {
  const usage = usageOf(rawUsage);
  if (usage === undefined) return html``;
  const cost = estimateCost(model, usage, prices);
  return html`<p class="gh-usage">tokens: in ${usage.input}, out ${usage.output}${usage.cacheRead > 0 ? `, cache read ${usage.cacheRead}` : ''}${usage.cacheWrite > 0 ? `, cache write ${usage.cacheWrite}` : ''}${
    cost
      ? html` · <span class="gh-cost" title="estimate from list prices for ${cost.priced} (per million tokens); not a bill">≈ ${formatUsd(cost.usd)} (estimate)</span>`
      : html` · <span class="gh-cost">no price for this model</span>`
  }</p>`;
}

/** The assistant's answer: Anthropic content blocks, OpenAI chat choices or Responses output items. */
function answer(response: Record<string, unknown>): Html {
  let body: Html;
  if (Array.isArray(response.content)) body = blocks(response.content);
  else if (Array.isArray(response.choices)) body = html`${response.choices.map((c) => (isRecord(c) ? choice(c) : html``))}`;
  else if (Array.isArray(response.output)) body = blocks(response.output);
  else if (typeof response.partialText === 'string') body = text(response.partialText);
  else body = html`<p class="gh-muted">no answer recorded</p>`;
  return turn('assistant gh-answer', 'assistant (answer)', body);
}

function choice(c: Record<string, unknown>): Html {
  return html`${str(c.reasoning) ? thinking(str(c.reasoning)!) : ''}${str(c.content) ? text(str(c.content)!) : ''}${str(c.refusal) ? html`<p class="gh-refusal">refusal: ${textWithMarks(str(c.refusal)!)}</p>` : ''}${
    Array.isArray(c.tool_calls) ? c.tool_calls.map((t) => (isRecord(t) ? toolCall(str(t.name) ?? (isRecord(t.function) ? str(t.function.name) : undefined), t.input ?? t.arguments ?? (isRecord(t.function) ? t.function.arguments : undefined), str(t.id), t.inputIncomplete === true) : '')) : ''
  }`;
}

function messageBody(m: Record<string, unknown>): Html {
  if (m.type === 'function_call' || m.type === 'function_call_output') return blocks([m]);
  const parts: Html[] = [contentOf(m.content)];
  if (Array.isArray(m.tool_calls)) {
    for (const t of m.tool_calls) if (isRecord(t)) parts.push(toolCall(isRecord(t.function) ? str(t.function.name) : str(t.name), isRecord(t.function) ? t.function.arguments : t.arguments, str(t.id), false));
  }
  if (typeof m.tool_call_id === 'string') parts.unshift(html`<p class="gh-muted">result of ${m.tool_call_id}</p>`);
  return html`${parts}`;
}

/** A message's content: a string or a list of blocks. */
function contentOf(content: unknown): Html {
  if (typeof content === 'string') return text(content);
  if (Array.isArray(content)) return blocks(content);
  if (content === undefined || content === null) return html``;
  return jsonBlock(content);
}

function blocks(list: readonly unknown[]): Html {
  return html`${list.map((b) => (isRecord(b) ? block(b) : typeof b === 'string' ? text(b) : jsonBlock(b)))}`;
}

function block(b: Record<string, unknown>): Html {
  switch (b.type) {
    case 'text':
    case 'input_text':
    case 'output_text':
      return text(str(b.text) ?? '');
    case 'thinking':
      return thinking(str(b.thinking) ?? '');
    case 'redacted_thinking':
      return html`<details class="gh-thinking"><summary>thinking (redacted by the provider)</summary></details>`;
    case 'reasoning':
      return thinking(Array.isArray(b.summary) ? b.summary.map((s) => (isRecord(s) ? (str(s.text) ?? '') : '')).join('\n') : '');
    case 'tool_use':
    case 'server_tool_use':
    case 'mcp_tool_use':
      return toolCall(str(b.name), b.input ?? b.inputJson, str(b.id), b.inputIncomplete === true);
    case 'function_call':
      return toolCall(str(b.name), b.arguments, str(b.call_id) ?? str(b.id), false);
    case 'tool_result':
    case 'web_search_tool_result':
    case 'mcp_tool_result':
    case 'function_call_output':
      return html`<div class="gh-tool-result${b.is_error === true ? ' gh-tool-error' : ''}"><div class="gh-tool-head">tool result${str(b.tool_use_id) ?? str(b.call_id) ? html` for <code>${str(b.tool_use_id) ?? str(b.call_id)}</code>` : ''}${b.is_error === true ? ' (error)' : ''}</div>${contentOf(b.content ?? b.output)}</div>`;
    case 'message':
      return contentOf(b.content);
    case 'image':
    case 'input_image':
    case 'document':
    case 'input_file':
      return html`<p class="gh-muted">[${b.type} not shown]</p>`;
    default:
      return jsonBlock(b);
  }
}

function text(t: string): Html {
  return html`<div class="gh-text">${textWithMarks(t)}</div>`;
}

function thinking(t: string): Html {
  return html`<details class="gh-thinking"><summary>thinking</summary><div class="gh-text">${textWithMarks(t)}</div></details>`;
}

function toolCall(name: string | undefined, input: unknown, id: string | undefined, incomplete: boolean): Html {
  const shown = typeof input === 'string' ? (tryJson(input) ?? input) : input;
  return html`<div class="gh-tool-call"><div class="gh-tool-head">tool call <code class="gh-tool-name">${name ?? '?'}</code>${id ? html` <span class="gh-muted">${id}</span>` : ''}${incomplete ? html` <span class="gh-warn">input incomplete</span>` : ''}</div>${
    typeof shown === 'string' ? text(shown) : jsonBlock(shown)
  }</div>`;
}

function tryJson(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}
