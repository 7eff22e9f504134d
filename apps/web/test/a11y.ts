/**
 * Accessibility checks for the end-to-end tests: axe-core on the page as it is, and the
 * keyboard facts axe cannot see (where Tab goes, whether the focused control shows it).
 */
import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';

/** The impacts a screen must not have: the ones that stop someone from using it. */
const BLOCKING = new Set(['serious', 'critical']);
/**
 * Moderate rules held as strictly: one h1 for the page, and everything in a landmark
 * (banner, navigation, main, complementary, dialog), so headings and landmarks navigate it.
 */
const STRUCTURE = new Set([
  'page-has-heading-one',
  'landmark-one-main',
  'landmark-no-duplicate-main',
  'landmark-unique',
  'region',
]);

interface Violation {
  id: string;
  impact: string;
  help: string;
  targets: string[];
  /** Per node: its selector and why it fails (colours and ratio, for contrast). */
  nodes: string[];
}

/**
 * axe-core's serious and critical violations on the page as it is now, and those of the
 * structure rules above (all impacts with `all`, to see what else axe says).
 */
async function blockingViolations(page: Page, all = false): Promise<Violation[]> {
  // WCAG 2.1 A and AA plus axe's best practices (one h1, landmarks, regions).
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'])
    .analyze();
  return results.violations
    .filter((v) => all || BLOCKING.has(v.impact ?? '') || STRUCTURE.has(v.id))
    .map((v) => ({
      id: v.id,
      impact: v.impact ?? '',
      help: v.help,
      targets: v.nodes.map((n) => n.target.map(String).join(' ')),
      nodes: v.nodes.map(
        (n) =>
          `${n.target.map(String).join(' ')}: ` +
          (n.failureSummary ?? '')
            .replace(/^Fix (any|all) of the following:\s*/, '')
            .replace(/\s+/g, ' ')
            .trim(),
      ),
    }));
}

/** One line per violated rule: what, how bad, where, why. */
function describeViolations(screen: string, vs: Violation[]): string {
  if (!vs.length) return `${screen}: no serious or critical violations, structure sound`;
  return [
    `${screen}: ${vs.length} serious/critical or structure violation(s)`,
    ...vs.map(
      (v) =>
        `- ${v.id} (${v.impact}) ×${v.targets.length}: ${v.help}\n` +
        v.nodes
          .slice(0, 30)
          .map((n) => `    ${n}`)
          .join('\n'),
    ),
  ].join('\n');
}

/** Fails with a readable list when the page has any violation `blockingViolations` counts. */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  if (process.env.CLIPCHAT_A11Y_LOG === 'all')
    console.log(
      describeViolations(`${screen} (all impacts)`, await blockingViolations(page, true)),
    );
  const vs = await blockingViolations(page);
  if (process.env.CLIPCHAT_A11Y_LOG) console.log(describeViolations(screen, vs));
  if (vs.length) throw new Error(describeViolations(screen, vs));
}

/** What has keyboard focus, and whether it shows: an outline or a box-shadow ring. */
export async function focused(page: Page): Promise<{
  tag: string;
  name: string;
  testid: string | null;
  visible: boolean;
}> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return { tag: 'body', name: '', testid: null, visible: false };
    const cs = getComputedStyle(el);
    const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 1;
    const ring = cs.boxShadow !== 'none' && cs.boxShadow !== '';
    return {
      tag: el.tagName.toLowerCase(),
      name: (el.getAttribute('aria-label') ?? el.textContent ?? '').trim(),
      testid: el.getAttribute('data-testid'),
      visible: outline || ring,
    };
  });
}

/**
 * Presses Tab until `match` holds for the focused element (at most `limit` times), so a
 * test proves the control is on the Tab path; returns what was focused on the way.
 */
export async function tabTo(
  page: Page,
  match: (f: Awaited<ReturnType<typeof focused>>) => boolean,
  limit = 60,
): Promise<Awaited<ReturnType<typeof focused>>[]> {
  const seen: Awaited<ReturnType<typeof focused>>[] = [];
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    seen.push(f);
    if (match(f)) return seen;
  }
  throw new Error(
    `Tab did not reach the control in ${limit} presses; it went through:\n` +
      seen.map((f) => `  ${f.tag} ${f.testid ?? ''} “${f.name.slice(0, 40)}”`).join('\n'),
  );
}
