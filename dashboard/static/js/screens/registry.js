// Every screen of the dashboard. A screen whose API is not on the server yet is listed with
// `needs` (what it will call) and renders the pending screen; to add it, write
// screens/<id>.js exporting `render(main, ctx)` and give it a `load` here instead of `needs`.
// `adminOnly` screens are left out of an agency token's navigation.

export const SCREENS = [
  { id: 'portal', load: () => import('./portal.js') },
  { id: 'dvc', load: () => import('./dvc.js') },
  { id: 'onestop', load: () => import('./onestop.js') },
  // rankings compare every ministry or province: the API answers them to the admin token only
  { id: 'rankings', load: () => import('./rankings.js'), adminOnly: true },
  // events, goals and funnels (issue 17 items 3, 4)
  { id: 'events', load: () => import('./events.js') },
  { id: 'connections', load: () => import('./connections.js') },
  { id: 'operations', load: () => import('./operations.js') },
];

export const screenById = (id) => SCREENS.find((s) => s.id === id) ?? null;
