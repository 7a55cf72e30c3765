/**
 * The settings column. Wide screens: a column beside the tabs that scrolls on its own, under the
 * header, with the Run box kept at its bottom. Narrow screens (≤ 860 px, phones): a drawer opened
 * from the settings bar above the tabs, so the tabs come first; it closes by itself when a run
 * starts, so the Live tab is seen, and on Escape or a tap beside it.
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { create } from 'zustand';
import { methodLabel } from '../../shared/methods';
import { useSession } from '../stores/session';
import { useSettings } from '../stores/settings';

/** Must match the breakpoint of the drawer in styles.css. */
export const NARROW = '(max-width: 860px)';

export const useDrawer = create<{ open: boolean; setOpen(open: boolean): void }>((set) => ({ open: false, setOpen: (open) => set({ open }) }));

export function useNarrow(): boolean {
  const [narrow, setNarrow] = useState(() => window.matchMedia(NARROW).matches);
  useEffect(() => {
    const query = window.matchMedia(NARROW);
    const change = () => setNarrow(query.matches);
    query.addEventListener('change', change);
    return () => query.removeEventListener('change', change);
  }, []);
  return narrow;
}

export function Sidebar({ children }: { children: ReactNode }) {
  const narrow = useNarrow();
  const open = useDrawer((s) => s.open);
  const setOpen = useDrawer((s) => s.setOpen);
  const running = useSession((s) => s.job !== null);
  const closeButton = useRef<HTMLButtonElement>(null);
  const drawer = narrow && open;

  useEffect(() => {
    if (running) setOpen(false);
  }, [running, setOpen]);
  useEffect(() => {
    if (!drawer) return;
    closeButton.current?.focus({ preventScroll: true });
    const key = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !e.defaultPrevented) close();
    };
    document.addEventListener('keydown', key);
    return () => document.removeEventListener('keydown', key);
  }, [drawer]);

  return (
    <>
      {drawer ? <div className="drawer-backdrop" data-testid="drawer-backdrop" onClick={close} /> : null}
      <aside className={`sidebar${drawer ? ' open' : ''}`} data-testid="sidebar" aria-label="Settings" inert={narrow && !open}>
        {narrow ? (
          <div className="drawer-head">
            <strong>Settings</strong>
            <button ref={closeButton} type="button" className="button secondary small" data-testid="settings-close" onClick={close}>
              Close
            </button>
          </div>
        ) : null}
        {children}
      </aside>
    </>
  );

  function close() {
    setOpen(false);
    document.querySelector<HTMLElement>('[data-testid="settings-toggle"]')?.focus({ preventScroll: true });
  }
}

/** Narrow screens: the button that opens the settings, and what they are set to. Hidden on wide ones (CSS). */
export function SettingsBar() {
  const open = useDrawer((s) => s.open);
  const setOpen = useDrawer((s) => s.setOpen);
  const s = useSettings();
  const model = useSession((x) => x.model?.name ?? null);
  const what =
    s.method === 'spap'
      ? `SPAP · ${Math.round(s.channelFraction * 100)}% of MLP channels`
      : `${methodLabel(s.method)} · ${s.patternKind === 'unstructured' ? `${Math.round(s.sparsity * 100)}%` : s.patternKind}`;
  return (
    <div className="settings-bar">
      <button type="button" className="button secondary" data-testid="settings-toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
        ☰ Settings and Run
      </button>
      <span className="muted settings-summary" data-testid="settings-summary">
        {model ?? 'no model'} · {what}
      </span>
    </div>
  );
}
