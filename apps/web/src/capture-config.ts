/**
 * The parts of the capture engine the page itself needs (settings schema, time format,
 * errors), imported from their own modules so the first page load does not pull the
 * encoders: those load with the capture worker.
 */
export {
  DEFAULT_SETTINGS,
  FRAME_FIELDS,
  PRESETS,
  SETTING_FIELDS,
  formatByteSize,
  parseCropText,
  validateSettings,
} from '@clipchat/capture';
export type { CaptureSettings, SettingField } from '@clipchat/capture';
export { formatTime, parseBytes } from '@clipchat/capture';
export { InvalidSettingError } from '@clipchat/capture';
