/**
 * @clipchat/protocol — wire types shared by the Clipchat server and web app: REST shapes,
 * WebSocket frames (with a validator for client frames) and the `ERR_*` catalogue.
 */
export { ERRORS, statusOf, isErrorCode } from './errors';
export type { ErrorCode, ErrorBody } from './errors';
export {
  USERNAME_PATTERN, PASSWORD_MIN, PASSWORD_MAX, MAX_TEXT_LENGTH, CLIENT_ID_MAX, MAX_TITLE_LENGTH, MAX_GROUP_MEMBERS,
  DEFAULT_MAX_UPLOAD_BYTES, CSRF_HEADER, SESSION_COOKIE,
} from './types';
export type {
  MessageKind, ConversationKind, UserInfo, MessageSource, MediaInfo, Message, ConversationInfo, Credentials, SessionInfo,
  CreateConversation, SendMessage, SendResult, MessagePage, StickerInfo, SaveSticker, UpdateSticker,
} from './types';
export { FrameError, parseClientFrame, checkSend, checkSource } from './ws';
export type {
  SendFrame, SyncFrame, ReadFrame, PingFrame, ClientFrame, HelloFrame, AckFrame, MessageFrame, SyncedFrame,
  ReadUpdateFrame, ConversationFrame, PongFrame, ResyncFrame, ErrorFrame, ServerFrame,
} from './ws';
