/**
 * How a called function is judged, by its resolved identity (resolve.ts strips catalog and schema
 * qualifiers and decides whether an unqualified name can only mean the built-in one).
 *
 * Four classes, from harmless to dangerous:
 * - **read**: a built-in on READ_FUNCTIONS, a curated allow-list of side-effect-free functions
 *   (immutable and stable built-ins, plus a few volatile ones whose only effect is their result:
 *   `random`, `clock_timestamp`). Calling them leaves a statement's kind as it is.
 * - **write**: a built-in on WRITING_FUNCTIONS, whose effect is a change of data or of state other
 *   sessions see (sequences, large objects, notifications, advisory locks, WAL messages, a new
 *   transaction id). The statement is at least `write`.
 * - **call**: everything else: user-defined and extension functions, unknown names, built-ins not
 *   listed. The classifier cannot see what they do, so the statement is at least `call`, a kind of
 *   its own that `sql:read` and `sql:write` do not include (policies allow it by function name).
 * - **admin**: a built-in on DANGEROUS_FUNCTIONS, reaching past the data an agent works on (the
 *   server's files and programs, other sessions, the server configuration, other databases, SQL
 *   hidden in a string). The statement is `admin`.
 *
 * A name on none of the lists is never `read`: the allow-list decides, not a deny-list.
 */
export type FunctionClass = 'read' | 'write' | 'call' | 'admin';

export const DANGEROUS_FUNCTIONS: ReadonlySet<string> = new Set([
  // other sessions
  'pg_terminate_backend',
  'pg_cancel_backend',
  'pg_signal_backend',
  'pg_log_backend_memory_contexts',
  // server configuration, statistics and lifecycle
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
  'pg_wal_replay_pause',
  'pg_wal_replay_resume',
  'pg_create_physical_replication_slot',
  'pg_create_logical_replication_slot',
  'pg_drop_replication_slot',
  'pg_copy_physical_replication_slot',
  'pg_copy_logical_replication_slot',
  'pg_replication_slot_advance',
  'pg_logical_slot_get_changes',
  'pg_logical_slot_peek_changes',
  'pg_logical_slot_get_binary_changes',
  'pg_logical_slot_peek_binary_changes',
  'pg_replication_origin_create',
  'pg_replication_origin_drop',
  'pg_replication_origin_advance',
  'pg_replication_origin_session_setup',
  'pg_replication_origin_session_reset',
  'pg_replication_origin_xact_setup',
  'pg_stat_reset',
  'pg_stat_reset_shared',
  'pg_stat_reset_single_table_counters',
  'pg_stat_reset_single_function_counters',
  'pg_stat_reset_slru',
  'pg_stat_reset_replication_slot',
  'pg_stat_reset_subscription_stats',
  'pg_import_system_collations',
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
  'dblink_fetch',
  'dblink_get_result',
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
]);

/**
 * Built-ins that read a table (or run a query) named inside a string argument: the tables they
 * read are not in the statement's tree, so `context.tables` cannot list them. Each is at least
 * `call` (never `read`) and flags the statement `reads_named_tables` (the query_* ones, which run
 * arbitrary SQL, are dangerous and `admin`).
 */
export const TABLE_READING_FUNCTIONS: ReadonlySet<string> = new Set([
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'table_to_xml',
  'table_to_xmlschema',
  'table_to_xml_and_xmlschema',
  'cursor_to_xml',
  'cursor_to_xmlschema',
  'schema_to_xml',
  'schema_to_xmlschema',
  'schema_to_xml_and_xmlschema',
  'database_to_xml',
  'database_to_xmlschema',
  'database_to_xml_and_xmlschema',
  'ts_stat',
  'ts_rewrite',
]);

/** Built-ins whose effect is a data or shared-state change: the statement is at least `write`. */
export const WRITING_FUNCTIONS: ReadonlySet<string> = new Set([
  // sequences
  'nextval',
  'setval',
  // large objects (lo_import/lo_export touch the server's files: dangerous)
  'lo_creat',
  'lo_create',
  'lo_unlink',
  'lo_open',
  'lo_close',
  'loread',
  'lowrite',
  'lo_lseek',
  'lo_lseek64',
  'lo_tell',
  'lo_tell64',
  'lo_truncate',
  'lo_truncate64',
  'lo_get',
  'lo_put',
  'lo_from_bytea',
  // notifications, locks, WAL, transaction ids
  'pg_notify',
  'pg_advisory_lock',
  'pg_advisory_lock_shared',
  'pg_advisory_unlock',
  'pg_advisory_unlock_shared',
  'pg_advisory_unlock_all',
  'pg_advisory_xact_lock',
  'pg_advisory_xact_lock_shared',
  'pg_try_advisory_lock',
  'pg_try_advisory_lock_shared',
  'pg_try_advisory_xact_lock',
  'pg_try_advisory_xact_lock_shared',
  'pg_logical_emit_message',
  'txid_current',
  'pg_current_xact_id',
]);

