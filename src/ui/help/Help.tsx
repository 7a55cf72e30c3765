/**
 * A small "?" button beside a setting, a chart or a tab that opens its short explanation
 * (src/ui/help/topics.ts) in a popover. A plain button, so keyboard (Tab, Enter/Space) and touch
 * work; Escape or a click elsewhere closes it and gives the focus back. One popover is open at a
 * time. The popover is drawn on document.body, fixed and kept inside the viewport, so no scrolling
 * panel clips it and it never widens the page.
 */
import { useEffect, useId, useLayoutEffect, useRef, useState, type RefObject } from 'react';
import { createPortal } from 'react-dom';
import { create } from 'zustand';
import { chartTopic, HELP, type HelpText, type HelpTopic } from './topics';

/** The id of the Help whose popover is open. */
const useOpenHelp = create<{ open: string | null; set(open: string | null): void }>((set) => ({ open: null, set: (open) => set({ open }) }));

const MARGIN = 8;

export function Help({ topic }: { topic: HelpTopic }) {
  const id = useId();
  const open = useOpenHelp((s) => s.open === id);
  const setOpen = useOpenHelp((s) => s.set);
  const button = useRef<HTMLButtonElement>(null);
  const text = HELP[topic];
  const close = (refocus: boolean) => {
    if (useOpenHelp.getState().open === id) setOpen(null);
    if (refocus) button.current?.focus();
  };
  return (
    <>
      <button
        ref={button}
        type="button"
        className="help-button"
        aria-label={`Help: ${text.title}`}
        aria-haspopup="dialog"
        aria-expanded={open}
        aria-controls={open ? `${id}help` : undefined}
        data-testid={`help-${topic}`}
        data-help={topic}
        onClick={(e) => {
          // Inside a <label> a click would also toggle or focus its control; inside a table row, select it.
          e.preventDefault();
          e.stopPropagation();
          setOpen(open ? null : id);
        }}
      />
      {open ? <Popover id={`${id}help`} text={text} anchor={button} onClose={close} /> : null}
    </>
  );
}

/** The help of a chart, found from its test id (chartTopic); nothing for a chart without one. */
export function ChartHelp({ testId }: { testId?: string }) {
  const topic = chartTopic(testId);
  return topic ? <Help topic={topic} /> : null;
}

function Popover({ id, text, anchor, onClose }: { id: string; text: HelpText; anchor: RefObject<HTMLButtonElement | null>; onClose: (refocus: boolean) => void }) {
  const box = useRef<HTMLDivElement>(null);
  const [at, setAt] = useState<{ left: number; top: number } | null>(null);
  const closeRef = useRef(onClose);
  closeRef.current = onClose;

  useLayoutEffect(() => {
    const place = () => {
      const a = anchor.current?.getBoundingClientRect();
      const el = box.current;
      if (!a || !el) return;
      const width = el.offsetWidth;
      const height = el.offsetHeight;
      const vw = document.documentElement.clientWidth;
      const vh = window.innerHeight;
      const left = Math.max(MARGIN, Math.min(a.left + a.width / 2 - width / 2, vw - width - MARGIN));
      // Below the button if it fits, else above, else as low as the viewport allows.
      const below = a.bottom + 6;
      const above = a.top - 6 - height;
      const top = below + height <= vh - MARGIN ? below : above >= MARGIN ? above : Math.max(MARGIN, vh - height - MARGIN);
      setAt({ left, top });
    };
    place();
    window.addEventListener('resize', place);
    window.addEventListener('scroll', place, true);
    return () => {
      window.removeEventListener('resize', place);
      window.removeEventListener('scroll', place, true);
    };
  }, [anchor]);

  // Focus moves into the text once it is placed (a hidden element cannot take it), so a screen reader reads it.
  const placed = at !== null;
  useEffect(() => {
    if (placed) box.current?.focus({ preventScroll: true });
  }, [placed]);

  useEffect(() => {
    const key = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        closeRef.current(true);
      }
    };
    const pointer = (e: PointerEvent) => {
      if (outside(e.target)) closeRef.current(false);
    };
    document.addEventListener('keydown', key, true);
    document.addEventListener('pointerdown', pointer, true);
    return () => {
      document.removeEventListener('keydown', key, true);
      document.removeEventListener('pointerdown', pointer, true);
    };
  }, [anchor]);

  return createPortal(
    <div
      ref={box}
      id={id}
      role="dialog"
      aria-labelledby={`${id}title`}
      tabIndex={-1}
      className="help-popover"
      data-testid="help-popover"
      style={at ? { left: at.left, top: at.top } : { left: 0, top: 0, visibility: 'hidden' }}
      // Tabbing out of the text closes it, as a click elsewhere does.
      onBlur={(e) => {
        if (outside(e.relatedTarget)) onClose(false);
      }}
    >
      <div className="help-popover-head">
        <strong id={`${id}title`}>{text.title}</strong>
        <button type="button" className="help-close" aria-label="Close help" data-testid="help-close" onClick={() => onClose(true)}>
          ×
        </button>
      </div>
      {text.body.map((p, i) => (
        <p key={i}>{p}</p>
      ))}
    </div>,
    document.body,
  );

  function outside(node: EventTarget | null): boolean {
    return node instanceof Node && !box.current?.contains(node) && !anchor.current?.contains(node);
  }
}
