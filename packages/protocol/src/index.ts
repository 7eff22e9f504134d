/**
 * @clipchat/protocol — the wire schema shared by the Clipchat server and web app, written
 * once with TypeBox: REST shapes and route schemas (types.ts), WebSocket frames both ways
 * with their compiled checks (ws.ts), the checker and the rules beyond shape (check.ts),
 * and the `ERR_*` catalogue (errors.ts).
 */
export { ERRORS, statusOf, isErrorCode } from './errors';
export type { ErrorCode, ErrorBody } from './errors';
export {
  USERNAME_PATTERN, PASSWORD_MIN, PASSWORD_MAX, MAX_TEXT_LENGTH, CLIENT_ID_MAX, MAX_TITLE_LENGTH, MAX_GROUP_MEMBERS,
  DEFAULT_MAX_UPLOAD_BYTES, CSRF_HEADER, SESSION_COOKIE, MAX_REACTIONS, MAX_EMOJI_LENGTH, REACTION_SET, DEFAULT_EDIT_WINDOW_MS,
  MessageKind, ConversationKind, UserInfo, MessageSource, MediaInfo, FinishUpload, Reaction, Message, ConversationInfo, Credentials, SessionInfo,
  CreateConversation, SendMessage, SendResult, MessagePage, EditMessage, MessageResult, StickerInfo, SaveSticker, UpdateSticker,
  ErrorSchema, IdParams, ReactionParams, HistoryQuery, ReadBody, AnyObject, sendFields,
  MemberInfo, StoredKind, AddMembers, MemberParams, RenameConversation, SearchQuery, SearchResult, MAX_SEARCH_LENGTH, MAX_SEARCH_WORDS, MAX_SEARCH_RESULTS,
} from './types';
export { checker, sendProblem, textProblem, emojiProblem, unpaired } from './check';
export type { Checker, Problem } from './check';
export {
  FrameError, parseClientFrame, parseServerFrame, WS_CLOSE_TOO_SLOW, WS_CLOSE_LOGGED_OUT, CLIENT_FRAMES, SERVER_FRAMES,
  SendFrame, SyncFrame, ReadFrame, PingFrame, ClientFrame, HelloFrame, AckFrame, MessageFrame, UpdateFrame, SyncedFrame,
  ReadUpdateFrame, ConversationFrame, PongFrame, ResyncFrame, ErrorFrame, ServerFrame,
  TypingFrame, TypingUpdateFrame, PresenceFrame, TYPING_INTERVAL_MS, TYPING_SHOW_MS,
  WatchFrame, WatchUpdateFrame, WATCH_INTERVAL_MS, WATCH_MAX_SECONDS,
  DeliveredFrame, DeliveredUpdateFrame, DELIVERED_INTERVAL_MS,
} from './ws';
