import type { Principal } from '../../../gateway/src/identity/principal';
import type { Operation } from '../../../gateway/src/policy/decision';
import { createPolicyEngine } from '../../../gateway/src/policy/engine';
import { checkPackSelection, packRules, packSources, POLICY_PACKS, type PackSelection } from '../../../gateway/src/policy/packs';
import { readPolicySources } from '../../../gateway/src/policy/sources';
import { classifySql, loadSqlParser, sqlOperation } from '../../../gateway/src/protocols/postgres/sql/classify';
import { commandHazards } from '../../../gateway/src/protocols/ssh/command-hazards';

function principal(groups: string[]): Principal {
  return { issuer: 'https://idp.example.test', issuerName: 'corp', subject: 'agent-1', name: 'agent', groups, kind: 'workload', tokenId: 't' };
}
const dev = principal(['developers']);
const dba = principal(['developers', 'dba']);

function sql(text: string): Operation {
  const result = classifySql(text);
  if (!result.ok || result.statements.length !== 1) throw new Error(`expected one statement: ${text}`);
  return sqlOperation(result.statements[0]!);
}

function http(method: string, path = '/'): Operation {
  return { protocol: 'http', action: `http:${method}`, attributes: { method, path, host: 'api.example.test' }, summary: `${method} ${path}` };
}

/** The user's own policy: developers may do anything; the packs then classify. */
const PERMIT_DEVELOPERS = '@id("developers") permit (principal in Gatehouse::Group::"developers", action, resource);';

function engineWith(packs: readonly PackSelection[], own = PERMIT_DEVELOPERS) {
  return createPolicyEngine({ policies: [{ name: 'inline', text: own }, ...packSources(packs)] });
}

beforeAll(async () => {
  await loadSqlParser();
});

describe('sql-guardrails', () => {
  const engine = engineWith(['sql-guardrails']);
  const decide = (text: string) => engine.decide(dev, 'db', sql(text));

  test.each([
    ['pack.sql.ddl', 'review', ['CREATE TABLE t (id int)', 'ALTER TABLE t ADD COLUMN c int', 'DROP TABLE t', 'CREATE INDEX i ON t (c)', 'SELECT * INTO t2 FROM t']],
    ['pack.sql.truncate', 'review', ['TRUNCATE t', 'TRUNCATE TABLE a, b CASCADE']],
    ['pack.sql.unbounded-write', 'deny', ['DELETE FROM t', 'UPDATE t SET a = 1', 'DELETE FROM t WHERE 1 = 1', 'WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d', 'EXPLAIN ANALYZE UPDATE t SET a = 1']],
    ['pack.sql.privileges', 'deny', ['GRANT SELECT ON t TO bob', 'REVOKE ALL ON t FROM bob', 'GRANT admins TO bob', 'CREATE ROLE r', 'ALTER ROLE bob SUPERUSER', 'DROP ROLE bob', 'SET ROLE postgres', 'ALTER TABLE t OWNER TO bob', 'ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO bob']],
    ['pack.sql.server-access', 'deny', ["COPY t TO PROGRAM 'curl x'", "COPY t FROM '/etc/passwd'", "SELECT pg_read_file('/etc/passwd')", 'SELECT pg_terminate_backend(1)', "SELECT set_config('role', 'postgres', false)", "ALTER SYSTEM SET log_statement = 'none'", "SELECT lo_import('/etc/passwd')", "SELECT * FROM dblink('host=x', 'delete from t') AS r(a int)"]],
    ['pack.sql.admin', 'review', ["DO $$ BEGIN PERFORM 1; END $$", "LOAD 'auto_explain'", 'CHECKPOINT']],
  ])('%s classifies its statements as %s', (rule, effect, statements) => {
    for (const text of statements) {
      const decision = decide(text);
      expect({ text, effect: decision.effect }).toEqual({ text, effect });
      expect({ text, reasons: decision.reasons }).toEqual({ text, reasons: expect.arrayContaining([rule]) });
    }
  });

  test('safe statements pass every rule', () => {
    for (const text of [
      'SELECT * FROM t WHERE id = 1',
      'INSERT INTO t VALUES (1)',
      'UPDATE t SET a = 1 WHERE id = 2',
      'DELETE FROM t WHERE id = 2',
      'BEGIN',
      'COMMIT',
      'SET search_path = app',
      'COPY t FROM STDIN',
      'COPY t TO STDOUT',
      'EXPLAIN UPDATE t SET a = 1',
      'SELECT now(), count(*) FROM t',
    ]) {
      expect({ text, decision: decide(text) }).toEqual({ text, decision: expect.objectContaining({ effect: 'allow', reasons: ['developers'] }) });
    }
  });

  test('packs classify but never grant: without a permit of the user’s own, everything is denied', () => {
    const bare = engineWith(['sql-guardrails'], '');
    expect(bare.decide(dev, 'db', sql('CREATE TABLE t (id int)'))).toMatchObject({ effect: 'deny', code: 'policy.no_permit' });
    expect(bare.decide(dev, 'db', sql('SELECT 1'))).toMatchObject({ effect: 'deny', code: 'policy.no_permit' });
  });

  test('rules do not fail on SQL operations without the classifier’s attributes (sql:unparsed)', () => {
    const unparsed: Operation = { protocol: 'postgres', action: 'sql:unparsed', attributes: { unparsed: true, kind: 'other', command: 'unparsed', tables: [] }, summary: 'x' };
    expect(engine.decide(dev, 'db', unparsed)).toMatchObject({ effect: 'allow', reasons: ['developers'] });
  });
});

