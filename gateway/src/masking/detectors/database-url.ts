import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/**
 * Passwords embedded in database and broker URLs (`postgres://user:pass@host`); user and host stay
 * readable. The scan starts at `://` (a literal the regex engine finds fast) and checks the scheme
 * behind it, instead of trying the case-insensitive scheme list at every word boundary.
 */
export const databaseUrl: Detector = patternDetector({
  id: 'database-url',
  type: 'database_password',
  family: 'secret',
  maxLength: 560,
  pattern:
    /:\/\/(?<=\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver|jdbc:postgresql|jdbc:mysql):\/\/)[^:/?#@\s"']{0,256}:([^@\s/"']{1,256})@/gi,
  group: 1,
});
