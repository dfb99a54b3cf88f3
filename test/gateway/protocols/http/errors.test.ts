import { ERROR_CODES, GatehouseError, type ErrorCode } from '../../../../gateway/src/errors';
import { DECISION_CODES } from '../../../../gateway/src/policy/decision';
import { HttpRefusal } from '../../../../gateway/src/protocols/kit/http-dialect';
import { dialectRefusalError, errorBody, httpStatusFor, refusalError } from '../../../../gateway/src/protocols/http/errors';

/** protocols/http/errors.ts: the one place a GatehouseError becomes an HTTP answer. */
describe('HTTP errors', () => {
  it('answers every error code with its registered status and a JSON body naming the code', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      if (code === 'GH_ERR_VERIFY_FAILED') continue; // a CLI exit code, never an HTTP answer
      const status = httpStatusFor(code);
      expect([code, status >= 400 && status < 600]).toEqual([code, true]);
      const body = JSON.parse(errorBody(new GatehouseError(code, 'why'))) as { type: string; error: { code: string; message: string; type: string } };
      expect(body).toMatchObject({ type: 'error', error: { code, message: 'why' } });
    }
  });

  it.each([
    ['GH_ERR_TOKEN_EXPIRED', 'authentication_error'],
    ['GH_ERR_POLICY_DENIED', 'permission_error'],
    ['GH_ERR_NO_ROUTE', 'not_found_error'],
    ['GH_ERR_TARGET_AMBIGUOUS', 'invalid_request_error'],
    ['GH_ERR_MESSAGE_TOO_LARGE', 'request_too_large'],
    ['GH_ERR_UPSTREAM_TIMEOUT', 'timeout_error'],
    ['GH_ERR_RECORDING_FAILED', 'api_error'],
  ] as const)('%s has the API error type %s SDKs know', (code, type) => {
    expect((JSON.parse(errorBody(new GatehouseError(code, 'x'))) as { error: { type: string } }).error.type).toBe(type);
  });

  it('answers a refusal with the error of its decision, approvals keeping their own', () => {
    expect(refusalError({ effect: 'deny', code: DECISION_CODES.forbid, reasons: [], message: 'no' })).toMatchObject({ code: 'GH_ERR_POLICY_DENIED', message: 'no' });
    expect(refusalError({ effect: 'deny', code: DECISION_CODES.approvalExpired, reasons: [], message: 'late' }).code).toBe('GH_ERR_APPROVAL_EXPIRED');
    expect(dialectRefusalError(new HttpRefusal(DECISION_CODES.httpBodyTooLarge, 'GH_ERR_MESSAGE_TOO_LARGE', 'too big')).status).toBe(413);
  });
});
