/** Where a command writes: injectable so commands are testable without spawning a process. */
export interface CommandIO {
  out(line: string): void;
  err(line: string): void;
}

export const processIO: CommandIO = {
  out: (line) => process.stdout.write(line.endsWith('\n') ? line : `${line}\n`),
  err: (line) => process.stderr.write(line.endsWith('\n') ? line : `${line}\n`),
};

/**
 * Exits with `code` once everything written to stdout and stderr has been handed to the OS.
 *
 * Writes to a pipe are asynchronous in Node: `process.exit()` straight after a large write (a
 * session export piped into `less` or `jq`) drops whatever the reader had not taken yet, 64 KiB
 * in on Linux. An empty write's callback runs after every earlier write on the same stream has
 * been flushed, so exiting from there never cuts output short. A reader that went away (`| head`,
 * EPIPE) ends the wait for its stream instead of crashing the process.
 */
export function exitWhenFlushed(code: number, exit: (code: number) => void = (c) => process.exit(c)): void {
  const streams = [process.stdout, process.stderr];
  let pending = streams.length;
  const settled = () => {
    if (--pending === 0) exit(code);
  };
  for (const stream of streams) {
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      settled();
    };
    stream.once('error', once);
    if (stream.destroyed || !stream.writable) once();
    else stream.write('', once);
  }
}

/** A closed reader (EPIPE) must not turn into an uncaught exception halfway through an export. */
export function ignoreClosedReaders(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
  }
}
