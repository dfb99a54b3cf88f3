import { classifySql } from '../../../../../gateway/src/protocols/postgres/sql/classify';

// Its own file: jest gives each test file a fresh module registry, so the parser is not loaded here.
test('classifying before loadSqlParser() fails closed with GH_ERR_SQL_PARSER_NOT_LOADED', () => {
  expect(() => classifySql('select 1')).toThrow(expect.objectContaining({ code: 'GH_ERR_SQL_PARSER_NOT_LOADED' }));
});
