/**
 * The command name and base kind of one parsed statement, from its node type alone. Details that
 * need the rest of the tree (data-modifying CTEs, FOR UPDATE, dangerous functions, COPY PROGRAM,
 * EXPLAIN ANALYZE) are applied by statement.ts on top of this.
 */
export type SqlKind = 'read' | 'write' | 'call' | 'ddl' | 'admin' | 'transaction' | 'other';

/**
 * Kinds ordered by what they may do: a statement takes the highest kind of anything in it. `call`
 * (a function the classifier cannot see into) sits above `write` and below `ddl`.
 */
const RANK: Readonly<Record<SqlKind, number>> = { other: 0, transaction: 0, read: 1, write: 2, call: 3, ddl: 4, admin: 5 };

export function atLeast(kind: SqlKind, floor: SqlKind): SqlKind {
  return RANK[kind] >= RANK[floor] ? kind : floor;
}

export interface CommandInfo {
  readonly command: string;
  readonly kind: SqlKind;
}

type Node = Record<string, unknown>;

const TRANSACTION_COMMANDS: Readonly<Record<string, string>> = {
  TRANS_STMT_BEGIN: 'begin',
  TRANS_STMT_START: 'begin',
  TRANS_STMT_COMMIT: 'commit',
  TRANS_STMT_ROLLBACK: 'rollback',
  TRANS_STMT_SAVEPOINT: 'savepoint',
  TRANS_STMT_RELEASE: 'release_savepoint',
  TRANS_STMT_ROLLBACK_TO: 'rollback_to_savepoint',
  TRANS_STMT_PREPARE: 'prepare_transaction',
  TRANS_STMT_COMMIT_PREPARED: 'commit_prepared',
  TRANS_STMT_ROLLBACK_PREPARED: 'rollback_prepared',
};

/** Node types whose command name is fixed. */
const FIXED: Readonly<Record<string, CommandInfo>> = {
  SelectStmt: { command: 'select', kind: 'read' },
  InsertStmt: { command: 'insert', kind: 'write' },
  UpdateStmt: { command: 'update', kind: 'write' },
  DeleteStmt: { command: 'delete', kind: 'write' },
  MergeStmt: { command: 'merge', kind: 'write' },
  TruncateStmt: { command: 'truncate', kind: 'write' },
  CopyStmt: { command: 'copy', kind: 'read' },
  LockStmt: { command: 'lock', kind: 'write' },
  // A procedure runs code the classifier cannot see (kind `call`, like an unknown function); a DO
  // block is arbitrary code nobody reviewed.
  CallStmt: { command: 'call', kind: 'call' },
  DoStmt: { command: 'do', kind: 'admin' },
  ExplainStmt: { command: 'explain', kind: 'read' },
  VariableShowStmt: { command: 'show', kind: 'read' },
  DeclareCursorStmt: { command: 'declare', kind: 'read' },
  FetchStmt: { command: 'fetch', kind: 'read' },
  ClosePortalStmt: { command: 'close', kind: 'other' },
  PrepareStmt: { command: 'prepare', kind: 'read' },
  ExecuteStmt: { command: 'execute', kind: 'other' },
  DeallocateStmt: { command: 'deallocate', kind: 'other' },
  ListenStmt: { command: 'listen', kind: 'other' },
  UnlistenStmt: { command: 'unlisten', kind: 'other' },
  NotifyStmt: { command: 'notify', kind: 'other' },
  DiscardStmt: { command: 'discard', kind: 'other' },
  ClusterStmt: { command: 'cluster', kind: 'write' },
  ReindexStmt: { command: 'reindex', kind: 'write' },
  RefreshMatViewStmt: { command: 'refresh_materialized_view', kind: 'write' },
  CheckPointStmt: { command: 'checkpoint', kind: 'admin' },
  LoadStmt: { command: 'load', kind: 'admin' },
  CommentStmt: { command: 'comment', kind: 'ddl' },
  SecLabelStmt: { command: 'security_label', kind: 'ddl' },
  // Privileges and identities.
  CreateRoleStmt: { command: 'create_role', kind: 'admin' },
  AlterRoleStmt: { command: 'alter_role', kind: 'admin' },
  AlterRoleSetStmt: { command: 'alter_role', kind: 'admin' },
  DropRoleStmt: { command: 'drop_role', kind: 'admin' },
  AlterSystemStmt: { command: 'alter_system', kind: 'admin' },
  AlterDefaultPrivilegesStmt: { command: 'alter_default_privileges', kind: 'admin' },
  ReassignOwnedStmt: { command: 'reassign_owned', kind: 'admin' },
  DropOwnedStmt: { command: 'drop_owned', kind: 'admin' },
  CreateUserMappingStmt: { command: 'create_user_mapping', kind: 'admin' },
  AlterUserMappingStmt: { command: 'alter_user_mapping', kind: 'admin' },
  DropUserMappingStmt: { command: 'drop_user_mapping', kind: 'admin' },
  // DDL with names that differ from their node type.
  CreateStmt: { command: 'create_table', kind: 'ddl' },
  IndexStmt: { command: 'create_index', kind: 'ddl' },
  ViewStmt: { command: 'create_view', kind: 'ddl' },
  CreateSeqStmt: { command: 'create_sequence', kind: 'ddl' },
  AlterSeqStmt: { command: 'alter_sequence', kind: 'ddl' },
  CreateSchemaStmt: { command: 'create_schema', kind: 'ddl' },
  CreatedbStmt: { command: 'create_database', kind: 'ddl' },
  DropdbStmt: { command: 'drop_database', kind: 'ddl' },
  AlterDatabaseStmt: { command: 'alter_database', kind: 'ddl' },
  AlterDatabaseSetStmt: { command: 'alter_database', kind: 'ddl' },
  CreateExtensionStmt: { command: 'create_extension', kind: 'ddl' },
  AlterExtensionStmt: { command: 'alter_extension', kind: 'ddl' },
  CreateTrigStmt: { command: 'create_trigger', kind: 'ddl' },
  CreateEventTrigStmt: { command: 'create_event_trigger', kind: 'ddl' },
  CreatePolicyStmt: { command: 'create_policy', kind: 'ddl' },
  AlterPolicyStmt: { command: 'alter_policy', kind: 'ddl' },
  CreateEnumStmt: { command: 'create_type', kind: 'ddl' },
  CompositeTypeStmt: { command: 'create_type', kind: 'ddl' },
  CreateRangeStmt: { command: 'create_type', kind: 'ddl' },
  CreateDomainStmt: { command: 'create_domain', kind: 'ddl' },
  CreateTableSpaceStmt: { command: 'create_tablespace', kind: 'ddl' },
  DropTableSpaceStmt: { command: 'drop_tablespace', kind: 'ddl' },
  CreateForeignTableStmt: { command: 'create_foreign_table', kind: 'ddl' },
  CreateForeignServerStmt: { command: 'create_server', kind: 'ddl' },
  CreatePublicationStmt: { command: 'create_publication', kind: 'ddl' },
  CreateSubscriptionStmt: { command: 'create_subscription', kind: 'ddl' },
  RuleStmt: { command: 'create_rule', kind: 'ddl' },
  CreateStatsStmt: { command: 'create_statistics', kind: 'ddl' },
};

