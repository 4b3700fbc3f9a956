// Date presets in the site's timezone (report dates are local dates, DESIGN §2).

export const PRESETS = ['today', '7d', '30d', 'quarter', 'year', 'custom'];

/** Today's local date (YYYY-MM-DD) in `timeZone`. */
export function today(timeZone) {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(new Date());
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

function shift(iso, days) {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** {from, to} of `preset` ending today in `timeZone`; null for 'custom'. */
export function presetRange(preset, timeZone) {
  const end = today(timeZone);
  const [y, m] = end.split('-').map(Number);
  switch (preset) {
    case 'today': return { from: end, to: end };
    case '7d': return { from: shift(end, -6), to: end };
    case '30d': return { from: shift(end, -29), to: end };
    case 'quarter': {
      const first = Math.floor((m - 1) / 3) * 3 + 1;
      return { from: `${y}-${String(first).padStart(2, '0')}-01`, to: end };
    }
    case 'year': return { from: `${y}-01-01`, to: end };
    default: return null;
  }
}

export const isDate = (s) => typeof s === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(s);