describe('http-guardrails', () => {
  const engine = engineWith(['http-guardrails']);

  test('DELETE and writes to admin paths need review; unusual methods are denied', () => {
    expect(engine.decide(dev, 'api', http('DELETE', '/v1/items/1'))).toMatchObject({ effect: 'review', reasons: ['pack.http.delete'] });
    expect(engine.decide(dev, 'api', http('POST', '/v1/admin/users'))).toMatchObject({ effect: 'review', reasons: ['pack.http.admin-paths'] });
    expect(engine.decide(dev, 'api', http('PUT', '/admin'))).toMatchObject({ effect: 'review', reasons: ['pack.http.admin-paths'] });
    expect(engine.decide(dev, 'api', http('TRACE', '/'))).toMatchObject({ effect: 'deny', reasons: ['pack.http.unusual-methods'] });
    expect(engine.decide(dev, 'api', http('PROPFIND', '/dav'))).toMatchObject({ effect: 'deny', reasons: ['pack.http.unusual-methods'] });
  });

  test('ordinary requests pass', () => {
    for (const [method, path] of [['GET', '/v1/admin/users'], ['POST', '/v1/messages'], ['PATCH', '/v1/administrators'], ['HEAD', '/'], ['OPTIONS', '/x']] as const) {
      expect(engine.decide(dev, 'api', http(method, path))).toMatchObject({ effect: 'allow', reasons: ['developers'] });
    }
  });

  test('HTTP and SQL packs do not touch each other’s operations', () => {
    const both = engineWith(['sql-guardrails', 'http-guardrails']);
    expect(both.decide(dev, 'api', http('GET', '/'))).toMatchObject({ effect: 'allow' });
    expect(both.decide(dev, 'db', sql('SELECT 1'))).toMatchObject({ effect: 'allow' });
  });
});

/** An exec as the SSH front builds it (protocols/ssh/server.ts): the command line and its hazards. */
function exec(command: string): Operation {
  return { protocol: 'ssh', action: 'ssh:exec', attributes: { command, pty: false, hazards: commandHazards(command) }, summary: `exec ${command}` };
}