/**
 * The allow-list: built-ins (pg_catalog) without side effects, chosen by family. Mostly immutable
 * and stable functions (`provolatile` 'i' / 's' in pg_proc); the volatile ones admitted are in
 * VOLATILE_READ_FUNCTIONS (their only effect is their result). Not on it, on purpose: `pg_sleep*`
 * (holds a backend), `currval`/`lastval` (judged with the other sequence functions through
 * `sql:call`), and everything in WRITING_FUNCTIONS, DANGEROUS_FUNCTIONS and TABLE_READING_FUNCTIONS.
 * test/security/postgres/functions.test.ts checks every name against a real PostgreSQL 15
 * catalog: each exists in pg_catalog and none is volatile unless listed here.
 */
export const VOLATILE_READ_FUNCTIONS: ReadonlySet<string> = new Set([
  // results that change from call to call
  'random',
  'clock_timestamp',
  'timeofday',
  'gen_random_uuid',
  // read-only views of the server's state (sizes, recovery, locks, transactions)
  'pg_blocking_pids',
  'pg_safe_snapshot_blocking_pids',
  'pg_collation_actual_version',
  'pg_database_size',
  'pg_relation_size',
  'pg_table_size',
  'pg_indexes_size',
  'pg_total_relation_size',
  'pg_is_in_recovery',
  'pg_jit_available',
  'pg_notification_queue_usage',
  'pg_xact_status',
  'txid_status',
  'pg_current_wal_lsn',
  'pg_last_wal_receive_lsn',
  'pg_last_wal_replay_lsn',
  'pg_is_wal_replay_paused',
  'pg_get_wal_replay_pause_state',
  'pg_partition_tree',
  'pg_partition_ancestors',
]);

