/** Errors and notices, newest last; each can be dismissed. */
import { useSession } from '../stores/session';

export function Banners() {
  const banners = useSession((s) => s.banners);
  const dismiss = useSession((s) => s.dismissBanner);
  if (!banners.length) return null;
  return (
    <div className="banners">
      {banners.map((b) => (
        <div key={b.id} className={`banner ${b.kind}`} role={b.kind === 'error' ? 'alert' : 'status'} data-testid={b.kind === 'error' ? 'error-banner' : 'info-banner'}>
          <div>
            <strong>{b.title}</strong>
            <p>{b.message}</p>
          </div>
          <button type="button" className="banner-close" aria-label="Dismiss" onClick={() => dismiss(b.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
