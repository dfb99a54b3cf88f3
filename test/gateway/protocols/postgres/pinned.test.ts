import { GatehouseError } from '../../../../gateway/src/errors';
import { clientStartupParameters, parseBool, pinnedViolation, splitOptions, upstreamStartupParameters, watchedParameters } from '../../../../gateway/src/protocols/postgres/pinned';

const refusal = (f: () => unknown): GatehouseError => {
  try {
    f();
  } catch (e) {
    return e as GatehouseError;
  }
  throw new Error('not refused');
};

describe('pinned lexing parameters', () => {
  test('parseBool follows PostgreSQL (unique prefixes; "o" and "of" are not booleans)', () => {
    for (const v of ['on', 'ON', 'true', 't', 'tr', 'yes', 'y', '1']) expect(parseBool(v)).toBe(true);
    for (const v of ['off', 'false', 'f', 'no', 'n', '0']) expect(parseBool(v)).toBe(false);
    for (const v of ['o', 'of', '', 'maybe', '2']) expect(parseBool(v)).toBeUndefined();
  });

  test('options are split as the server splits them (whitespace, backslash escapes)', () => {
    expect(splitOptions('-c a=b  --c-d=e\\ f')).toEqual(['-c', 'a=b', '--c-d=e f']);
  });

  test('pinned values in any accepted spelling pass; the rest are refused naming the parameter', () => {
    expect(clientStartupParameters({ user: 'u', database: 'd', client_encoding: 'utf-8', application_name: 'psql', DateStyle: 'ISO', options: '-c standard_conforming_strings=on --backslash-quote=safe_encoding' })).toEqual({ application_name: 'psql', DateStyle: 'ISO' });
    expect(clientStartupParameters({ CLIENT_ENCODING: 'Unicode' })).toEqual({});
    for (const [params, name] of [
      [{ client_encoding: 'SJIS' }, 'client_encoding'],
      [{ client_encoding: 'SQL_ASCII' }, 'client_encoding'],
      [{ standard_conforming_strings: 'off' }, 'standard_conforming_strings'],
      [{ backslash_quote: 'on' }, 'backslash_quote'],
      [{ options: '-cclient_encoding=GBK' }, 'client_encoding'],
      [{ options: '-c search_path=evil' }, 'search_path'],
      [{ options: '-c role=admin' }, 'role'],
      [{ options: '-B 10' }, '-B'],
      [{ replication: 'database' }, 'replication'],
    ] as const) {
      const e = refusal(() => clientStartupParameters(params));
      expect(e.code).toBe('GH_ERR_PG_PARAMETER_PINNED');
      expect(e.message).toContain(name);
    }
  });

  test('upstream parameters carry the pinned values, and read-only when asked; a client cannot turn read-only off', () => {
    expect(upstreamStartupParameters({ application_name: 'x' }, false)).toEqual({ application_name: 'x', client_encoding: 'UTF8', standard_conforming_strings: 'on', backslash_quote: 'safe_encoding' });
    expect(upstreamStartupParameters({}, true).default_transaction_read_only).toBe('on');
    expect(upstreamStartupParameters({ default_transaction_read_only: 'on' }, false).default_transaction_read_only).toBe('on');
    expect(refusal(() => upstreamStartupParameters({ default_transaction_read_only: 'off' }, true)).message).toContain('default_transaction_read_only');
  });

  test('a ParameterStatus is a violation only for a watched parameter with another value', () => {
    const status = (name: string, value: string): Buffer => Buffer.from(`${name}\0${value}\0`);
    expect(pinnedViolation(status('client_encoding', 'UTF8'), watchedParameters(false))).toBeUndefined();
    expect(pinnedViolation(status('client_encoding', 'SJIS'), watchedParameters(false))).toEqual({ name: 'client_encoding', value: 'SJIS' });
    expect(pinnedViolation(status('standard_conforming_strings', 'off'), watchedParameters(false))).toEqual({ name: 'standard_conforming_strings', value: 'off' });
    expect(pinnedViolation(status('default_transaction_read_only', 'off'), watchedParameters(false))).toBeUndefined();
    expect(pinnedViolation(status('default_transaction_read_only', 'off'), watchedParameters(true))).toEqual({ name: 'default_transaction_read_only', value: 'off' });
    expect(pinnedViolation(status('TimeZone', 'UTC'), watchedParameters(true))).toBeUndefined();
  });
});
