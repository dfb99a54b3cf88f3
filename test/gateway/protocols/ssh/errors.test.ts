import { answerOnChannel, FAILED_EXIT_STATUS, REFUSED_EXIT_STATUS, sshErrorLine, sshReason, sshRefusalReason } from '../../../../gateway/src/protocols/ssh/errors';
import { REFUSED_EXIT_STATUS as FROM_SERVER } from '../../../../gateway/src/protocols/ssh/server';
import { DECISION_CODES } from '../../../../gateway/src/policy/decision';

/** A channel that keeps what it was told, in order (the shape of ssh2's ServerChannel that answerOnChannel uses). */
function channel() {
  const said: string[] = [];
  return { said, stderr: { write: (t: string) => said.push(`stderr ${JSON.stringify(t)}`) }, exit: (s: number) => said.push(`exit ${s}`), end: () => said.push('end') };
}

describe('ssh native errors', () => {
  it('a refused channel: 126 ("cannot execute"), the server module exports the same status', () => {
    expect(REFUSED_EXIT_STATUS).toBe(126);
    expect(FROM_SERVER).toBe(REFUSED_EXIT_STATUS);
    expect(FAILED_EXIT_STATUS).toBe(1);
  });

  it('names the stable code, and for a refusal the error and decision codes', () => {
    expect(sshReason({ code: 'GH_ERR_SHUTTING_DOWN', message: 'the gateway is shutting down' })).toBe('GH_ERR_SHUTTING_DOWN: the gateway is shutting down');
    expect(sshRefusalReason({ effect: 'deny', code: DECISION_CODES.forbid, reasons: ['no-rm'], message: 'rm -rf is not allowed' })).toBe('GH_ERR_POLICY_DENIED (policy.forbid): rm -rf is not allowed');
    expect(sshRefusalReason({ effect: 'deny', code: DECISION_CODES.approvalExpired, reasons: [], message: 'nobody approved' })).toBe('GH_ERR_APPROVAL_EXPIRED (approval.expired): nobody approved');
    expect(sshErrorLine('GH_ERR_X: y')).toBe('gatehouse: GH_ERR_X: y\r\n');
  });

  it('tells the channel why, then the status, then ends it; a channel ended mid-output gets a fresh line', () => {
    const refused = channel();
    answerOnChannel(refused, 'GH_ERR_POLICY_DENIED (policy.forbid): no');
    expect(refused.said).toEqual(['stderr "gatehouse: GH_ERR_POLICY_DENIED (policy.forbid): no\\r\\n"', 'exit 126', 'end']);
    const ended = channel();
    answerOnChannel(ended, 'GH_ERR_SESSION_EXPIRED: the sign-in expired', { lead: true });
    expect(ended.said[0]).toBe('stderr "\\r\\ngatehouse: GH_ERR_SESSION_EXPIRED: the sign-in expired\\r\\n"');
    const failed = channel();
    answerOnChannel(failed, 'GH_ERR_MASKING_FAILED: the output could not be masked; the channel is closed', { status: FAILED_EXIT_STATUS });
    expect(failed.said.slice(1)).toEqual(['exit 1', 'end']);
  });
});
