/** Conversions from stored rows to wire shapes. */
import type { ConversationInfo, MediaInfo, Message, StickerInfo } from '@clipchat/protocol';
import type { ConversationSummary, MediaMeta, Sticker, StoredMessage } from '../store/types';

export function mediaToWire(m: MediaMeta): MediaInfo {
  const info: MediaInfo = {
    id: m.id,
    mime: m.mime,
    width: m.width,
    height: m.height,
    frames: m.frames,
    bytes: m.bytes,
    url: `/media/${m.id}`,
  };
  if (m.video) {
    info.duration = m.video.duration;
    info.codec = m.video.codec;
    info.poster = m.video.poster ? { id: m.video.poster, url: `/media/${m.video.poster}` } : null;
  }
  return info;
}

/** The wire message: every stored field as is, the sender's name as `sender`, media with its URL. */
export function messageToWire(m: StoredMessage): Message {
  const { senderName, media, ...fields } = m;
  return { ...fields, sender: senderName, media: media ? mediaToWire(media) : null };
}

/** `online`: the ids of users connected now (presence). */
export function conversationToWire(
  c: ConversationSummary,
  online: Set<string> = new Set(),
): ConversationInfo {
  return {
    id: c.id,
    kind: c.kind,
    title: c.title,
    members: c.members.map((m) => ({
      id: m.id,
      username: m.username,
      online: online.has(m.id),
      lastSeen: m.lastSeen,
      readSeq: m.readSeq,
      deliveredSeq: Math.max(m.deliveredSeq, m.readSeq),
    })),
    lastMessage: c.lastMessage ? messageToWire(c.lastMessage) : null,
    lastSeq: c.lastSeq,
    lastRev: c.lastRev,
    readSeq: c.readSeq,
    adminId: c.createdBy,
    unread: c.unread,
    createdAt: c.createdAt,
  };
}

export function stickerToWire(s: Sticker): StickerInfo {
  return {
    id: s.id,
    name: s.name,
    tags: s.tags,
    media: mediaToWire(s.media),
    createdAt: s.createdAt,
  };
}