/** `OBJECT_FOREIGN_TABLE` → `foreign_table`. */
function objectName(objectType: unknown): string {
  return typeof objectType === 'string' ? objectType.replace(/^OBJECT_/, '').toLowerCase() : 'object';
}

/** `AlterFooBarStmt` → `alter_foo_bar`: a readable name for node types not listed here. */
function snakeCase(nodeType: string): string {
  return nodeType
    .replace(/Stmt$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

export function commandOf(nodeType: string, node: Node): CommandInfo {
  switch (nodeType) {
    case 'TransactionStmt':
      return { command: TRANSACTION_COMMANDS[String(node.kind)] ?? 'transaction', kind: 'transaction' };
    case 'GrantStmt':
    case 'GrantRoleStmt':
      return { command: node.is_grant === true ? 'grant' : 'revoke', kind: 'admin' };
    case 'VariableSetStmt': {
      const reset = node.kind === 'VAR_RESET' || node.kind === 'VAR_RESET_ALL';
      // Switching the session's identity is a privilege change; other settings are session state.
      const identity = !reset && (node.name === 'role' || node.name === 'session_authorization');
      return { command: reset ? 'reset' : 'set', kind: identity ? 'admin' : 'other' };
    }
    case 'VacuumStmt':
      return { command: node.is_vacuumcmd === true ? 'vacuum' : 'analyze', kind: 'write' };
    case 'CreateTableAsStmt':
      return node.objtype === 'OBJECT_MATVIEW'
        ? { command: 'create_materialized_view', kind: 'ddl' }
        : { command: 'create_table_as', kind: 'ddl' };
    case 'CreateFunctionStmt':
      return { command: node.is_procedure === true ? 'create_procedure' : 'create_function', kind: 'ddl' };
    case 'DropStmt':
      return { command: `drop_${objectName(node.removeType)}`, kind: 'ddl' };
    case 'AlterTableStmt':
      return { command: `alter_${objectName(node.objtype)}`, kind: 'ddl' };
    case 'RenameStmt':
      return { command: `alter_${objectName(node.renameType)}`, kind: 'ddl' };
    case 'AlterObjectSchemaStmt':
      return { command: `alter_${objectName(node.objectType)}`, kind: 'ddl' };
    case 'AlterOwnerStmt':
      return { command: `alter_${objectName(node.objectType)}`, kind: 'admin' };
    case 'DefineStmt':
      return { command: `create_${objectName(node.kind)}`, kind: 'ddl' };
  }
  const fixed = FIXED[nodeType];
  if (fixed) return fixed;
  const command = snakeCase(nodeType);
  return { command, kind: /^(create|alter|drop)_/.test(command) ? 'ddl' : 'other' };
}
