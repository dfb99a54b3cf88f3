export { classifySql, clearSqlCache, loadSqlParser, sqlOperation, SQL_CACHE_ENTRIES, SQL_CACHE_MAX_TEXT } from './classify';
export type { SqlClassification, SqlKind, SqlStatement } from './classify';
export { DANGEROUS_FUNCTIONS } from './functions';
