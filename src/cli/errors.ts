import { LOWER_MEMORY } from '../gpu/alloc';
import { KEPT } from '../gpu/failure';

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

/**
 * The GPU runtime's advice is the studio's ("lower the calibration samples…", "…kept"): on the
 * command line it names the command's flags, and says that the run wrote nothing.
 */
export function cliGpuAdvice(message: string, command: string | undefined): string {
  const lower =
    command === 'prune'
      ? 'Lower --nsamples or --seqlen, or prune a smaller model; nothing was written'
      : command === 'eval'
        ? 'Lower --seqlen, or evaluate a smaller model'
        : 'Use a smaller layer problem or model';
  return message
    .replace(LOWER_MEMORY, lower)
    .replace(KEPT, 'Nothing was written; run the command again (if the device keeps being lost, check the GPU driver or try another adapter)');
}