describe('ssh-guardrails', () => {
  const engine = engineWith(['ssh-guardrails']);
  const decide = (command: string) => engine.decide(dev, 'box', exec(command));

  test.each([
    ['pack.ssh.remove-root', 'deny', ['rm -rf /', 'rm -fr /', 'rm -r -f /', 'rm --recursive --force /', 'rm -Rf /*', 'sudo rm -rf --no-preserve-root /', '/bin/rm -rf /etc', 'rm -rf "/usr/"', 'cd /tmp && rm -rf -- /var', 'X=1 sudo -u root rm -rf /home/*', 'echo hi; rm -r /boot']],
    ['pack.ssh.permissions-root', 'deny', ['chmod -R 777 /', 'chmod --recursive 777 /etc', 'sudo chown -R nobody /', 'chgrp -R users /usr']],
    ['pack.ssh.fork-bomb', 'deny', [':(){ :|:& };:', 'bomb() { bomb | bomb & }; bomb']],
    ['pack.ssh.disk', 'review', ['mkfs.ext4 /dev/sdb1', 'sudo mkfs -t xfs /dev/vdb', 'mke2fs /dev/sdc', 'dd if=/dev/zero of=/dev/sda bs=1M', 'dd if=img of=/dev/nvme0n1', 'echo x > /dev/sda', 'cat img >>/dev/vdb', 'cat img | sudo tee /dev/sdb']],
    ['pack.ssh.power', 'review', ['shutdown -h now', 'sudo reboot', 'halt', 'poweroff', 'systemctl reboot', 'init 0', 'sleep 1; /sbin/shutdown -r +1']],
  ])('%s classifies its commands as %s', (rule, effect, commands) => {
    for (const command of commands) {
      const decision = decide(command);
      expect({ command, effect: decision.effect, reasons: decision.reasons }).toEqual({ command, effect, reasons: expect.arrayContaining([rule]) });
    }
  });

  test('ordinary commands pass every rule', () => {
    for (const command of [
      'ls -la /',
      'rm -rf /tmp/build',
      'rm -f /etc/motd.bak',
      'rm -rf ./node_modules',
      'rm -rf build/',
      'chmod 644 /etc/motd',
      'chmod -R 755 /srv/app/public',
      'dd if=/dev/zero of=/tmp/blob bs=1M count=1',
      'dd if=/dev/sda of=/dev/null count=1',
      'echo ok > /dev/null',
      'cat /dev/sda1 | head -c 512 > /tmp/mbr',
      'systemctl status nginx',
      'git commit -m "reboot the rm -rf / guard"',
      'grep -r shutdown /var/log',
    ]) {
      expect({ command, decision: decide(command) }).toEqual({ command, decision: expect.objectContaining({ effect: 'allow', reasons: ['developers'] }) });
    }
  });

  test('a string heuristic on the command line as sent: what an interpreter builds is not seen (docs/ssh.md)', () => {
    // Quotes are dropped and `sh -c` / `eval` unwrapped, so these are seen…
    expect(decide("sh -c 'r''m -rf /'")).toMatchObject({ effect: 'deny' });
    expect(decide('bash -lc "cd / && rm -rf /etc"')).toMatchObject({ effect: 'deny' });
    expect(decide("eval 'reboot'")).toMatchObject({ effect: 'review' });
    // …but nothing is expanded or run: variables, command substitution, decoded scripts.
    expect(decide('c=rm; $c -rf /')).toMatchObject({ effect: 'allow' });
    expect(decide(`eval "$(printf 'rm -rf /')"`)).toMatchObject({ effect: 'allow' });
    expect(decide('echo cm0gLXJmIC8= | base64 -d | sh')).toMatchObject({ effect: 'allow' });
  });

  test('rules do not fail on SSH operations without hazards (shell, port forward)', () => {
    expect(engine.decide(dev, 'box', { protocol: 'ssh', action: 'ssh:shell', attributes: { pty: true }, summary: 'shell' })).toMatchObject({ effect: 'allow' });
    expect(engine.decide(dev, 'box', { protocol: 'ssh', action: 'ssh:exec', attributes: { command: 'rm -rf /', pty: false }, summary: 'x' })).toMatchObject({ effect: 'allow' });
  });
});

