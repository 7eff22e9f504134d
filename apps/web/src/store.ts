/** A tiny observable store: `set` merges and notifies; `useStore` re-renders on change. */
import { useEffect, useState } from 'preact/hooks';

export class Store<S extends object> {
  private state: S;
  private readonly listeners = new Set<() => void>();
  constructor(initial: S) {
    this.state = initial;
  }
  get(): S {
    return this.state;
  }
  set(patch: Partial<S> | ((s: S) => Partial<S>)): void {
    const p = typeof patch === 'function' ? patch(this.state) : patch;
    this.state = { ...this.state, ...p };
    for (const l of this.listeners) l();
  }
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

/** Subscribes a component to a store and returns its current state. */
export function useStore<S extends object>(store: Store<S>): S {
  const [, tick] = useState(0);
  useEffect(() => store.subscribe(() => tick((n) => n + 1)), [store]);
  return store.get();
}
