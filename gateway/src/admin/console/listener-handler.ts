import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../observability/logger';
import type { ConsoleHandler } from './router';

/**
 * The request handler of the console's own listener (`listeners.console`): the console and nothing
 * else (no admin API, metrics or health), so the admin listener can stay on the operators' network
 * while people reach the console elsewhere. `/` leads to the console; any other path is 404.
 */
export function consoleListenerHandler(console: ConsoleHandler, logger: Pick<Logger, 'error'>): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(303, { location: '/console/', 'content-length': 0 }).end();
      return;
    }
    console
      .handle(req, res)
      .then((served) => {
        if (!served) res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' }).end('not found: this listener serves the console under /console/\n');
      })
      .catch((e: unknown) => {
        // The console answers its own errors; this is only a failure to write the answer.
        logger.error({ err: e, path }, 'console request failed');
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
  };
}
