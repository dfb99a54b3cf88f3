import { isGatehouseError } from '../../../../gateway/src/errors';
import { formMethodOverride, isFormBody, methodOverrideOf } from '../../../../gateway/src/protocols/http/method-override';

function code(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    return isGatehouseError(e) ? e.code : String(e);
  }
}

describe('method overrides', () => {
  it.each([
    [{ 'x-http-method-override': 'DELETE' }, {}, 'DELETE'],
    [{ 'x-http-method': 'put' }, {}, 'PUT'],
    [{ 'x-method-override': ' patch ' }, {}, 'PATCH'],
    [{}, { _method: 'delete' }, 'DELETE'],
    [{ 'x-http-method-override': 'DELETE' }, { _method: 'DELETE' }, 'DELETE'],
    [{}, {}, undefined],
    [{ 'x-other': 'DELETE' }, { method: 'DELETE' }, undefined],
    [{ x_http_method_override: 'DELETE' }, {}, 'DELETE'],
    [{ 'x_http-method': 'put' }, {}, 'PUT'],
  ])('%j %j → %s', (headers, params, expected) => {
    expect(methodOverrideOf(headers, params as Record<string, string>)).toBe(expected);
  });

  it.each([
    [{ 'x-http-method-override': 'DELETE' }, { _method: 'PUT' }],
    [{ 'x-http-method-override': 'DELETE, PUT' }, {}],
    [{ 'x-http-method-override': 'DE LETE' }, {}],
    [{ 'x-http-method': '' }, {}],
  ])('%j %j is refused', (headers, params) => {
    expect(code(() => methodOverrideOf(headers, params as Record<string, string>))).toBe('GH_ERR_METHOD_OVERRIDE');
  });

  it('reads _method in url-encoded and multipart form bodies', () => {
    expect(isFormBody('application/x-www-form-urlencoded; charset=utf-8')).toBe(true);
    expect(isFormBody('multipart/form-data; boundary=x')).toBe(true);
    expect(isFormBody('application/json')).toBe(false);
    const form = 'application/x-www-form-urlencoded';
    expect(formMethodOverride(form, Buffer.from('a=1&_method=delete'), true)).toBe('DELETE');
    expect(formMethodOverride(form, Buffer.from('a=1&%5Fmethod=put'), true)).toBe('PUT');
    expect(formMethodOverride(form, Buffer.from('a=1&b=_method'), true)).toBeUndefined();
    const mp = 'multipart/form-data; boundary=XX';
    const body = '--XX\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--XX--\r\n';
    expect(formMethodOverride(mp, Buffer.from(body), true)).toBe('DELETE');
    expect(code(() => formMethodOverride(form, Buffer.from('a=1'), false))).toBe('GH_ERR_METHOD_OVERRIDE');
    expect(code(() => formMethodOverride(form, Buffer.from('_method=put&_method=delete'), true))).toBe('GH_ERR_METHOD_OVERRIDE');
  });
});
