/**
 * The UI's handle on the engine worker: each request becomes a promise, and the events the worker
 * sends for that request go to the caller's callback. All GPU work happens in the worker.
 */
import type { EngineEvent, Request, Response, ResultOf } from '../worker/protocol';

/** An error the worker reported, with the worker-side error class name kept for the banner. */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly kind: string,
  ) {
    super(message);
    this.name = kind;
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onEvent?: (event: EngineEvent) => void;
}

export class EngineClient {
  private worker: Worker;
  private nextId = 1;
  private pending = new Map<number, Pending>();

  constructor() {
    this.worker = new Worker(new URL('../worker/engine.worker.ts', import.meta.url), { type: 'module', name: 'engine' });
    this.worker.onmessage = (message: MessageEvent<Response>) => this.receive(message.data);
    this.worker.onerror = (event) => {
      // A worker that fails to start or throws at top level: fail every waiting request rather than hang.
      event.preventDefault();
      this.failAll(new EngineError(`The engine stopped: ${event.message || 'the worker script failed to load'}`, 'WorkerError'));
    };
  }

  request<T extends Request>(req: T, onEvent?: (event: EngineEvent) => void): Promise<ResultOf[T['type']]> {
    const id = this.nextId++;
    return new Promise<ResultOf[T['type']]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, onEvent });
      // Files are structured-cloned (they are handles, not copies of the bytes).
      this.worker.postMessage({ id, request: req });
    });
  }

  private receive(message: Response): void {
    const entry = this.pending.get(message.id);
    if (!entry) return;
    if (message.kind === 'event') {
      entry.onEvent?.(message.event);
      return;
    }
    this.pending.delete(message.id);
    if (message.kind === 'result') entry.resolve(message.value);
    else entry.reject(new EngineError(message.message, message.name));
  }

  private failAll(error: Error): void {
    for (const entry of this.pending.values()) entry.reject(error);
    this.pending.clear();
  }
}

let client: EngineClient | null = null;

/** The one engine of this page, started on first use. */
export function engine(): EngineClient {
  client ??= new EngineClient();
  return client;
}
