/**
 * Which attention key/value groups each block kept (SPAP over heads): one row per block, one cell per
 * group (a key/value head and the query heads sharing it), kept dark, removed orange. Groups are few
 * (at most a few dozen), so plain cells with their own titles.
 */
import type { BlockHeadReport } from '../../shared/channels';
import { formatSci } from '../format';

const KEPT = 'rgb(51, 65, 85)';
const REMOVED = 'rgb(251, 146, 60)';

export function HeadMap({ blocks }: { blocks: BlockHeadReport[] }) {
  if (!blocks.length) return null;
  const groups = blocks[0].groups;
  const perGroup = blocks[0].queriesPerGroup;
  const heads = (g: number) => (perGroup > 1 ? `query heads ${g * perGroup}–${(g + 1) * perGroup - 1}` : `head ${g}`);
  return (
    <div data-testid="head-map">
      <h3>
        Attention key/value groups kept <span className="muted">({blocks[0].kept.length} of {groups} per block{perGroup > 1 ? `, ${perGroup} query heads each` : ''}; dark kept, orange removed)</span>
      </h3>
      <table className="table compact">
        <tbody>
          {blocks.map((b) => (
            <tr key={b.block} data-testid="head-map-row">
              <td>block {b.block}</td>
              <td>
                <div style={{ display: 'flex', gap: 3 }}>
                  {Array.from({ length: groups }, (_, g) => {
                    const kept = b.kept.includes(g);
                    return (
                      <span
                        key={g}
                        data-testid={kept ? 'head-kept' : 'head-removed'}
                        title={`group ${g} (${heads(g)}): ${kept ? 'kept' : 'removed'}`}
                        style={{ display: 'inline-block', minWidth: 28, height: 18, lineHeight: '18px', textAlign: 'center', fontSize: 11, color: 'white', borderRadius: 3, background: kept ? KEPT : REMOVED }}
                      >
                        {g}
                      </span>
                    );
                  })}
                </div>
              </td>
              <td className="num" title="o_proj's ‖X(W−W₀)ᵀ‖² / ‖XW₀ᵀ‖² after the refit on the kept heads">{formatSci(b.relError, 3)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
