// Talks to the warehouse API with the signed-in token (sessionStorage, sent as Bearer).

const KEY = 'emc.token';

export class ApiError extends Error {
  constructor(status, message, body = null) { super(message); this.status = status; this.body = body; }
}

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (value) => sessionStorage.setItem(KEY, value),
  clear: () => sessionStorage.removeItem(KEY),
};

function url(path, params = {}) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) for (const one of v) query.append(k, one); // repeated: filter=…&filter=…
    else if (v !== null && v !== undefined && v !== '') query.set(k, v);
  }
  const text = query.toString();
  return `${path}${text ? `?${text}` : ''}`;
}

async function call(path, params, bearer) {
  const response = await fetch(url(path, params), {
    headers: { Authorization: `Bearer ${bearer ?? token.get() ?? ''}` },
  });
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try { message = (await response.json()).error ?? message; } catch { /* not JSON */ }
    throw new ApiError(response.status, message);
  }
  return response;
}

/** GET `path` with query `params`; the decoded JSON, or ApiError with the API's message. */
export async function getJson(path, params = {}, bearer = undefined) {
  return (await call(path, params, bearer)).json();
}

/** Fetch `path` as CSV/XLSX with the token and hand it to the browser as a file download
 * (a plain link cannot carry the Authorization header). */
export async function download(path, params, format) {
  const response = await call(path, { ...params, format });
  const blob = await response.blob();
  const disposition = response.headers.get('Content-Disposition') ?? '';
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? `export.${format}`;
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

// --- writes (issue 18: the editor's screens) ---

/** Send `body` (a FormData, or a value sent as JSON) with `method` to `path`; the decoded
 * JSON answer, or ApiError whose `body` keeps the whole answer (a refused workbook's
 * `problems`, row by row). */
export async function send(method, path, body = null) {
  const headers = { Authorization: `Bearer ${token.get() ?? ''}` };
  let payload = body;
  if (body !== null && !(body instanceof FormData)) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers, body: payload });
  let answer = null;
  try { answer = await response.json(); } catch { /* not JSON */ }
  if (!response.ok) throw new ApiError(response.status, answer?.error ?? `HTTP ${response.status}`, answer);
  return answer;
}
