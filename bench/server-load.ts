/**
 * The load generator of the server benchmark, in its own process. Reusable: give it the
 * node URLs, session tokens and pairs, and it drives them.
 *
 * Socket i connects to `urls[i % urls.length]` as user i; sockets 2p and 2p+1 share
 * conversation p. Every tick it sends `rate/ticksPerSecond` text messages round-robin over
 * the sockets; the send time is kept by clientId, and the peer socket's `message` frame
 * gives the send-to-receive latency (same process, same clock). After the run it waits
 * for stragglers, then counts lost (acked, never received by the peer) and duplicated
 * (received twice by one socket) messages.
 *
 * usage: tsx bench/server-load.ts PLAN.json   (writes one JSON result line to stdout)
 * PLAN: {urls, tokens, conversations, rate, duration, graceMs?}
 */
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

export interface LoadPlan {
  urls: string[];
  tokens: string[];
  conversations: string[];
  /** Messages per second over all sockets. */
  rate: number;
  /** Seconds of sending. */
  duration: number;
  /** Wait after the last send for deliveries, ms (default 5000). */
  graceMs?: number;
  /** Seconds of sending at the rate before measuring (JIT, caches); still checked for loss. Default 2. */
  warmup?: number;
}

export interface LoadResult {
  sockets: number;
  sent: number;
  accepted: number;
  delivered: number;
  errors: number;
  lost: number;
  duplicated: number;
  seconds: number;
  acceptedPerSec: number;
  deliveredPerSec: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** How far the sending loop ran past its schedule, s (large values: the generator itself was starved). */
  sendLateBySec: number;
  /** Messages sent after the warm-up (the rates and latencies are over these). */
  measuredSent: number;
  /** CPU the load process spent per accepted message (sending, receiving, bookkeeping), µs. */
  cpuPerMessageUs: number;
  /** p99 latency of the messages sent in each second of the run (shows stalls over time). */
  p99BySecondMs: number[];
  ackMs: { p50: number; p99: number };
}

/** The clientId of a server frame (the first "clientId" key: ack, or message's own). */
function clientIdOf(text: string): string {
  const k = text.indexOf('"clientId":"') + 12;
  return text.slice(k, text.indexOf('"', k));
}

function pct(sorted: Float64Array, p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runLoad(plan: LoadPlan): Promise<LoadResult> {
  const n = plan.tokens.length;
  const sockets: WebSocket[] = new Array(n);
  const sentAt = new Map<string, number>();
  const ackLat: number[] = [];
  const lat: number[] = [];
  const latBySecond: number[][] = [];
  let tStart = 0;
  const seen: Set<string>[] = Array.from({ length: n }, () => new Set());
  const acked = new Set<string>();
  let delivered = 0;
  let duplicated = 0;
  let errors = 0;

  // Connect in waves so the accept queue is not flooded.
  const connect = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const url = plan.urls[i % plan.urls.length]!.replace(/^http/, 'ws') + '/ws';
      const ws = new WebSocket(url, {
        headers: { authorization: `Bearer ${plan.tokens[i]}` },
        perMessageDeflate: false,
      });
      sockets[i] = ws;
      const peerIdx = i ^ 1;
      ws.on('message', (d) => {
        const now = performance.now();
        const text = String(d);
        // The generator must stay cheap next to the server it measures: frames are
        // recognised by their prefix and only the clientId is cut out, no JSON.parse.
        if (text.startsWith('{"type":"message"')) {
          const cid = clientIdOf(text);
          // Only the peer's copy counts as a delivery; my own copy is for my other devices.
          if (!cid.startsWith(`${peerIdx}-`)) return;
          if (seen[i]!.has(cid)) {
            duplicated++;
            return;
          }
          seen[i]!.add(cid);
          delivered++;
          const t = sentAt.get(cid);
          if (t !== undefined && t >= tStart) {
            measuredDelivered++;
            lat.push(now - t);
            (latBySecond[Math.floor((t - tStart) / 1000)] ??= []).push(now - t);
          }
        } else if (text.startsWith('{"type":"ack"')) {
          const cid = clientIdOf(text);
          acked.add(cid);
          const t = sentAt.get(cid);
          if (t !== undefined && t >= tStart) {
            measuredAcked++;
            ackLat.push(now - t);
          }
        } else if (text.startsWith('{"type":"hello"')) {
          resolve();
        } else if (text.startsWith('{"type":"error"')) {
          errors++;
        }
      });
      ws.on('error', reject);
    });
  for (let i = 0; i < n; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, n - i) }, (_, k) => connect(i + k)));
  }

  const cpu0 = process.cpuUsage();
  const warmupMs = (plan.warmup ?? 2) * 1000;
  let measuredSent = 0;
  let measuredAcked = 0;
  let measuredDelivered = 0;
  const tickMs = 5;
  const perTick = (plan.rate * tickMs) / 1000;
  const counters = new Int32Array(n);
  let carry = 0;
  let next = 0;
  let sent = 0;
  const t0 = performance.now();
  tStart = t0 + warmupMs;
  const end = tStart + plan.duration * 1000;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (now >= end) {
        resolve();
        return;
      }
      // Catch up to the schedule (timers drift): messages due so far minus messages sent.
      const due = Math.floor(((now - t0) / tickMs + 1) * perTick + carry) - sent;
      for (let k = 0; k < due; k++) {
        const i = next;
        next = (next + 1) % n;
        const clientId = `${i}-${counters[i]!++}`;
        const at = performance.now();
        sentAt.set(clientId, at);
        if (at >= tStart) measuredSent++;
        sockets[i]!.send(
          `{"type":"send","clientId":"${clientId}","conversationId":"${plan.conversations[i >> 1]}","kind":"text","text":"load ${clientId}"}`,
        );
        sent++;
      }
      setTimeout(tick, tickMs);
    };
    tick();
  });
  // Rates are over the scheduled window (the last timer tick may land a few ms past it).
  const sendSeconds = plan.duration;
  const lateBy = (performance.now() - end) / 1000;
  carry = 0;

  // Wait for deliveries to settle.
  const graceEnd = performance.now() + (plan.graceMs ?? 5000);
  while (performance.now() < graceEnd && (delivered < acked.size || acked.size + errors < sent))
    await new Promise((r) => setTimeout(r, 50));
  const seconds = sendSeconds;

  const cpu = process.cpuUsage(cpu0);
  let lost = 0;
  for (const cid of acked) {
    const i = Number(cid.slice(0, cid.indexOf('-')));
    if (!seen[i ^ 1]!.has(cid)) lost++;
  }
  for (const ws of sockets) ws.close();
  const l = Float64Array.from(lat).sort();
  const a = Float64Array.from(ackLat).sort();
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    sockets: n,
    sent,
    accepted: acked.size,
    delivered,
    errors,
    lost,
    duplicated,
    seconds: r2(seconds),
    sendLateBySec: r2(lateBy),
    acceptedPerSec: Math.round(measuredAcked / seconds),
    deliveredPerSec: Math.round(measuredDelivered / seconds),
    latencyMs: {
      p50: r2(pct(l, 50)),
      p95: r2(pct(l, 95)),
      p99: r2(pct(l, 99)),
      max: r2(l[l.length - 1] ?? NaN),
    },
    ackMs: { p50: r2(pct(a, 50)), p99: r2(pct(a, 99)) },
    cpuPerMessageUs: Math.round((cpu.user + cpu.system) / Math.max(1, acked.size)),
    measuredSent,
    p99BySecondMs: latBySecond.map((xs) => r2(pct(Float64Array.from(xs).sort(), 99))),
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const plan = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadPlan;
  const r = await runLoad(plan);
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
}
