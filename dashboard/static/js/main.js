// Boot and routing: sign-in, the navigation bar, and one render per URL change. Each render gets
// a context (its URL params, who the token is and the sites and agencies it may see — GET
// /api/v1/me, cut to an agency token's subtree by the server — cleanup hooks) and is abandoned
// when a newer one starts. <body data-status="loading|ready|error" data-renders="n"> tells tests (and
// screen readers via aria-live on <main>) when a screen is complete.

import { ApiError, getJson, token } from './api.js';
import { LANGS, getLang, setLang, t } from './i18n.js';
import { current, href, onChange, update } from './state.js';
import { disposeAll } from './charts.js';
import { SCREENS, screenById } from './screens/registry.js';
import { h, errorBox } from './ui.js';

const main = document.getElementById('app');
let generation = 0;
let cleanups = [];
let me = null;

function setStatus(status) {
  document.body.dataset.status = status;
  if (status !== 'loading') document.body.dataset.renders = String(generation);
}

function renderChrome(screenId, params) {
  document.title = `OpenEMC · ${t(`screen_${screenId}`)}`;
  const nav = document.getElementById('nav');
  const keep = new URLSearchParams(params);
  const shown = SCREENS.filter((s) => !(s.adminOnly && me?.role === 'agency')
    && !(s.editorOnly && me?.token_role === 'viewer'));
  nav.replaceChildren(...shown.map((s) => h('a', {
    href: href(s.id, keep), class: s.needs ? 'pending' : null,
    'aria-current': s.id === screenId ? 'page' : null, dataset: { screen: s.id },
  }, t(`screen_${s.id}`))));
  const lang = document.getElementById('lang');
  lang.textContent = t('lang_switch');
  lang.onclick = () => update({ lang: getLang() === 'vi' ? 'en' : null });
  const who = document.getElementById('who');
  who.textContent = !me || !token.get() ? '' : me.role === 'admin' ? t('role_admin') : me.agency?.name ?? '';
  const out = document.getElementById('signout');
  out.textContent = t('signout');
  out.hidden = !token.get();
  out.onclick = () => { token.clear(); me = null; route(); };
}

function signIn(message = '') {
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'current-password', required: true });
  const problem = h('p', { class: 'error', role: 'alert', hidden: !message }, message);
  const form = h('form', {
    onsubmit: async (event) => {
      event.preventDefault();
      try {
        me = await getJson('/api/v1/me', {}, input.value.trim());
      } catch (e) {
        problem.textContent = e instanceof ApiError && e.status === 401 ? t('wrong_token') : e.message;
        problem.hidden = false;
        return;
      }
      token.set(input.value.trim());
      route();
    },
  }, h('label', {}, t('token'), input), problem, h('button', { type: 'submit' }, t('signin')));
  main.replaceChildren(h('section', { class: 'panel signin', dataset: { card: 'signin' } },
    h('h1', {}, t('signin_title')), h('p', { class: 'muted' }, t('signin_help')), form));
  setStatus('ready');
}

async function route() {
  const mine = ++generation;
  for (const fn of cleanups) fn();
  cleanups = [];
  disposeAll();
  const { screen: id, params } = current();
  setLang(LANGS.includes(params.get('lang')) ? params.get('lang') : 'vi');
  const screen = screenById(id) ?? screenById('portal');
  renderChrome(screen.id, params);
  if (!token.get()) { signIn(); return; }
  setStatus('loading');
  const ctx = {
    screen, params, lang: getLang(),
    isCurrent: () => mine === generation,
    onCleanup: (fn) => cleanups.push(fn),
    update: (changes) => update(changes),
    fail: (e) => fail(e, mine),
    // after an editor changed the tree (issue 18): read /me again before the next render
    refreshMe: async () => { me = await getJson('/api/v1/me'); },
  };
  try {
    if (!me) {
      me = await getJson('/api/v1/me');
      renderChrome(screen.id, params);
    }
    ctx.me = me;
    ctx.sites = me.sites;
    const module = screen.load ? await screen.load() : await import('./screens/pending.js');
    await module.render(main, ctx);
    if (ctx.isCurrent()) setStatus('ready');
  } catch (e) {
    fail(e, mine);
  }
}

function fail(e, mine) {
  if (mine !== generation) return;
  if (e instanceof ApiError && e.status === 401) {
    token.clear();
    me = null;
    signIn(t('wrong_token'));
    return;
  }
  for (const pending of main.querySelectorAll('.loading')) pending.remove();
  // an agency token gets 404 for what lies outside its subtree, exactly like for what does not
  // exist (the API leaks no ids): say both possibilities
  const scoped = e instanceof ApiError && e.status === 404 && me?.role === 'agency';
  main.prepend(errorBox(scoped ? `${e.message} ${t('outside_scope')}` : e.message));
  setStatus('error');
  console.warn(e);
}

onChange(() => route());
route();
