#!/usr/bin/env node
// Test video generator (being filled in): returns the paths of the generated fixtures.
export async function ensureFixtures() {
  return {};
}
