/**
 * Receipts of my messages: ✓ stored by the server, ✓✓ delivered (it reached a device of
 * every other member), ✓✓ in colour read (every other member read it). In a group the
 * title says who read it and who only got it.
 */
import type { Conversation } from '../types';
import { positionOf, type AliveState } from './alive';

type Receipt = 'sent' | 'delivered' | 'read';

export interface ReceiptInfo {
  state: Receipt;
  /** Other members who read it, and who got it without reading it (yet), and who did not get it. */
  readBy: string[];
  deliveredTo: string[];
  waiting: string[];
}

/** The receipt of my message `seq` in `c`, from the list and the receipts that followed it. */
export function receiptOf(a: AliveState, c: Conversation, meId: string, seq: number): ReceiptInfo {
  const info: ReceiptInfo = { state: 'sent', readBy: [], deliveredTo: [], waiting: [] };
  const others = c.members.filter((m) => m.id !== meId);
  for (const m of others) {
    const p = positionOf(a, c.id, m);
    (p.read >= seq ? info.readBy : p.delivered >= seq ? info.deliveredTo : info.waiting).push(
      m.username,
    );
  }
  if (!others.length) return info;
  if (info.readBy.length === others.length) info.state = 'read';
  else if (!info.waiting.length) info.state = 'delivered';
  return info;
}

/** Words for the tick: "Read", "Delivered", "Sent"; in a group who read it, who got it, who not yet. */
export function receiptText(r: ReceiptInfo, group: boolean): string {
  if (!group) return r.state === 'read' ? 'Read' : r.state === 'delivered' ? 'Delivered' : 'Sent';
  const parts: string[] = [];
  if (r.readBy.length) parts.push(`Read by ${r.readBy.join(', ')}`);
  if (r.deliveredTo.length) parts.push(`Delivered to ${r.deliveredTo.join(', ')}`);
  if (r.waiting.length) parts.push(`Not yet delivered to ${r.waiting.join(', ')}`);
  return parts.join(' · ') || 'Sent';
}
