import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from './backends';
import { api, Client, register, start, type Running } from './helpers';

describe.each(backends)('chat over $name', (backend) => {
  let s: Running;
  beforeAll(async () => {
    s = await start(backend);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('two users talk live on several devices; a third is refused everywhere', async () => {
    const alice = await register(s.url);
    const bob = await register(s.url);
    const eve = await register(s.url);
    const conv = await api(s.url, 'POST', '/api/conversations', {
      token: alice.token,
      json: { members: [bob.username] },
    });
    expect(conv.status).toBe(201);
    const cid = conv.body.id as string;
    // The same pair again returns the same direct conversation.
    const again = await api(s.url, 'POST', '/api/conversations', {
      token: bob.token,
      json: { members: [alice.username] },
    });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(cid);

    const a = await Client.open(s.url, alice.token);
    const b1 = await Client.open(s.url, bob.token);
    const b2 = await Client.open(s.url, bob.token);
    a.send({
      type: 'send',
      clientId: 'c1',
      conversationId: cid,
      kind: 'text',
      text: '<b>hi</b> bob',
    });
    const ack = await a.next((f) => f.type === 'ack');
    expect(ack).toMatchObject({ clientId: 'c1', seq: 1, conversationId: cid, duplicate: false });
    for (const c of [b1, b2, a]) {
      const m = await c.next((f) => f.type === 'message');
      expect(m.message).toMatchObject({
        id: ack.id,
        seq: 1,
        text: '<b>hi</b> bob',
        sender: alice.username,
        kind: 'text',
      });
    }
    b1.send({
      type: 'send',
      clientId: 'r1',
      conversationId: cid,
      kind: 'text',
      text: 'hello alice',
    });
    expect((await a.next((f) => f.type === 'message' && f.message.seq === 2)).message.text).toBe(
      'hello alice',
    );

    // Unread and last message in the list.
    const list = await api(s.url, 'GET', '/api/conversations', { token: alice.token });
    expect(list.body.conversations[0]).toMatchObject({ id: cid, unread: 1, lastSeq: 2 });
    expect(list.body.conversations[0].lastMessage.text).toBe('hello alice');
    const read = await api(s.url, 'POST', `/api/conversations/${cid}/read`, {
      token: alice.token,
      json: { seq: 2 },
    });
    expect(read.body.readSeq).toBe(2);
    expect(
      (await api(s.url, 'GET', '/api/conversations', { token: alice.token })).body.conversations[0]
        .unread,
    ).toBe(0);

    // Eve: not a member.
    expect(
      (await api(s.url, 'GET', `/api/conversations/${cid}/messages`, { token: eve.token })).status,
    ).toBe(404);
    const post = await api(s.url, 'POST', `/api/conversations/${cid}/messages`, {
      token: eve.token,
      json: { clientId: 'x', kind: 'text', text: 'hi' },
    });
    expect(post.status).toBe(404);
    expect(post.body.error.code).toBe('ERR_CONVERSATION_NOT_FOUND');
    const e = await Client.open(s.url, eve.token);
    e.send({ type: 'send', clientId: 'e1', conversationId: cid, kind: 'text', text: 'let me in' });
    expect((await e.next((f) => f.type === 'error')).error.code).toBe('ERR_CONVERSATION_NOT_FOUND');
    e.send({ type: 'sync', since: { [cid]: 0 } });
    await e.next((f) => f.type === 'synced');
    expect(e.messages()).toHaveLength(0);

    // History pages backwards.
    for (let i = 0; i < 5; i++)
      await api(s.url, 'POST', `/api/conversations/${cid}/messages`, {
        token: alice.token,
        json: { clientId: `p${i}`, kind: 'text', text: `n${i}` },
      });
    const page1 = await api(s.url, 'GET', `/api/conversations/${cid}/messages?limit=3`, {
      token: bob.token,
    });
    expect(page1.body.messages.map((m: any) => m.seq)).toEqual([5, 6, 7]);
    const page2 = await api(
      s.url,
      'GET',
      `/api/conversations/${cid}/messages?limit=3&before=${page1.body.before}`,
      { token: bob.token },
    );
    expect(page2.body.messages.map((m: any) => m.seq)).toEqual([2, 3, 4]);
    for (const c of [a, b1, b2, e]) await c.close();
  });

  it('a resent clientId makes one message, over WebSocket and REST', async () => {
    const a = await register(s.url);
    const b = await register(s.url);
    const cid = (
      await api(s.url, 'POST', '/api/conversations', {
        token: a.token,
        json: { members: [b.username] },
      })
    ).body.id;
    const ca = await Client.open(s.url, a.token);
    const cb = await Client.open(s.url, b.token);
    for (let i = 0; i < 3; i++)
      ca.send({ type: 'send', clientId: 'same', conversationId: cid, kind: 'text', text: 'once' });
    await ca.next((f) => f.type === 'ack' && f.duplicate === true);
    await new Promise((r) => setTimeout(r, 100));
    const acks = ca.frames.filter((f) => f.type === 'ack');
    expect(acks).toHaveLength(3);
    expect(new Set(acks.map((x) => x.id)).size).toBe(1);
    const r1 = await api(s.url, 'POST', `/api/conversations/${cid}/messages`, {
      token: a.token,
      json: { clientId: 'same', kind: 'text', text: 'once' },
    });
    expect(r1.status).toBe(200);
    expect(r1.body.duplicate).toBe(true);
    expect(r1.body.message.id).toBe(acks[0].id);
    // Every resend is published again (see the next test); it is the same message each time.
    expect(new Set(cb.messages(cid).map((m) => `${m.id}@${m.seq}`))).toEqual(
      new Set([`${acks[0].id}@1`]),
    );
    const hist = await api(s.url, 'GET', `/api/conversations/${cid}/messages`, { token: b.token });
    expect(hist.body.messages).toHaveLength(1);
    await ca.close();
    await cb.close();
  });

  it('a message stored but never published (its node died) reaches the peer live when the sender resends it', async () => {
    const a = await register(s.url);
    const b = await register(s.url);
    const cid = (
      await api(s.url, 'POST', '/api/conversations', {
        token: a.token,
        json: { members: [b.username] },
      })
    ).body.id;
    const cb = await Client.open(s.url, b.token);
    // What a node that crashed between the durable write and the publish leaves behind.
    const [stored] = await s.server.store.appendMessages([
      {
        id: randomUUID(),
        conversationId: cid,
        senderId: a.id,
        senderName: a.username,
        clientId: 'lost-ack',
        kind: 'text',
        text: 'are you there?',
        media: null,
        source: null,
        createdAt: Date.now(),
        replyTo: null,
        reactions: [],
        editedAt: null,
        deletedAt: null,
        rev: 0,
      },
    ]);
    expect(stored!.created).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(cb.messages(cid)).toHaveLength(0);
    // The sender never got its ack, so its outbox sends it again.
    const ca = await Client.open(s.url, a.token);
    ca.send({
      type: 'send',
      clientId: 'lost-ack',
      conversationId: cid,
      kind: 'text',
      text: 'are you there?',
    });
    expect(await ca.next((f) => f.type === 'ack')).toMatchObject({
      duplicate: true,
      id: stored!.message.id,
      seq: 1,
    });
    const m = await cb.next((f) => f.type === 'message' && f.message.conversationId === cid);
    expect(m.message).toMatchObject({ id: stored!.message.id, seq: 1, text: 'are you there?' });
    await ca.close();
    await cb.close();
  });

  it('sync after reconnect replays exactly the missed messages in order', async () => {
    const a = await register(s.url);
    const b = await register(s.url);
    const cid = (
      await api(s.url, 'POST', '/api/conversations', {
        token: a.token,
        json: { members: [b.username] },
      })
    ).body.id;
    const ca = await Client.open(s.url, a.token);
    let cb = await Client.open(s.url, b.token);
    for (let i = 1; i <= 3; i++)
      ca.send({
        type: 'send',
        clientId: `m${i}`,
        conversationId: cid,
        kind: 'text',
        text: `m${i}`,
      });
    await cb.next((f) => f.type === 'message' && f.message.seq === 3);
    const lastSeen = 3;
    await cb.close();
    for (let i = 4; i <= 10; i++)
      ca.send({
        type: 'send',
        clientId: `m${i}`,
        conversationId: cid,
        kind: 'text',
        text: `m${i}`,
      });
    await ca.next((f) => f.type === 'ack' && f.clientId === 'm10');
    cb = await Client.open(s.url, b.token);
    cb.send({ type: 'sync', since: { [cid]: lastSeen } });
    const synced = await cb.next((f) => f.type === 'synced');
    expect(synced.until[cid]).toBe(10);
    expect(cb.messages(cid).map((m) => m.seq)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(cb.messages(cid).map((m) => m.text)).toEqual([
      'm4',
      'm5',
      'm6',
      'm7',
      'm8',
      'm9',
      'm10',
    ]);
    await ca.close();
    await cb.close();
  });
});

describe.each(backends)('groups over $name', (backend) => {
  let s: Running;
  beforeAll(async () => {
    s = await start(backend);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('a group reaches every member live; new members hear about the conversation', async () => {
    const [a, b, c, d] = await Promise.all([
      register(s.url),
      register(s.url),
      register(s.url),
      register(s.url),
    ]);
    const cb = await Client.open(s.url, b.token);
    const g = await api(s.url, 'POST', '/api/conversations', {
      token: a.token,
      json: { members: [b.username, c.username], title: 'Film night' },
    });
    expect(g.status).toBe(201);
    expect(g.body).toMatchObject({ kind: 'group', title: 'Film night' });
    expect(g.body.members.map((m: any) => m.username).sort()).toEqual(
      [a.username, b.username, c.username].sort(),
    );
    expect((await cb.next((f) => f.type === 'conversation')).conversationId).toBe(g.body.id);
    const cc = await Client.open(s.url, c.token);
    const cd = await Client.open(s.url, d.token);
    const ca = await Client.open(s.url, a.token);
    ca.send({
      type: 'send',
      clientId: 'g1',
      conversationId: g.body.id,
      kind: 'text',
      text: 'popcorn?',
    });
    for (const x of [cb, cc, ca])
      expect((await x.next((f) => f.type === 'message')).message.text).toBe('popcorn?');
    await new Promise((r) => setTimeout(r, 100));
    expect(cd.messages()).toHaveLength(0);
    // Read positions sync to my other devices.
    const cb2 = await Client.open(s.url, b.token);
    cb.send({ type: 'read', conversationId: g.body.id, seq: 1 });
    expect(await cb2.next((f) => f.type === 'read')).toMatchObject({
      conversationId: g.body.id,
      seq: 1,
    });
    for (const x of [ca, cb, cb2, cc, cd]) await x.close();
  });
});
