/** Object icons with a status badge; the status is also the accessible label. */
import type { Kind, Status } from './model';
import { STATUS_TEXT } from './model';

const BADGE: Partial<Record<Status, string>> = {
  connected: '#2e9d3a', running: '#2e9d3a', disconnected: '#c62828', halted: '#c62828',
  maintenance: '#ef8a17', busy: '#ef8a17', suspended: '#e0b400', paused: '#e0b400',
  guidance: '#1e6fd9', unpatched: '#1e6fd9', 'sr-broken': '#c62828', 'sr-disabled': '#8a8a8a', 'sr-default': '#2e9d3a',
};

function Shape({ kind }: { kind: Kind }) {
  switch (kind) {
    case 'pool':
      return (<g fill="#5b7fa8" stroke="#2c4a6b" strokeWidth="0.8"><rect x="1.5" y="2" width="11" height="4" rx="1" /><rect x="1.5" y="7" width="11" height="4" rx="1" /><rect x="1.5" y="12" width="11" height="3" rx="1" opacity=".7" /></g>);
    case 'host':
      return (<g><rect x="2" y="2" width="11" height="12" rx="1.2" fill="#7d8fa3" stroke="#3c4b5c" strokeWidth="0.8" /><rect x="4" y="4.5" width="7" height="1.4" fill="#e9eef3" /><rect x="4" y="7.5" width="7" height="1.4" fill="#e9eef3" /></g>);
    case 'vm':
      return (<g><rect x="1.5" y="2.5" width="12" height="8.5" rx="1" fill="#4a90c8" stroke="#1f4e79" strokeWidth="0.8" /><rect x="3" y="4" width="9" height="5.5" fill="#cfe6f7" /><rect x="5.5" y="11.5" width="4" height="2" fill="#1f4e79" /></g>);
    case 'sr':
      return (<g fill="#a7b4c2" stroke="#4b5a69" strokeWidth="0.8"><ellipse cx="7.5" cy="4" rx="5.5" ry="2" /><path d="M2 4v8c0 1.1 2.5 2 5.5 2s5.5-.9 5.5-2V4" /><path d="M2 8c0 1.1 2.5 2 5.5 2s5.5-.9 5.5-2" fill="none" /></g>);
  }
}

export function ObjectIcon({ kind, status, size = 16 }: { kind: Kind; status: Status; size?: number }) {
  const colour = BADGE[status];
  const label = STATUS_TEXT[status];
  return (
    <svg className="icon" width={size} height={size} viewBox="0 0 18 18" role="img" aria-label={label}>
      <title>{label}</title>
      <Shape kind={kind} />
      {colour && (status === 'halted' || status === 'disconnected'
        ? <rect x="11" y="11" width="6.5" height="6.5" rx="1" fill={colour} stroke="#fff" strokeWidth="1" />
        : status === 'suspended' || status === 'paused'
          ? <g><circle cx="14" cy="14" r="3.6" fill={colour} stroke="#fff" strokeWidth="1" /><rect x="12.6" y="12.3" width="1" height="3.4" fill="#fff" /><rect x="14.4" y="12.3" width="1" height="3.4" fill="#fff" /></g>
          : <circle cx="14" cy="14" r="3.6" fill={colour} stroke="#fff" strokeWidth="1" />)}
    </svg>
  );
}
