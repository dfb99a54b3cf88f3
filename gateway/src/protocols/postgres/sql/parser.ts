import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// The Emscripten glue of libpg-query (the real PostgreSQL parser compiled to WebAssembly).
// @ts-ignore -- plain JavaScript without type declarations; its shape is described by PgQueryWasm.
import pgQueryFactory from 'libpg-query/wasm/libpg-query.js';
import { GatehouseError } from '../../../errors';

/**
 * Loads PostgreSQL's own parser (libpg_query, compiled to WebAssembly) once per process.
 *
 * Why not the package's `index.js`: it instantiates the module as a side effect of being imported,
 * reading the .wasm from `__dirname` (which is undefined inside an ES module bundle), and a missing
 * file becomes an unhandled rejection at import time. We call the Emscripten factory ourselves, hand
 * it the bytes through `instantiateWasm`, and so decide when and from where the parser loads.
 *
 * Where the bytes come from, first match wins:
 *  1. `GATEHOUSE_PG_PARSER_WASM` (an explicit path, for unusual layouts);
 *  2. `libpg-query.wasm` beside the running module: in the esbuild bundle that is
 *     `dist/libpg-query.wasm`, which the build copies from the package (gateway/assets.mjs);
 *  3. the installed package (running from source, tests).
 */
export const PG_PARSER_WASM_FILE = 'libpg-query.wasm';

/** The part of the Emscripten module we use. */
interface PgQueryWasm {
  lengthBytesUTF8(text: string): number;
  stringToUTF8(text: string, ptr: number, max: number): void;
  UTF8ToString(ptr: number): string;
  getValue(ptr: number, type: 'i32'): number;
  _malloc(size: number): number;
  _free(ptr: number): void;
  _wasm_parse_query_raw(ptr: number): number;
  _wasm_free_parse_result(ptr: number): void;
}

type PgQueryFactory = (options: Record<string, unknown>) => Promise<PgQueryWasm>;

/** The global WebAssembly API (the project's `lib` setting has no DOM/WebAssembly typings). */
const webAssembly = (globalThis as unknown as {
  WebAssembly: {
    compile(bytes: Uint8Array): Promise<object>;
    instantiate(module: object, imports: unknown): Promise<unknown>;
  };
}).WebAssembly;

/** The compiled module, per file: a replacement instance after a trap only instantiates it (no recompiling). */
const compiled = new Map<string, Promise<object>>();

/** One raw statement of libpg_query's JSON parse tree. */
export interface RawStmt {
  /** `{ SelectStmt: {...} }`: exactly one key, the node type. */
  readonly stmt?: Record<string, unknown>;
  /** Byte offset of the statement in the UTF-8 text (absent when 0). */
  readonly stmt_location?: number;
  /** Byte length (absent or 0: to the end of the text). */
  readonly stmt_len?: number;
}

export interface ParseTree {
  readonly version: number;
  readonly stmts?: readonly RawStmt[];
}

/** A syntax error reported by PostgreSQL's parser; `position` is the 0-based byte offset. */
export class SqlSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
    this.name = 'SqlSyntaxError';
  }
}

/**
 * The parser could not finish a statement for a reason other than its syntax (a statement nested so
 * deeply that the WebAssembly stack overflows), or it is being restarted after such a failure.
 * The statement must be refused like an unparsable one.
 */
export class SqlParserFailure extends Error {
  constructor(
    message: string,
    /** True when the same text would fail again (worth remembering); false for a restart in progress. */
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'SqlParserFailure';
  }
}

/**
 * Parser instances. A trap leaves one instance unusable; with several, the statement that trapped
 * is refused and the others keep parsing everyone else's statements while it is replaced.
 */
export const PG_PARSER_INSTANCES = 3;
const instances: (PgQueryWasm | undefined)[] = new Array<PgQueryWasm | undefined>(PG_PARSER_INSTANCES).fill(undefined);
const loadings: (Promise<void> | undefined)[] = new Array<Promise<void> | undefined>(PG_PARSER_INSTANCES).fill(undefined);
/** Set once a load succeeded: afterwards a missing instance means a restart, not a missing start-up step. */
let everLoaded = false;
/** Restarts after a trap, for logs and tests. */
let restarts = 0;

export function pgParserWasmCandidates(): string[] {
  const candidates: string[] = [];
  const fromEnv = process.env.GATEHOUSE_PG_PARSER_WASM;
  if (fromEnv) candidates.push(fromEnv);
  try {
    candidates.push(fileURLToPath(new URL(`./${PG_PARSER_WASM_FILE}`, import.meta.url)));
  } catch {
    // import.meta.url is not a file URL (unusual hosts): skip this candidate.
  }
  try {
    const glue = createRequire(import.meta.url).resolve('libpg-query/wasm/libpg-query.js');
    candidates.push(join(dirname(glue), PG_PARSER_WASM_FILE));
  } catch {
    // No node_modules (the bundle): the file beside the bundle is the only source.
  }
  return candidates;
}

/** True when at least one parser instance is ready. */
export function isPgParserLoaded(): boolean {
  return instances.some((m) => m !== undefined);
}

/** How many parser instances are ready now. */
export function pgParserInstancesReady(): number {
  return instances.filter((m) => m !== undefined).length;
}

/** How many times a parser instance was replaced after a trap since the process started. */
export function pgParserRestarts(): number {
  return restarts;
}

/**
 * A trap inside the WebAssembly code (stack overflow on absurdly nested input, out-of-bounds access)
 * leaves the instance in an unknown state (Emscripten's own stack pointer is not unwound), so the
 * instance is dropped and a fresh one loaded in the background. The other instances go on parsing.
 */
