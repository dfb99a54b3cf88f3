/** The slice of a pino logger the identity module uses (a pino `Logger` fits it). */
export interface IdentityLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}