const FAMILIES: readonly (readonly string[])[] = [
  // comparison and conditional helpers called as functions
  ['num_nulls', 'num_nonnulls'],
  // mathematics
  ['abs', 'cbrt', 'ceil', 'ceiling', 'degrees', 'div', 'exp', 'factorial', 'floor', 'gcd', 'lcm', 'ln', 'log', 'log10', 'min_scale', 'mod', 'pi', 'power', 'radians', 'round', 'scale', 'sign', 'sqrt', 'trim_scale', 'trunc', 'width_bucket', 'random', 'acos', 'acosd', 'asin', 'asind', 'atan', 'atand', 'atan2', 'atan2d', 'cos', 'cosd', 'cot', 'cotd', 'sin', 'sind', 'tan', 'tand', 'sinh', 'cosh', 'tanh', 'asinh', 'acosh', 'atanh', 'numeric', 'int2', 'int4', 'int8', 'float4', 'float8'],
  // strings
  ['ascii', 'bit_length', 'btrim', 'char_length', 'character_length', 'chr', 'concat', 'concat_ws', 'format', 'initcap', 'left', 'length', 'lower', 'lpad', 'ltrim', 'md5', 'normalize', 'octet_length', 'overlay', 'parse_ident', 'position', 'quote_ident', 'quote_literal', 'quote_nullable', 'regexp_count', 'regexp_instr', 'regexp_like', 'regexp_match', 'regexp_matches', 'regexp_replace', 'regexp_split_to_array', 'regexp_split_to_table', 'regexp_substr', 'repeat', 'replace', 'reverse', 'right', 'rpad', 'rtrim', 'split_part', 'starts_with', 'string_to_array', 'string_to_table', 'strpos', 'substr', 'substring', 'to_ascii', 'to_hex', 'translate', 'unistr', 'upper', 'text', 'bpchar', 'varchar', 'name', 'like_escape', 'similar_escape', 'similar_to_escape', 'convert', 'convert_from', 'convert_to', 'encode', 'decode', 'get_bit', 'get_byte', 'set_bit', 'set_byte', 'sha224', 'sha256', 'sha384', 'sha512', 'bit_count', 'to_char', 'to_date', 'to_number', 'to_timestamp', 'pg_client_encoding'],
  // date and time
  ['age', 'clock_timestamp', 'date_bin', 'date_part', 'date_trunc', 'extract', 'isfinite', 'justify_days', 'justify_hours', 'justify_interval', 'make_date', 'make_interval', 'make_time', 'make_timestamp', 'make_timestamptz', 'now', 'statement_timestamp', 'timeofday', 'transaction_timestamp', 'timezone', 'overlaps', 'date', 'timestamp', 'timestamptz', 'interval', 'time', 'timetz'],
  // json and jsonb
  ['to_json', 'to_jsonb', 'array_to_json', 'row_to_json', 'json_build_array', 'jsonb_build_array', 'json_build_object', 'jsonb_build_object', 'json_object', 'jsonb_object', 'json_array_length', 'jsonb_array_length', 'json_each', 'jsonb_each', 'json_each_text', 'jsonb_each_text', 'json_extract_path', 'jsonb_extract_path', 'json_extract_path_text', 'jsonb_extract_path_text', 'json_object_keys', 'jsonb_object_keys', 'json_populate_record', 'jsonb_populate_record', 'json_populate_recordset', 'jsonb_populate_recordset', 'json_array_elements', 'jsonb_array_elements', 'json_array_elements_text', 'jsonb_array_elements_text', 'json_typeof', 'jsonb_typeof', 'json_to_record', 'jsonb_to_record', 'json_to_recordset', 'jsonb_to_recordset', 'json_strip_nulls', 'jsonb_strip_nulls', 'jsonb_set', 'jsonb_set_lax', 'jsonb_insert', 'jsonb_pretty', 'jsonb_path_exists', 'jsonb_path_match', 'jsonb_path_query', 'jsonb_path_query_array', 'jsonb_path_query_first', 'jsonb_path_exists_tz', 'jsonb_path_match_tz', 'jsonb_path_query_tz', 'jsonb_path_query_array_tz', 'jsonb_path_query_first_tz', 'json_agg', 'jsonb_agg', 'json_object_agg', 'jsonb_object_agg'],
  // arrays and sets
  ['array_append', 'array_cat', 'array_dims', 'array_fill', 'array_length', 'array_lower', 'array_ndims', 'array_position', 'array_positions', 'array_prepend', 'array_remove', 'array_replace', 'array_to_string', 'array_upper', 'cardinality', 'trim_array', 'unnest', 'generate_series', 'generate_subscripts'],
  // aggregates and window functions
  ['array_agg', 'avg', 'bit_and', 'bit_or', 'bit_xor', 'bool_and', 'bool_or', 'count', 'every', 'max', 'min', 'range_agg', 'range_intersect_agg', 'string_agg', 'sum', 'xmlagg', 'corr', 'covar_pop', 'covar_samp', 'regr_avgx', 'regr_avgy', 'regr_count', 'regr_intercept', 'regr_r2', 'regr_slope', 'regr_sxx', 'regr_sxy', 'regr_syy', 'stddev', 'stddev_pop', 'stddev_samp', 'variance', 'var_pop', 'var_samp', 'mode', 'percentile_cont', 'percentile_disc', 'rank', 'dense_rank', 'percent_rank', 'cume_dist', 'row_number', 'ntile', 'lag', 'lead', 'first_value', 'last_value', 'nth_value'],
  // ranges, network, geometry, uuid, text search (without ts_stat / ts_rewrite)
  ['lower_inc', 'upper_inc', 'lower_inf', 'upper_inf', 'isempty', 'range_merge', 'multirange', 'int4range', 'int8range', 'numrange', 'tsrange', 'tstzrange', 'daterange', 'abbrev', 'broadcast', 'family', 'host', 'hostmask', 'masklen', 'netmask', 'network', 'set_masklen', 'inet_merge', 'inet_same_family', 'gen_random_uuid', 'area', 'center', 'diameter', 'height', 'width', 'radius', 'npoints', 'point', 'box', 'circle', 'to_tsvector', 'to_tsquery', 'plainto_tsquery', 'phraseto_tsquery', 'websearch_to_tsquery', 'ts_rank', 'ts_rank_cd', 'ts_headline', 'setweight', 'strip', 'numnode', 'querytree', 'tsvector_to_array', 'array_to_tsvector', 'ts_delete', 'ts_filter', 'get_current_ts_config'],
  // session and catalog information (reads of the session or catalog, no effect)
  ['current_database', 'current_schema', 'current_schemas', 'current_user', 'session_user', 'current_setting', 'version', 'pg_backend_pid', 'pg_postmaster_start_time', 'pg_conf_load_time', 'pg_is_in_recovery', 'inet_client_addr', 'inet_client_port', 'inet_server_addr', 'inet_server_port', 'pg_typeof', 'format_type', 'to_regclass', 'to_regtype', 'to_regproc', 'to_regprocedure', 'to_regoper', 'to_regnamespace', 'to_regrole', 'to_regcollation', 'pg_get_viewdef', 'pg_get_functiondef', 'pg_get_function_arguments', 'pg_get_function_result', 'pg_get_function_identity_arguments', 'pg_get_indexdef', 'pg_get_constraintdef', 'pg_get_triggerdef', 'pg_get_ruledef', 'pg_get_expr', 'pg_get_userbyid', 'pg_get_serial_sequence', 'pg_get_keywords', 'pg_get_statisticsobjdef', 'obj_description', 'col_description', 'shobj_description', 'pg_table_is_visible', 'pg_type_is_visible', 'pg_function_is_visible', 'has_table_privilege', 'has_column_privilege', 'has_any_column_privilege', 'has_database_privilege', 'has_schema_privilege', 'has_function_privilege', 'has_sequence_privilege', 'has_type_privilege', 'has_foreign_data_wrapper_privilege', 'has_server_privilege', 'has_tablespace_privilege', 'has_language_privilege', 'pg_has_role', 'row_security_active', 'pg_column_size', 'pg_column_compression', 'pg_database_size', 'pg_relation_size', 'pg_table_size', 'pg_indexes_size', 'pg_total_relation_size', 'pg_size_pretty', 'pg_size_bytes', 'pg_relation_filenode', 'pg_encoding_to_char', 'pg_char_to_encoding', 'pg_jit_available', 'pg_trigger_depth', 'pg_current_snapshot', 'pg_snapshot_xmin', 'pg_snapshot_xmax', 'pg_current_xact_id_if_assigned', 'txid_current_if_assigned', 'pg_xact_status', 'txid_status', 'pg_index_column_has_property', 'pg_index_has_property', 'pg_indexam_has_property', 'pg_options_to_table', 'pg_tablespace_location', 'pg_collation_actual_version', 'pg_blocking_pids', 'pg_safe_snapshot_blocking_pids', 'pg_listening_channels', 'pg_notification_queue_usage', 'pg_is_other_temp_schema', 'pg_my_temp_schema'],
  // catalog introspection (what psql's \d commands and ORMs' schema readers call)
  ['pg_collation_is_visible', 'pg_conversion_is_visible', 'pg_opclass_is_visible', 'pg_operator_is_visible', 'pg_opfamily_is_visible', 'pg_statistics_obj_is_visible', 'pg_ts_config_is_visible', 'pg_ts_dict_is_visible', 'pg_ts_parser_is_visible', 'pg_ts_template_is_visible', 'pg_get_partkeydef', 'pg_get_partition_constraintdef', 'pg_get_statisticsobjdef_columns', 'pg_get_statisticsobjdef_expressions', 'pg_get_function_sqlbody', 'pg_get_function_arg_default', 'pg_get_triggerdef', 'pg_get_replica_identity_index', 'pg_relation_is_publishable', 'pg_relation_is_updatable', 'pg_column_is_updatable', 'pg_describe_object', 'pg_identify_object', 'pg_identify_object_as_address', 'pg_get_object_address', 'pg_partition_root', 'pg_partition_ancestors', 'pg_partition_tree', 'pg_get_publication_tables', 'pg_get_catalog_foreign_keys', 'pg_tablespace_databases', 'pg_get_wal_replay_pause_state', 'pg_last_wal_receive_lsn', 'pg_last_wal_replay_lsn', 'pg_current_wal_lsn', 'pg_wal_lsn_diff', 'pg_is_wal_replay_paused', 'array_remove', 'pg_get_constraintdef', 'pg_get_indexdef', 'textlen'],
  // functions PostgreSQL's grammar makes of SQL syntax (COLLATION FOR, IS NORMALIZED, XMLEXISTS), and XML reads
  ['pg_collation_for', 'is_normalized', 'xmlexists', 'xpath', 'xpath_exists', 'xml_is_well_formed', 'xml_is_well_formed_content', 'xml_is_well_formed_document', 'xmlcomment'],
];

export const READ_FUNCTIONS: ReadonlySet<string> = new Set(FAMILIES.flat().filter((n) => !DANGEROUS_FUNCTIONS.has(n) && !WRITING_FUNCTIONS.has(n) && !TABLE_READING_FUNCTIONS.has(n)));

/** How calling the built-in `name` (pg_catalog, already resolved) is judged. */
export function builtinClass(name: string): FunctionClass {
  if (DANGEROUS_FUNCTIONS.has(name)) return 'admin';
  if (WRITING_FUNCTIONS.has(name)) return 'write';
  if (READ_FUNCTIONS.has(name)) return 'read';
  return 'call';
}

/** `pg_catalog.pg_read_file` → `pg_read_file`; other schemas stay (they are not the built-in). */
export function builtinName(name: string): string {
  return name.startsWith('pg_catalog.') ? name.slice('pg_catalog.'.length) : name;
}

/** True for a built-in (unqualified or `pg_catalog.`-qualified) on the dangerous list. */
export function isDangerousFunction(name: string): boolean {
  return DANGEROUS_FUNCTIONS.has(builtinName(name));
}