function replaceAfterTrap(slot: number): void {
  instances[slot] = undefined;
  loadings[slot] = undefined;
  restarts++;
  loadSlot(slot).catch(() => {
    // The next parse that finds no instance starts the load again.
  });
}

function loadSlot(slot: number): Promise<void> {
  if (instances[slot] !== undefined) return Promise.resolve();
  loadings[slot] ??= instantiate().then(
    (module) => {
      instances[slot] = module;
      everLoaded = true;
    },
    (e: unknown) => {
      loadings[slot] = undefined; // a later call may retry (e.g. after the file was put in place)
      throw e;
    },
  );
  return loadings[slot]!;
}

/** Loads every parser instance; idempotent, concurrent callers share the loads. Fails with GH_ERR_SQL_PARSER_UNAVAILABLE. */
export function loadPgParser(): Promise<void> {
  return Promise.all(instances.map((_m, slot) => loadSlot(slot))).then(() => undefined);
}

async function instantiate(): Promise<PgQueryWasm> {
  const candidates = pgParserWasmCandidates();
  const path = candidates.find((p) => existsSync(p));
  if (path === undefined) {
    throw new GatehouseError(
      'GH_ERR_SQL_PARSER_UNAVAILABLE',
      `the PostgreSQL parser (${PG_PARSER_WASM_FILE}) was not found; looked in: ${candidates.join(', ')}. ` +
        `Copy it beside the gateway bundle or set GATEHOUSE_PG_PARSER_WASM.`,
      { details: { candidates } },
    );
  }
  let module = compiled.get(path);
  if (module === undefined) {
    module = webAssembly.compile(readFileSync(path));
    compiled.set(path, module);
    module.catch(() => compiled.delete(path));
  }
  const ready = module;
  const factory = pgQueryFactory as PgQueryFactory;
  // The glue evaluates `__dirname` (unguarded) when it detects Node; inside an ES module bundle that
  // name does not exist. Lend it for the synchronous prologue of the factory only: the value is never
  // used to read anything, because the bytes come through instantiateWasm.
  const scope = globalThis as { __dirname?: string };
  const lent = !('__dirname' in scope);
  if (lent) scope.__dirname = dirname(path);
  // A failed instantiation never calls `done`; race it so the load fails instead of hanging.
  let fail: (e: unknown) => void = () => undefined;
  const failed = new Promise<never>((_resolve, reject) => {
    fail = reject;
  });
  let pending: Promise<PgQueryWasm>;
  try {
    pending = factory({
      instantiateWasm(imports: unknown, done: (instance: unknown) => void) {
        ready.then((m) => webAssembly.instantiate(m, imports)).then((instance) => done(instance), fail);
        return {};
      },
    });
  } finally {
    if (lent) delete scope.__dirname;
  }
  try {
    return await Promise.race([pending, failed]);
  } catch (e) {
    throw new GatehouseError('GH_ERR_SQL_PARSER_UNAVAILABLE', `the PostgreSQL parser at ${path} could not be initialised`, {
      cause: e,
      details: { path },
    });
  }
}

/**
 * Parses SQL text with PostgreSQL's grammar. Synchronous; throws SqlSyntaxError for invalid SQL and
 * GH_ERR_SQL_PARSER_NOT_LOADED before loadPgParser() has finished.
 */
export function parsePg(sql: string): ParseTree {
  let slot = -1;
  for (let i = 0; i < instances.length; i++) {
    if (instances[i] !== undefined) {
      slot = i;
      break;
    }
  }
  if (slot < 0) {
    if (!everLoaded) throw new GatehouseError('GH_ERR_SQL_PARSER_NOT_LOADED', 'the PostgreSQL parser is not loaded (await loadSqlParser() at start-up)');
    void loadPgParser().catch(() => undefined);
    throw new SqlParserFailure('the SQL parser is restarting; try again', false);
  }
  try {
    return parseWith(instances[slot]!, sql);
  } catch (e) {
    if (e instanceof SqlSyntaxError) throw e;
    replaceAfterTrap(slot);
    throw new SqlParserFailure('the statement is too complex for the SQL parser (nested too deeply)', true);
  }
}

function parseWith(m: PgQueryWasm, sql: string): ParseTree {
  const size = m.lengthBytesUTF8(sql) + 1;
  const textPtr = m._malloc(size);
  let resultPtr = 0;
  try {
    m.stringToUTF8(sql, textPtr, size);
    resultPtr = m._wasm_parse_query_raw(textPtr);
    if (!resultPtr) throw new SqlSyntaxError('the parser ran out of memory', 0);
    // struct PgQueryParseResult { char *parse_tree; char *stderr_buffer; PgQueryError *error; }
    const treePtr = m.getValue(resultPtr, 'i32');
    const errorPtr = m.getValue(resultPtr + 8, 'i32');
    if (errorPtr) {
      // struct PgQueryError { char *message; char *funcname; char *filename; int lineno; int cursorpos; ... }
      const messagePtr = m.getValue(errorPtr, 'i32');
      const cursor = m.getValue(errorPtr + 16, 'i32');
      throw new SqlSyntaxError(messagePtr ? m.UTF8ToString(messagePtr) : 'syntax error', cursor > 0 ? cursor - 1 : 0);
    }
    if (!treePtr) throw new SqlSyntaxError('the parser returned no tree', 0);
    return JSON.parse(m.UTF8ToString(treePtr)) as ParseTree;
  } finally {
    m._free(textPtr);
    if (resultPtr) m._wasm_free_parse_result(resultPtr);
  }
}
