/**
 * "What am I looking at": a few steps, each pointing at one part of the studio (model, method,
 * sparsity, Run, the Live, Layers and Evaluate tabs, the help buttons). Shown once on a first visit,
 * remembered in localStorage when finished or skipped, re-opened from the header. It does not block
 * the page: no backdrop, only a card and an outline around the part it explains, so everything
 * stays clickable while it is open.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { create } from 'zustand';

/** localStorage key: set once the tour was finished or skipped (end-to-end tests set it to skip it). */
export const TOUR_KEY = 'prune-studio.tour';

interface Step {
  /** What it points at: CSS selectors, the first visible one wins. */
  targets: string[];
  title: string;
  text: string;
}

/** On a narrow screen the settings are in a drawer: its button stands in for them. */
const SETTINGS = '[data-testid="settings-toggle"]';

const STEPS: Step[] = [
  { targets: ['[data-tour="model"]', SETTINGS], title: 'The model', text: 'A small language model is loaded for you. Drop your own Hugging Face model folder here to prune it instead; nothing leaves this computer.' },
  { targets: ['[role="radiogroup"][aria-label="Method"]', SETTINGS], title: 'The method', text: 'How weights are chosen for removal: ALPS optimises, SparseGPT updates as it goes, Wanda and magnitude only score; SPAP removes whole MLP channels.' },
  { targets: ['.slider:has([data-testid="sparsity"])', '.slider:has([data-testid="channel-fraction"])', SETTINGS], title: 'How much to remove', text: 'The sparsity: the fraction of each layer’s weights set to zero. Errors grow quickly past half.' },
  { targets: ['.run-section', SETTINGS], title: 'Run', text: 'Prune one layer to watch a method work on it, compare all methods on that layer, or prune the whole model block by block.' },
  { targets: ['[data-testid="tab-button-live"]'], title: 'Live', text: 'While a run goes, its charts grow here: for ALPS the error, how much the support still changes, and the penalty ρ, iteration by iteration.' },
  { targets: ['[data-testid="tab-button-layers"]'], title: 'Layers', text: 'Every pruned layer with its error; click one to see its weights, its mask and its convergence.' },
  { targets: ['[data-testid="tab-button-evaluate"]'], title: 'Evaluate', text: 'After a whole-model run: perplexity on held-out text, dense against pruned, and each model’s continuation of a prompt.' },
  { targets: ['.sidebar .help-button', '[data-testid="tour-open"]'], title: 'Help everywhere', text: 'Every setting and chart has a “?” button with a short explanation. This tour opens again from “Tour” at the top.' },
];

interface TourStore {
  /** The step shown, or null when the tour is closed. */
  step: number | null;
  start(): void;
  go(step: number): void;
  end(): void;
}

function remember(): void {
  try {
    localStorage.setItem(TOUR_KEY, 'done');
  } catch {
    // Storage may be off (private windows): the tour then shows on every visit.
  }
}

export const useTour = create<TourStore>((set) => ({
  step: null,
  start: () => set({ step: 0 }),
  go: (step) => set({ step }),
  end: () => {
    remember();
    set({ step: null });
  },
}));

function seen(): boolean {
  try {
    return localStorage.getItem(TOUR_KEY) !== null;
  } catch {
    return false;
  }
}

function visible(el: Element): boolean {
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden' && !el.closest('[inert]');
}

function findTarget(step: Step): Element | null {
  for (const selector of step.targets) {
    const el = [...document.querySelectorAll(selector)].find(visible);
    if (el) return el;
  }
  return null;
}

interface Placed {
  ring: { left: number; top: number; width: number; height: number } | null;
  card: { left: number; top: number };
}

const GAP = 10;

