/** Small inline icons (no icon font, no emoji needed). */
const P = {
  fill: 'none',
  stroke: 'currentColor',
  'stroke-width': 2,
  'stroke-linecap': 'round',
  'stroke-linejoin': 'round',
} as const;

export const FilmIcon = () => (
  <svg class="ico" viewBox="0 0 24 24" width="14" height="14" aria-hidden="true" {...P}>
    <rect x="3" y="4" width="18" height="16" rx="2" />
    <path d="M7 4v16M17 4v16M3 9h4M3 15h4M17 9h4M17 15h4" />
  </svg>
);
export const PlusIcon = () => (
  <svg class="ico" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" {...P}>
    <path d="M12 5v14M5 12h14" />
  </svg>
);
export const SmileIcon = () => (
  <svg class="ico" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" {...P}>
    <circle cx="12" cy="12" r="9" />
    <path d="M8 14s1.5 2 4 2 4-2 4-2M9 9h.01M15 9h.01" />
  </svg>
);
