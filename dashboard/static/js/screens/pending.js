// A screen whose API has not landed yet: says so, and which endpoints it waits for.

import { t } from '../i18n.js';
import { h } from '../ui.js';

export function render(main, ctx) {
  main.replaceChildren(
    h('h1', {}, t(`screen_${ctx.screen.id}`)),
    h('section', { class: 'panel', dataset: { card: 'pending' } },
      h('h2', {}, t('pending_title')),
      h('p', {}, t('pending_body')),
      h('ul', {}, ctx.screen.needs.map((n) => h('li', {}, h('code', {}, n))))));
}
