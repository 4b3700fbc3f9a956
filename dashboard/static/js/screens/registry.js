// Every screen of the dashboard. A screen whose API is not on the server yet is listed with
// `needs` (what it will call) and renders the pending screen; to add it, write
// screens/<id>.js exporting `render(main, ctx)` and give it a `load` here instead of `needs`.
// `adminOnly` screens are left out of an agency token's navigation, `editorOnly` ones out of a
// viewer token's (issue 18).

export const SCREENS = [
  { id: 'portal', load: () => import('./portal.js') },
  { id: 'dvc', load: () => import('./dvc.js') },
  { id: 'onestop', load: () => import('./onestop.js') },
  // the admin ranks ministries and provinces; every token ranks the children in its subtree
  { id: 'rankings', load: () => import('./rankings.js') },
  // events, goals and funnels (issue 17 items 3, 4)
  { id: 'events', load: () => import('./events.js') },
  { id: 'connections', load: () => import('./connections.js') },
  { id: 'operations', load: () => import('./operations.js') },
  // self-service (issue 18): catalogs, accounts, the agency tree; tokens for editors and the admin
  { id: 'catalog', load: () => import('./catalog.js') },
  { id: 'accounts', load: () => import('./accounts.js') },
  { id: 'agencies', load: () => import('./agencies.js') },
  { id: 'tokens', load: () => import('./tokens.js'), editorOnly: true },
  // targets (chỉ tiêu) and reconciliation (đối soát), issue 18 items 4 and 6
  { id: 'targets', load: () => import('./targets.js') },
  { id: 'reconciliation', load: () => import('./reconciliation.js') },
  // e-mailed reports (issue 18 item 5): every token reads, editors create and send
  { id: 'schedules', load: () => import('./schedules.js') },
];

export const screenById = (id) => SCREENS.find((s) => s.id === id) ?? null;
