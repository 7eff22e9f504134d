/**
 * Group members in real Chromium, three people against a real server: the admin adds
 * someone by username and removes them (who loses the open conversation at once), a member
 * renames the group and another sees it, a member leaves; every change shows as a
 * centred system line to the others, and the members panel marks the admin and who is
 * online.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { signUp, startApp, stopApp, type Person, type TestServer } from './harness';

let server: TestServer;
let browser: Browser;
let rita: Person;
let sam: Person;
let tom: Person;

const convs = (p: Person) => p.page.getByTestId('conversation');
const system = (p: Person) =>
  p.page.locator('[data-testid=system-message] > span:first-child').allTextContents();
const open = async (p: Person, title: string) => {
  await convs(p).filter({ hasText: title }).first().click();
  await p.page.locator('.chat-title').filter({ hasText: title }).waitFor();
};

beforeAll(async () => {
  ({ server, browser, a: rita, b: sam } = await startApp('rita', 'sam'));
  tom = await signUp(browser, server.url, 'tom');
}, 180_000);

afterAll(async () => {
  await stopApp({ server, browser });
});

describe('group members', () => {
  it('add, rename, remove and leave, each seen live by the others', async () => {
    // Rita starts a group with Sam.
    await rita.page.getByRole('button', { name: 'New conversation' }).click();
    await rita.page.getByLabel('Usernames').fill('sam');
    await rita.page.getByLabel('Group name').fill('Film night');
    await rita.page.getByRole('button', { name: 'Start' }).click();
    await rita.page.locator('.chat-title').filter({ hasText: 'Film night' }).waitFor();
    await expect
      .poll(() => convs(sam).filter({ hasText: 'Film night' }).count(), { timeout: 10_000 })
      .toBe(1);
    await open(sam, 'Film night');

    // The panel: Rita is the admin; both are online; she adds Tom by username.
    await rita.page.getByTestId('open-members').click();
    const panel = rita.page.getByTestId('members');
    const member = (name: string) => panel.locator(`[data-testid=member][data-username="${name}"]`);
    await expect.poll(() => member('rita').textContent()).toContain('admin');
    expect(await member('sam').textContent()).not.toContain('admin');
    await expect.poll(() => member('sam').textContent(), { timeout: 10_000 }).toContain('online');
    await panel.getByLabel('Add people').fill('tom');
    await panel.getByRole('button', { name: 'Add', exact: true }).click();
    await expect.poll(() => member('tom').count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => panel.getByLabel('Add people').inputValue()).toBe('');
    // An unknown name is refused with the server's words.
    await panel.getByLabel('Add people').fill('nobody-at-all');
    await panel.getByRole('button', { name: 'Add', exact: true }).click();
    await expect
      .poll(() => panel.getByRole('alert').textContent(), { timeout: 10_000 })
      .toContain('not every username');
    await panel.getByRole('button', { name: 'Close' }).click();

    // Sam sees the system line; Tom gets the group in his list live and reads the history.
    await expect.poll(() => system(sam), { timeout: 10_000 }).toEqual(['rita added tom']);
    await expect
      .poll(() => convs(tom).filter({ hasText: 'Film night' }).count(), { timeout: 10_000 })
      .toBe(1);
    await open(tom, 'Film night');
    await expect.poll(() => system(tom), { timeout: 10_000 }).toEqual(['rita added tom']);

    // Sam (not the admin) may rename, but sees no add or remove.
    await sam.page.getByTestId('open-members').click();
    const samPanel = sam.page.getByTestId('members');
    await samPanel.locator('[data-testid=member]').first().waitFor();
    expect(await samPanel.getByLabel('Add people').count()).toBe(0);
    expect(await samPanel.getByRole('button', { name: /^Remove/ }).count()).toBe(0);
    await expect.poll(() => samPanel.getByLabel('Group name').inputValue()).toBe('Film night');
    await samPanel.getByLabel('Group name').fill('Movie club');
    await samPanel.getByRole('button', { name: 'Rename' }).click();
    await sam.page.locator('.chat-title').filter({ hasText: 'Movie club' }).waitFor();
    await samPanel.getByRole('button', { name: 'Close' }).click();
    await rita.page.locator('.chat-title').filter({ hasText: 'Movie club' }).waitFor();
    await expect
      .poll(() => system(rita), { timeout: 10_000 })
      .toContain('sam renamed the group to “Movie club”');
    await expect
      .poll(() => convs(tom).filter({ hasText: 'Movie club' }).count(), { timeout: 10_000 })
      .toBe(1);

    // Rita removes Tom, whose app drops the open conversation at once.
    await rita.page.getByTestId('open-members').click();
    await panel.getByRole('button', { name: 'Remove tom' }).click();
    await expect.poll(() => member('tom').count(), { timeout: 10_000 }).toBe(0);
    await panel.getByRole('button', { name: 'Close' }).click();
    await expect
      .poll(() => convs(tom).filter({ hasText: 'Movie club' }).count(), { timeout: 10_000 })
      .toBe(0);
    await expect.poll(() => tom.page.locator('.chat-title').count()).toBe(0);
    expect(await tom.page.getByTestId('system-message').count()).toBe(0);
    await expect.poll(() => system(sam), { timeout: 10_000 }).toContain('rita removed tom');

    // Sam leaves: the group is gone from his app; Rita sees that he left.
    await sam.page.getByTestId('open-members').click();
    await samPanel.getByRole('button', { name: 'Leave group' }).click();
    await expect
      .poll(() => convs(sam).filter({ hasText: 'Movie club' }).count(), { timeout: 10_000 })
      .toBe(0);
    await expect.poll(() => sam.page.getByTestId('members').count()).toBe(0);
    await expect.poll(() => system(rita), { timeout: 10_000 }).toContain('sam left');
    await rita.page.getByTestId('open-members').click();
    await expect
      .poll(() => panel.locator('[data-testid=member]').allTextContents())
      .toEqual([expect.stringContaining('rita')]);
    await panel.getByRole('button', { name: 'Close' }).click();
  });
});
