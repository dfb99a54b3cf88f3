import { isRecord, num } from './common';

/**
 * Cost of one model call, ESTIMATED from the usage tokens the provider reported and a price
 * table. The defaults are the vendors' published list prices per million tokens (Anthropic's
 * and OpenAI's pricing pages, as of late 2025); they ignore discounts, batch pricing, regional
 * or long-context surcharges and contract rates. A deployment overrides or extends them
 * (`pricesWith`), and the page always labels the figure as an estimate.
 */
export interface ModelPrice {
  /** USD per million input tokens. */
  readonly input: number;
  /** USD per million output tokens. */
  readonly output: number;
  /** USD per million tokens written to the prompt cache. @default 1.25 × input (Anthropic's 5-minute cache) */
  readonly cacheWrite?: number;
  /** USD per million tokens read from the prompt cache. @default 0.1 × input */
  readonly cacheRead?: number;
}

/** Keyed by model-name prefix; the longest matching prefix wins (`claude-sonnet-4-5-20250929` → `claude-sonnet-4`). */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

export const DEFAULT_PRICES: PriceTable = {
  'claude-opus-4-5': { input: 5, output: 25 },
  'claude-opus-4': { input: 15, output: 75 },
  'claude-sonnet': { input: 3, output: 15 },
  'claude-haiku-4': { input: 1, output: 5 },
  'claude-3-5-haiku': { input: 0.8, output: 4 },
  'claude-3-haiku': { input: 0.25, output: 1.25 },
  'gpt-4o-mini': { input: 0.15, output: 0.6, cacheRead: 0.075 },
  'gpt-4o': { input: 2.5, output: 10, cacheRead: 1.25 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6, cacheRead: 0.1 },
  'gpt-4.1': { input: 2, output: 8, cacheRead: 0.5 },
  'gpt-5-mini': { input: 0.25, output: 2, cacheRead: 0.025 },
  'gpt-5': { input: 1.25, output: 10, cacheRead: 0.125 },
};

/** The defaults with a deployment's prices laid over them (from configuration). */
export function pricesWith(overrides: PriceTable | undefined): PriceTable {
  return { ...DEFAULT_PRICES, ...(overrides ?? {}) };
}

export function priceFor(model: string | undefined, table: PriceTable): { prefix: string; price: ModelPrice } | undefined {
  if (model === undefined) return undefined;
  let best: string | undefined;
  for (const prefix of Object.keys(table)) if (model.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
  return best === undefined ? undefined : { prefix: best, price: table[best]! };
}

export interface TokenUsage {
  readonly input: number;
  readonly output: number;
  readonly cacheWrite: number;
  readonly cacheRead: number;
}

/**
 * Usage in one vocabulary. Anthropic: input_tokens excludes cached tokens, reported apart.
 * OpenAI: prompt_tokens (chat) or input_tokens (responses) include cached_tokens, so those are
 * taken out of the input and priced as cache reads.
 */
export function usageOf(usage: unknown): TokenUsage | undefined {
  if (!isRecord(usage)) return undefined;
  const cacheWrite = num(usage.cache_creation_input_tokens) ?? 0;
  let cacheRead = num(usage.cache_read_input_tokens) ?? 0;
  let input = num(usage.input_tokens) ?? num(usage.prompt_tokens);
  const output = num(usage.output_tokens) ?? num(usage.completion_tokens);
  if (input === undefined && output === undefined) return undefined;
  const details = isRecord(usage.prompt_tokens_details) ? usage.prompt_tokens_details : isRecord(usage.input_tokens_details) ? usage.input_tokens_details : undefined;
  const cached = details ? num(details.cached_tokens) : undefined;
  if (cached !== undefined && cacheRead === 0) {
    cacheRead = cached;
    input = Math.max(0, (input ?? 0) - cached);
  }
  return { input: input ?? 0, output: output ?? 0, cacheWrite, cacheRead };
}

/** Estimated USD, or undefined when the model has no price. */
export function estimateCost(model: string | undefined, usage: TokenUsage, table: PriceTable): { usd: number; priced: string } | undefined {
  const p = priceFor(model, table);
  if (p === undefined) return undefined;
  const { input, output } = p.price;
  const cacheWrite = p.price.cacheWrite ?? input * 1.25;
  const cacheRead = p.price.cacheRead ?? input * 0.1;
  const usd = (usage.input * input + usage.output * output + usage.cacheWrite * cacheWrite + usage.cacheRead * cacheRead) / 1_000_000;
  return { usd, priced: p.prefix };
}

export function formatUsd(usd: number): string {
  return usd >= 0.01 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(4)}`;
}
