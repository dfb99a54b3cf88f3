/**
 * Functions that reach past the data an agent works on: the server's files and programs, other
 * sessions, the server configuration, other databases, or SQL hidden in a string. A statement that
 * calls one is classified `admin` whatever its command (`SELECT pg_read_file(...)` is not a read).
 *
 * Names are matched without a `pg_catalog.` prefix. User-defined functions can do anything too;
 * the classifier cannot see into them, which is why every called function is also listed in the
 * statement's `functions` so that policies can restrict them by name.
 */
export const DANGEROUS_FUNCTIONS: ReadonlySet<string> = new Set([
  // other sessions
  'pg_terminate_backend',
  'pg_cancel_backend',
  // server configuration and lifecycle
  'set_config',
  'pg_reload_conf',
  'pg_rotate_logfile',
  'pg_promote',
  'pg_switch_wal',
  'pg_create_restore_point',
  'pg_backup_start',
  'pg_backup_stop',
  'pg_start_backup',
  'pg_stop_backup',
  'pg_create_physical_replication_slot',
  'pg_create_logical_replication_slot',
  'pg_drop_replication_slot',
  'pg_copy_physical_replication_slot',
  'pg_copy_logical_replication_slot',
  'pg_replication_origin_create',
  'pg_replication_origin_drop',
  // the server's file system
  'pg_read_file',
  'pg_read_binary_file',
  'pg_stat_file',
  'pg_ls_dir',
  'pg_ls_logdir',
  'pg_ls_waldir',
  'pg_ls_tmpdir',
  'pg_ls_archive_statusdir',
  'pg_ls_logicalsnapdir',
  'pg_ls_logicalmapdir',
  'pg_ls_replslotdir',
  'pg_file_write',
  'pg_file_rename',
  'pg_file_unlink',
  'pg_file_sync',
  'lo_import',
  'lo_export',
  // other databases and SQL run from a string (the classifier cannot see what they execute)
  'dblink',
  'dblink_exec',
  'dblink_connect',
  'dblink_connect_u',
  'dblink_send_query',
  'dblink_open',
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
]);

/** `pg_catalog.pg_read_file` → `pg_read_file`; other schemas stay (they are not the built-in). */
export function builtinName(name: string): string {
  return name.startsWith('pg_catalog.') ? name.slice('pg_catalog.'.length) : name;
}

export function isDangerousFunction(name: string): boolean {
  return DANGEROUS_FUNCTIONS.has(builtinName(name));
}
