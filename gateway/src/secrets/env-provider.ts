import { secretUnavailable } from './reference';
import type { SchemeProvider } from './scheme-provider';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `env:NAME`: reads the process environment (or the given one, for tests). Never cached: reads are free. */
export function envSchemeProvider(env: NodeJS.ProcessEnv = process.env): SchemeProvider {
  const validNames = new Set<string>();
  const read = (name: string, ref: string) => {
    if (!validNames.has(name)) {
      if (!ENV_NAME.test(name)) throw secretUnavailable(ref, 'not a valid environment variable name');
      if (validNames.size < 4096) validNames.add(name);
    }
    const value = env[name];
    if (value === undefined) throw secretUnavailable(ref, `environment variable ${name} is not set`);
    if (value === '') throw secretUnavailable(ref, `environment variable ${name} is empty`);
    return { value };
  };
  return {
    cacheTtlMs: 0,
    fetch: async (name, ref) => read(name, ref),
    fetchSync: read,
  };
}
