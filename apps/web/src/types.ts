/** Wire shapes the web app reads from the server: the shared protocol types. */
export type {
  UserInfo as User,
  MediaInfo as MediaMeta,
  MessageSource,
  MessageKind,
  Message,
  ConversationInfo as Conversation,
  StickerInfo as Sticker,
  MessagePage,
  SessionInfo,
} from '@clipchat/protocol';
