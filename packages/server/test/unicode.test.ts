// Text is the same both ways: what a sender sent, what members got live and what history
// returns are one string. Text that has no UTF-8 form (an unpaired UTF-16 surrogate) is
// refused at send on both paths, naming the field, and nothing is stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from './backends';
import { api, Client, register, start, type Running } from './helpers';

describe.each(backends)('unicode text over $name', (backend) => {
  let s: Running;
  beforeAll(async () => {
    s = await start(backend);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('refuses unpaired surrogates in REST and WebSocket sends; well-formed text round-trips exactly', async () => {
    const alice = await register(s.url);
    const bob = await register(s.url);
    const cid = (
      await api(s.url, 'POST', '/api/conversations', {
        token: alice.token,
        json: { members: [bob.username] },
      })
    ).body.id as string;
    const path = `/api/conversations/${cid}/messages`;
    const b = await Client.open(s.url, bob.token);
    const a = await Client.open(s.url, alice.token);

    // REST: a lone high surrogate, a lone low one, a reversed pair; in text, clientId and source.video.
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ clientId: 'r1', kind: 'text', text: 'broken \ud83d here' }, 'text'],
      [{ clientId: 'r2', kind: 'text', text: '\ude00' }, 'text'],
      [{ clientId: 'r3', kind: 'text', text: 'x\ude00\ud83dy' }, 'text'],
      [{ clientId: 'r4\ud800', kind: 'text', text: 'fine' }, 'clientId'],
      [
        { clientId: 'r5', kind: 'text', text: 'fine', source: { video: 'clip\udfff.webm', at: 1 } },
        'source',
      ],
    ];
    for (const [json, field] of bad) {
      const r = await api(s.url, 'POST', path, { token: alice.token, json });
      expect(r.status, JSON.stringify(json)).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'ERR_VALIDATION', field });
      expect(r.body.error.message).toMatch(/unpaired UTF-16 surrogate/);
    }
    // WebSocket: the same refusal as an error frame answering the send.
    a.send({ type: 'send', clientId: 'w1', conversationId: cid, kind: 'text', text: 'ws \udbff' });
    const err = await a.next((f) => f.type === 'error' && f.clientId === 'w1');
    expect(err.error).toMatchObject({ code: 'ERR_VALIDATION', field: 'text' });
    a.send({ type: 'send', clientId: 'w2\udc00', conversationId: cid, kind: 'text', text: 'ok' });
    expect(
      (await a.next((f) => f.type === 'error' && f.error.field === 'clientId')).error.code,
    ).toBe('ERR_VALIDATION');
    // Nothing was stored.
    expect((await api(s.url, 'GET', path, { token: alice.token })).body.messages).toEqual([]);

    // Well-formed text of every width comes back identical, live and from history.
    const texts = [
      'emoji 😀👩🏽‍💻 flags 🇫🇷',
      '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠀀 astral',
      'é vs é (combining)',
      'zero\u200bwidth\u2028line',
      'ﷺ ﷽ RTL עברית',
      '\ufffd itself',
    ];
    for (const [i, text] of texts.entries()) {
      if (i % 2) {
        a.send({ type: 'send', clientId: `ok${i}`, conversationId: cid, kind: 'text', text });
        await a.next((f) => f.type === 'ack' && f.clientId === `ok${i}`);
      } else {
        expect(
          (
            await api(s.url, 'POST', path, {
              token: alice.token,
              json: { clientId: `ok${i}`, kind: 'text', text },
            })
          ).status,
        ).toBe(201);
      }
    }
    const live = await Promise.all(
      texts.map((_, i) => b.next((f) => f.type === 'message' && f.message.clientId === `ok${i}`)),
    );
    const history = (await api(s.url, 'GET', path, { token: bob.token })).body.messages as Array<{
      text: string;
    }>;
    expect(live.map((f) => f.message.text)).toEqual(texts);
    expect(history.map((m) => m.text)).toEqual(texts);
    await a.close();
    await b.close();
  });
});
