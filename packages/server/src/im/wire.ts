/** Conversions from stored rows to wire shapes. */
import type { ConversationInfo, MediaInfo, Message, StickerInfo } from '@clipchat/protocol';
import type { ConversationSummary, MediaMeta, Sticker, StoredMessage } from '../store/types';

export function mediaToWire(m: MediaMeta): MediaInfo {
  return { id: m.id, mime: m.mime, width: m.width, height: m.height, frames: m.frames, bytes: m.bytes, url: `/media/${m.id}` };
}

export function messageToWire(m: StoredMessage): Message {
  return {
    id: m.id, conversationId: m.conversationId, seq: m.seq, senderId: m.senderId, sender: m.senderName, clientId: m.clientId,
    kind: m.kind, text: m.text, media: m.media ? mediaToWire(m.media) : null, source: m.source, createdAt: m.createdAt,
  };
}

export function conversationToWire(c: ConversationSummary): ConversationInfo {
  return {
    id: c.id, kind: c.kind, title: c.title, members: c.members, lastMessage: c.lastMessage ? messageToWire(c.lastMessage) : null,
    lastSeq: c.lastSeq, readSeq: c.readSeq, unread: c.unread, createdAt: c.createdAt,
  };
}

export function stickerToWire(s: Sticker): StickerInfo {
  return { id: s.id, name: s.name, tags: s.tags, media: mediaToWire(s.media), createdAt: s.createdAt };
}
