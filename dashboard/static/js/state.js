// The selection lives in the URL hash (#/screen?site=…&from=…), so every view is bookmarkable
// and the back button works. Screens read `current()` and change it with `update()`.

const listeners = new Set();

/** {screen, params: URLSearchParams} of the current hash. */
export function current() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [screen, query = ''] = hash.split('?');
  return { screen: screen || 'portal', params: new URLSearchParams(query) };
}

/** The hash for `screen` with `params` (an object or URLSearchParams; empty values dropped,
 * repeated ones such as `filter` kept). */
export function href(screen, params) {
  const clean = new URLSearchParams();
  for (const [k, v] of new URLSearchParams(params)) if (v !== '' && v != null) clean.append(k, v);
  const query = clean.toString();
  return `#/${screen}${query ? `?${query}` : ''}`;
}

/** Merge `changes` into the current params (null removes; an array sets a repeated parameter,
 * each value kept even when empty: `filter=referrer:`) and navigate. */
export function update(changes, screen) {
  const now = current();
  const params = now.params;
  for (const [k, v] of Object.entries(changes)) {
    if (Array.isArray(v)) { params.delete(k); for (const one of v) params.append(k, String(one)); }
    else if (v === null || v === undefined || v === '') params.delete(k); else params.set(k, String(v));
  }
  const next = href(screen ?? now.screen, params);
  if (next !== location.hash) location.hash = next;
}

export function onChange(listener) { listeners.add(listener); }

window.addEventListener('hashchange', () => { for (const l of listeners) l(current()); });