/** The card beside the target: right of it when there is room, else below, else above; always inside the viewport. */
function place(target: Element | null, card: HTMLElement): Placed {
  const vw = document.documentElement.clientWidth;
  const vh = window.innerHeight;
  const w = card.offsetWidth;
  const h = card.offsetHeight;
  const clampX = (x: number) => Math.max(GAP, Math.min(x, vw - w - GAP));
  const clampY = (y: number) => Math.max(GAP, Math.min(y, vh - h - GAP));
  if (!target) return { ring: null, card: { left: clampX((vw - w) / 2), top: clampY((vh - h) / 2) } };
  const r = target.getBoundingClientRect();
  const ring = { left: r.left - 4, top: r.top - 4, width: r.width + 8, height: r.height + 8 };
  if (r.right + GAP + w <= vw - GAP) return { ring, card: { left: r.right + GAP, top: clampY(r.top) } };
  if (r.bottom + GAP + h <= vh - GAP) return { ring, card: { left: clampX(r.left), top: r.bottom + GAP } };
  return { ring, card: { left: clampX(r.left), top: clampY(r.top - GAP - h) } };
}

export function Tour() {
  const step = useTour((s) => s.step);
  const { start, go, end } = useTour.getState();
  const card = useRef<HTMLDivElement>(null);
  const next = useRef<HTMLButtonElement>(null);
  const [placed, setPlaced] = useState<Placed | null>(null);

  // A first visit: start once the page has laid out.
  useEffect(() => {
    if (seen()) return;
    const timer = setTimeout(() => useTour.getState().step === null && !seen() && start(), 400);
    return () => clearTimeout(timer);
  }, [start]);

  useLayoutEffect(() => {
    if (step === null) return setPlaced(null);
    const target = findTarget(STEPS[step]);
    target?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    const update = () => {
      if (card.current) setPlaced(place(findTarget(STEPS[step]), card.current));
    };
    update();
    // The part pointed at may change size (the model panel folds once the model is loaded).
    const resized = new ResizeObserver(update);
    resized.observe(document.body);
    if (target) resized.observe(target);
    window.addEventListener('resize', update);
    window.addEventListener('scroll', update, true);
    return () => {
      resized.disconnect();
      window.removeEventListener('resize', update);
      window.removeEventListener('scroll', update, true);
    };
  }, [step]);

  // The card takes the focus once placed (a hidden element cannot), so Enter goes on and Escape ends.
  const shown = step !== null && placed !== null;
  useEffect(() => {
    if (shown) next.current?.focus({ preventScroll: true });
  }, [shown, step]);

  useEffect(() => {
    if (step === null) return;
    const key = (e: KeyboardEvent) => {
      if (e.key === 'Escape') end();
    };
    document.addEventListener('keydown', key);
    return () => document.removeEventListener('keydown', key);
  }, [step, end]);

  if (step === null) return null;
  const s = STEPS[step];
  // Pointing at the drawer's button instead of the part itself: say where the part is.
  const behind = s.targets.includes(SETTINGS) && findTarget(s)?.matches(SETTINGS);
  const last = step === STEPS.length - 1;
  return (
    <>
      {placed?.ring ? <div className="tour-ring" style={placed.ring} aria-hidden="true" /> : null}
      <div
        ref={card}
        className="tour-card"
        role="dialog"
        aria-modal="false"
        aria-labelledby="tour-title"
        data-testid="tour-card"
        data-step={step}
        style={placed ? placed.card : { left: 0, top: 0, visibility: 'hidden' }}
      >
        <p className="tour-count muted">
          {step + 1} of {STEPS.length}
        </p>
        <h2 id="tour-title">{s.title}</h2>
        <p>
          {s.text}
          {behind ? ' On this screen it is behind “Settings and Run”.' : null}
        </p>
        <div className="tour-buttons">
          <button type="button" className="link" data-testid="tour-skip" onClick={end}>
            {last ? 'Close' : 'Skip the tour'}
          </button>
          <span>
            {step > 0 ? (
              <button type="button" className="button secondary small" data-testid="tour-back" onClick={() => go(step - 1)}>
                Back
              </button>
            ) : null}{' '}
            <button ref={next} type="button" className="button small" data-testid="tour-next" onClick={() => (last ? end() : go(step + 1))}>
              {last ? 'Done' : 'Next'}
            </button>
          </span>
        </div>
      </div>
    </>
  );
}
