/**
 * The `sql-guardrails` rule pack: what a SQL statement may do without a person looking.
 * docs/policy.md documents each rule; keep the two in step. Every rule reads only attributes the
 * SQL classifier always sets, behind `has`, so an operation without them (e.g. `sql:unparsed`)
 * is left to its own setting rather than failing here.
 */
export const SQL_GUARDRAILS = `// Gatehouse rule pack "sql-guardrails". See docs/policy.md.

@id("pack.sql.ddl")
@decision("review")
@message("schema changes (DDL) need a human approval")
permit (
  principal,
  action in Gatehouse::Action::"sql:ddl",
  resource
);

@id("pack.sql.truncate")
@decision("review")
@message("TRUNCATE empties whole tables and needs a human approval")
permit (
  principal,
  action == Gatehouse::Action::"sql:truncate",
  resource
);

@id("pack.sql.unbounded-write")
@message("an UPDATE, DELETE or MERGE not bounded to specific rows is refused; restrict a column of the target table by a value in its WHERE (MERGE: its ON or WHEN MATCHED AND condition)")
forbid (
  principal,
  action in Gatehouse::Action::"sql:any",
  resource
)
when { context has unbounded && context.unbounded };

@id("pack.sql.privileges")
@message("privilege, role and ownership changes are refused")
forbid (
  principal,
  action in Gatehouse::Action::"sql:any",
  resource
)
when {
  action in [
    Gatehouse::Action::"sql:grant",
    Gatehouse::Action::"sql:revoke",
    Gatehouse::Action::"sql:create_role",
    Gatehouse::Action::"sql:alter_role",
    Gatehouse::Action::"sql:drop_role",
    Gatehouse::Action::"sql:alter_default_privileges",
    Gatehouse::Action::"sql:reassign_owned",
    Gatehouse::Action::"sql:drop_owned",
    Gatehouse::Action::"sql:create_user_mapping",
    Gatehouse::Action::"sql:alter_user_mapping",
    Gatehouse::Action::"sql:drop_user_mapping"
  ] ||
  (context has flags && context.flags.containsAny(["set_role", "change_owner"]))
};

@id("pack.sql.server-access")
@message("reaching the server's files, programs, configuration or other sessions from SQL is refused")
forbid (
  principal,
  action in Gatehouse::Action::"sql:any",
  resource
)
when {
  action == Gatehouse::Action::"sql:alter_system" ||
  (context has flags && context.flags.containsAny(["copy_program", "copy_file", "dangerous_function"]))
};

@id("pack.sql.admin")
@decision("review")
@message("administrative SQL (DO blocks, LOAD, CHECKPOINT, ...) needs a human approval")
permit (
  principal,
  action in Gatehouse::Action::"sql:admin",
  resource
);
`;
