import type { AlpsOptions } from '../shared/methods';

/** The ρ schedule's state between checks (docs/algorithms.md, ALPS). */
export interface RhoSchedule {
  rho: number;
  /** Whether ρ has ever grown: decides between restart and growth, and whether c = 0 stops. */
  increased: boolean;
}

export interface RhoDecision {
  stop: boolean;
  /** Restart from B0, D_init, V = 0 (ρ lowered before any increase). */
  restart: boolean;
}

/**
 * One check of the schedule at iteration t on c, the support flips since the last check; updates
 * `s` in place. A pure function of (s, c, k, t): the GPU only has to deliver c.
 */
export function updateRho(s: RhoSchedule, c: number, k: number, t: number, o: AlpsOptions): RhoDecision {
  let stop = false;
  let restart = false;
  if (c > 0.1 * k) {
    s.rho *= 1.3;
    s.increased = true;
  } else if (c > 0.005 * k) {
    s.rho *= 1.2;
    s.increased = true;
  } else if (c >= 1) {
    if (s.increased) s.rho *= 1.1;
    else {
      s.rho /= 5;
      restart = true;
    }
  } else if (s.increased) {
    stop = true;
  } else {
    s.rho /= 5;
  }
  s.rho = Math.min(s.rho, o.rhoMax);
  if (t >= o.minIterations && c / Math.max(k, 1) < o.stopFraction) stop = true;
  return { stop, restart };
}