describe('overriding a pack rule', () => {
  test('a disabled rule no longer fires; the others still do', () => {
    const engine = engineWith([{ name: 'sql-guardrails', disable: ['pack.sql.truncate'] }]);
    expect(engine.decide(dev, 'db', sql('TRUNCATE t'))).toMatchObject({ effect: 'allow' });
    expect(engine.decide(dev, 'db', sql('DROP TABLE t'))).toMatchObject({ effect: 'review' });
  });

  test('disable a forbid and restate it in Cedar with your own exception', () => {
    // A forbid cannot be outweighed by a permit, so the pack rule is switched off by id and the
    // user's policy says the same thing with an exception for the dba group.
    const own = `${PERMIT_DEVELOPERS}
      @id("unbounded-write-except-dba")
      forbid (principal, action in Gatehouse::Action::"sql:any", resource)
      when { context has unbounded && context.unbounded }
      unless { principal in Gatehouse::Group::"dba" };`;
    const engine = engineWith([{ name: 'sql-guardrails', disable: ['pack.sql.unbounded-write'] }], own);
    expect(engine.decide(dev, 'db', sql('DELETE FROM t'))).toMatchObject({ effect: 'deny', reasons: ['unbounded-write-except-dba'] });
    expect(engine.decide(dba, 'db', sql('DELETE FROM t'))).toMatchObject({ effect: 'allow' });
  });

  test('the docs example: TRUNCATE only of scratch tables once pack.sql.truncate is off', () => {
    const own = `${PERMIT_DEVELOPERS}
      @id("truncate-scratch-only")
      forbid (principal, action == Gatehouse::Action::"sql:truncate", resource)
      unless { ["scratch.events", "scratch.runs"].containsAll(context.tables) };`;
    const engine = engineWith([{ name: 'sql-guardrails', disable: ['pack.sql.unbounded-write', 'pack.sql.truncate'] }], own);
    expect(engine.decide(dev, 'db', sql('TRUNCATE scratch.events, scratch.runs'))).toMatchObject({ effect: 'allow' });
    expect(engine.decide(dev, 'db', sql('TRUNCATE scratch.events, public.users'))).toMatchObject({ effect: 'deny', reasons: ['truncate-scratch-only'] });
    expect(engine.decide(dev, 'db', sql('DELETE FROM t'))).toMatchObject({ effect: 'allow' });
  });

  test('turn a pack deny into a review by restating it as a review permit', () => {
    const own = `
      @id("developers-but-privileges") permit (principal in Gatehouse::Group::"developers", action, resource)
        unless { action in [Gatehouse::Action::"sql:grant", Gatehouse::Action::"sql:revoke"] };
      @id("privileges-reviewed") @decision("review")
      permit (principal in Gatehouse::Group::"dba", action in [Gatehouse::Action::"sql:grant", Gatehouse::Action::"sql:revoke"], resource);`;
    const engine = engineWith([{ name: 'sql-guardrails', disable: ['pack.sql.privileges'] }], own);
    expect(engine.decide(dba, 'db', sql('GRANT SELECT ON t TO bob'))).toMatchObject({ effect: 'review', reasons: expect.arrayContaining(['privileges-reviewed']) });
    expect(engine.decide(dev, 'db', sql('GRANT SELECT ON t TO bob'))).toMatchObject({ effect: 'deny', code: 'policy.no_permit' });
  });

  test('a user policy cannot reuse a pack rule id (no silent shadowing)', () => {
    expect(() => engineWith(['sql-guardrails'], '@id("pack.sql.ddl") permit (principal, action, resource);')).toThrow(/duplicate policy id "pack.sql.ddl"/);
  });
});

describe('pack selection', () => {
  test('every built-in rule has a pack.<area>.<rule> id', () => {
    for (const name of Object.keys(POLICY_PACKS)) {
      for (const rule of packRules(name)) expect(rule.id).toMatch(/^pack\.(sql|http|ssh)\.[a-z-]+$/);
    }
    expect(packRules('sql-guardrails').map((r) => r.id)).toEqual([
      'pack.sql.ddl',
      'pack.sql.truncate',
      'pack.sql.unbounded-write',
      'pack.sql.privileges',
      'pack.sql.server-access',
      'pack.sql.admin',
    ]);
  });

  test('reports unknown packs, unknown rule ids and duplicates all at once', () => {
    expect(checkPackSelection(['sql-guardrails', 'nope', { name: 'http-guardrails', disable: ['pack.http.nope'] }, 'sql-guardrails'])).toEqual([
      'unknown policy pack "nope" (known: sql-guardrails, http-guardrails, ssh-guardrails)',
      'policy pack "http-guardrails" has no rule "pack.http.nope" to disable (its rules: pack.http.unusual-methods, pack.http.delete, pack.http.admin-paths)',
      'policy pack "sql-guardrails" is selected twice',
    ]);
    expect(() => packSources(['nope'])).toThrow(expect.objectContaining({ code: 'GH_ERR_CONFIG_INVALID' }));
  });

  test('readPolicySources appends the selected packs after the user’s policies', () => {
    const sources = readPolicySources({ cedar: PERMIT_DEVELOPERS, packs: ['http-guardrails'] });
    expect(sources.map((s) => [s.name, s.pack])).toEqual([
      ['inline', undefined],
      ['pack:http-guardrails', 'http-guardrails'],
    ]);
  });
});
