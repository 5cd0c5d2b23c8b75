// The live stream's events, handed to the page on screen, and the things
// a page must undo when the user leaves it.
const listeners = new Set();
let cleanup = [];

// onEvent calls fn(name, envelope, id) for every live event while the
// page is on screen.
export function onEvent(fn) { listeners.add(fn); }

// scoped registers fn to run when the page changes.
export function scoped(fn) { cleanup.push(fn); }

export function emit(name, env, id) {
  for (const fn of listeners) fn(name, env, id);
}

// leave ends the current page.
export function leave() {
  for (const fn of cleanup) fn();
  cleanup = [];
  listeners.clear();
}
