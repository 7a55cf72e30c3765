/** The command line was wrong: exit code 2, and the person should read --help. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** An input file or the run itself failed: exit code 1. */
export class InputError extends Error {
  override name = 'InputError';
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** As shells report a process stopped by SIGINT. */
export const EXIT_INTERRUPTED = 130;

/** One line, whatever the error carries (Dawn messages span lines). */
export function oneLine(error: unknown): string {
  let message: string;
  if (error instanceof Error) message = error.message;
  else if (typeof error === 'string') message = error;
  else {
    try {
      message = JSON.stringify(error) ?? String(error);
    } catch {
      message = String(error);
    }
  }
  return message.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
}

/** Turns Node's file-system errors into sentences that name the path. */
export function describeFsError(error: unknown, path: string, action = 'open'): InputError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EISDIR: 'it is a directory',
    ENOTDIR: 'a parent is not a directory',
    ENOSPC: 'no space left on the device',
    EROFS: 'read-only file system',
  };
  const why = (code && reason[code]) || oneLine(error);
  return new InputError(`cannot ${action} ${path}: ${why}`);
}
